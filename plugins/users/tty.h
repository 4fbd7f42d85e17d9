/* SPDX-License-Identifier: MIT */
/*
 * tty.h: the pieces of the `users` output that can be tested alone:
 * reading login records from a utmp file, deciding whether a record's
 * ut_line names a terminal we may open, opening it beneath a descriptor
 * of /dev, and making a message's text safe to print on a terminal.
 *
 * ut_line comes from utmp, which every program of the utmp group (screen,
 * tmux, terminal emulators) may write: to a daemon running as root it is
 * a name someone else chose. So it is held to what login records really
 * hold ("pts/3", "tty1", "ttyS0", "hvc0", "console"), opened relative to
 * /dev with O_NOFOLLOW at each component, and only after fstatat() said it
 * is a character device: no "..", no symlink, no FIFO that could block and
 * no device whose mere opening acts (a watchdog) is ever opened.
 *
 * Threads: none of its own; each function is safe on any thread.
 */
#ifndef SLUICE_USERS_TTY_H
#define SLUICE_USERS_TTY_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice-plugin.h"

/* Why a terminal was not written to (the plugin counts each). */
enum tty_refusal {
    TTY_OK = 0,
    TTY_BAD_NAME,  /* ut_line is not a terminal's name (tty_line_ok) */
    TTY_NOT_TTY,   /* a symlink, a missing name, or not a terminal device */
    TTY_BUSY,      /* the terminal would block (its reader stopped): skipped */
    TTY_FAILED     /* open() or write() failed otherwise */
};

/* One login record that matched: its terminal, NUL-terminated. */
struct tty_login {
    char line[40]; /* ut_line, at most 32 bytes, validated by tty_line_ok */
};

/* True when line[0..len) is a terminal's name as login records hold it:
 * "pts/" and digits, "console", or "tty" or "hvc" followed by letters,
 * digits and '_' (tty1, ttyS0, ttyUSB0, ttyAMA0, hvc0). Nothing else: no
 * '/' elsewhere, no '.', no "ptmx" (opening it makes a new pty). */
bool tty_line_ok(const char *line, size_t len);

/* Reads the USER_PROCESS records of the utmp file at path (struct utmpx
 * records, read directly: utmpxname() is process-global state) whose
 * ut_user is one of users[0..nusers) (every one when nusers is 0), into
 * out[0..max), each terminal once. Records whose ut_line fails
 * tty_line_ok() are not returned but counted in *bad. Returns how many,
 * or a negative errno from open() or read(). */
int tty_read_utmp(const char *path, const char *const *users, size_t nusers,
                  struct tty_login *out, size_t max, unsigned long long *bad);

/* Opens the terminal line (which passed tty_line_ok) beneath devfd, a
 * descriptor of /dev: "pts/N" through openat("pts", O_DIRECTORY |
 * O_NOFOLLOW), the device with O_WRONLY | O_NOCTTY | O_NONBLOCK |
 * O_NOFOLLOW | O_CLOEXEC, after fstatat(AT_SYMLINK_NOFOLLOW) found a
 * character device, and kept only if isatty() agrees. Returns the fd (the
 * caller's) or -1 with *why set (TTY_NOT_TTY, TTY_FAILED) and *err the
 * errno. devfd stays the caller's. */
int tty_open(int devfd, const char *line, enum tty_refusal *why, int *err);

/* Writes data[0..len) to the non-blocking terminal fd: TTY_OK when all of
 * it went, TTY_BUSY when the terminal would block (the rest is dropped:
 * a stopped terminal never holds the worker), TTY_FAILED with *err set
 * otherwise. */
enum tty_refusal tty_write(int fd, const char *data, size_t len, int *err);

/* Appends text[0..len) to buf so that a terminal shows it and does not
 * obey it: control bytes (C0, DEL, and C1 as UTF-8 encodes them, U+0080
 * to U+009F, which terminals take for CSI and the like) become '?', so a
 * remote sender cannot move the cursor, retitle the window or worse on
 * root's terminal. 0 or -ENOMEM (buf then holds a prefix). */
int tty_append_safe(struct sluice_buf *buf, const char *text, size_t len);

/* Appends the bytes of a C string, as given (our own text). 0 or -ENOMEM. */
int tty_append(struct sluice_buf *buf, const char *s, size_t len);

#endif /* SLUICE_USERS_TTY_H */
