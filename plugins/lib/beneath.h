/* SPDX-License-Identifier: MIT */
/*
 * beneath.h: opening files beneath a directory descriptor without
 * following any symlink found there, for outputs whose file names come
 * from messages (perproc). The administrator's directory is opened once
 * (spl_dir_open); every name below it is resolved relative to that fd, so
 * a link planted anywhere beneath it, as a directory or as the file, makes
 * the open fail instead of redirecting the write, and no name can climb
 * out of it.
 *
 * With openat2(2) (Linux 5.6) an existing file is opened in one call with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: the kernel
 * refuses a symlink with ELOOP and an escape with EXDEV. Creating a file
 * and its missing directories, and every open where the kernel answers
 * ENOSYS, walks the name one component at a time: openat(O_DIRECTORY |
 * O_NOFOLLOW) for a directory, relative to the one before, mkdirat() for a
 * missing one (mkdir never follows a link at its last component), and the
 * file with O_CREAT | O_EXCL or O_NOFOLLOW in the last directory.
 *
 * Threads: none of its own; a struct spl_beneath belongs to one instance.
 */
#ifndef SPL_BENEATH_H
#define SPL_BENEATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/plugin_lib.h"

/* What the kernel was found to lack. Start from {false}. */
struct spl_beneath {
    bool no_openat2; /* openat2() answered ENOSYS once: walk every name */
};

/* Opens rel beneath dfd for appending (O_WRONLY | O_APPEND | O_CLOEXEC |
 * O_NOCTTY; O_NONBLOCK too, which a regular file ignores, so that a FIFO
 * planted there cannot block the open). A missing file is created with
 * o's mode, owner and group (fchown, then fchmod, on the new fd; a file
 * that cannot be given them is removed again), and its missing
 * directories with o->dir_mode (less the umask); o->follow_symlinks is
 * ignored: nothing is followed.
 *
 * rel is relative, its components separated by single '/', none empty,
 * "." or "..": -EINVAL otherwise. Returns the fd (the caller's), or a
 * negative errno with *call set ("open", "mkdir", "fchown", "fchmod"):
 * -ELOOP for a symlink at any component (or -EXDEV, openat2's answer for
 * a magic link), -ENOTDIR for a file where a directory should be,
 * -EISDIR for a directory where the file should be, -ENXIO for something
 * that is not a regular file (a FIFO, a device). dfd stays the caller's. */
int spl_beneath_open(struct spl_beneath *b, int dfd, const char *rel,
                     const struct spl_file_opts *o, const char **call);

/* Opens the directory rel[0..len) beneath dfd (O_RDONLY | O_DIRECTORY),
 * by the same rule, without creating anything; len 0 is dfd's own
 * directory (a new fd for it). For the *at() calls of rotation
 * (spl_rot_shift_at). Returns the fd or a negative errno. */
int spl_beneath_dir(int dfd, const char *rel, size_t len);

/* Opens the administrator's directory path (O_RDONLY | O_DIRECTORY),
 * creating it and its missing parents with o->dir_mode first, by
 * spl_file_open()'s rule for parents: a component that exists as a
 * symlink is followed only when root or the daemon's user owns it, or
 * with o->follow_symlinks (-ELOOP otherwise); existing directories are
 * resolved as the kernel does. The fd or a negative errno with *call
 * ("mkdir", "open"). */
int spl_dir_open(const char *path, const struct spl_file_opts *o, const char **call);

#endif /* SPL_BENEATH_H */
