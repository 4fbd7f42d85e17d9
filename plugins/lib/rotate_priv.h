/* SPDX-License-Identifier: MIT */
/*
 * rotate_priv.h: what rotate.c and rotate_zstd.c share and no plugin
 * needs: the compressor's lock, taken by the shift and the pruning so
 * that renaming or deleting an old file never interleaves with the
 * compressor's final rename + unlink, and the note a shift leaves it when
 * the file it compresses changes its name.
 */
#ifndef SPL_ROTATE_PRIV_H
#define SPL_ROTATE_PRIV_H

#include "lib/rotate.h"

/* z may be NULL (no compressor): then these do nothing. */
void spl_rot_zstd_lock(struct spl_rot_zstd *z);
void spl_rot_zstd_unlock(struct spl_rot_zstd *z);
/* Under the lock: old file `from` (an index; 0 is PATH itself) is now
 * named `to` (an index), or was deleted (to 0). */
void spl_rot_zstd_moved(struct spl_rot_zstd *z, unsigned from, unsigned to);
/* Under the lock, without waking it: there is a new old file. */
void spl_rot_zstd_work_locked(struct spl_rot_zstd *z);

/* One of base's old files found in its directory. */
struct spl_rot_entry {
    struct spl_rot_name n;
    time_t mtime;
};

/* Lists base's old files in the directory open at dfd (rewound first:
 * dfd's offset is the caller's to lose), .zst.tmp ones included: *out
 * (malloc'ed, the caller frees it) and *n. 0 or a negative errno. */
int spl_rot_list(int dfd, const char *base, struct spl_rot_entry **out, size_t *n);

#endif /* SPL_ROTATE_PRIV_H */
