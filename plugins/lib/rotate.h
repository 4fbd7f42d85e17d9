/*
 * rotate.h: size rotation of an output's files, shared by the plugins that
 * write files (file, perproc) (rotate = { size = "64M", keep = 7 }):
 * PATH is renamed to PATH.1 (the newest old file), PATH.1 to PATH.2, and so
 * on up to PATH.keep; what was PATH.keep is deleted. The sequence and why
 * a kill -9 at any point of it loses and duplicates nothing are in rotate.c.
 *
 * Threads: none of its own; a struct spl_rotation belongs to one instance's
 * worker (check and config reading: either thread, no side effect).
 */
#ifndef SPL_ROTATE_H
#define SPL_ROTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice-plugin.h"

#define SPL_ROT_MIN_SIZE 4096ULL /* a smaller file would rotate every few lines */
#define SPL_ROT_DEFAULT_KEEP 7   /* Debian's logrotate rule for rsyslog's /var/log/syslog */
#define SPL_ROT_MAX_KEEP 1000

struct spl_rotation {
    unsigned long long size; /* rotate once PATH has this many bytes; 0: never */
    unsigned keep;           /* old files kept, PATH.1 .. PATH.keep */
    /* The shift under way, resumed where it stopped after a failure, so a
     * retry never deletes a second file: 0 none; keep + 1: delete
     * PATH.keep next; i in [1, keep]: rename PATH.(i-1) (PATH for i = 1)
     * to PATH.i next. */
    unsigned next;
};

/* Reads rotate.size and rotate.keep into r (size 0 when rotate.size is
 * absent), adding each bad value's reason to err with spl_err_add(). */
void spl_rot_read_config(const struct sluice_host *h, const sluice_config *cfg, struct spl_rotation *r,
                     char *err, size_t errlen);

/* Whether the file open at fd has reached r's size: 1 yes, 0 no, or a
 * negative errno from fstat(). */
int spl_rot_due(const struct spl_rotation *r, int fd);

/* Starts a shift (r->next = keep + 1) unless one is under way. */
void spl_rot_begin(struct spl_rotation *r);

/* Carries out the shift of path's old files, from r->next on, up to and
 * including PATH -> PATH.1; then r->next is 0 and the caller opens a new
 * PATH. 0, or a negative errno with *call ("open", "unlink", "rename") and
 * name (the file it concerns) set for the log line; r->next then says
 * where the next call resumes. The caller's fd still writes to the old
 * file, under whichever name it has now. */
int spl_rot_shift(const char *path, struct spl_rotation *r, const char **call, char *name,
                  size_t namelen);

/* The same in the directory open at dfd (the caller's), for the file named
 * base there (one component, no '/'): what a plugin that opens its files
 * relative to a directory fd (perproc) calls, so no name is resolved
 * again from the root. name is then base-relative. */
int spl_rot_shift_at(int dfd, const char *base, struct spl_rotation *r, const char **call,
                     char *name, size_t namelen);

#endif /* SPL_ROTATE_H */
