/* util.h: small helpers several modules share. Thread: any. */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include <stddef.h>

/* Levenshtein distance between a[0..alen) and b[0..blen), for "did you
 * mean" hints; SIZE_MAX when either is longer than 64 bytes (names are
 * short, and so are typos). */
size_t sl_edit_distance(const char *a, size_t alen, const char *b, size_t blen);

/* Creates the missing parent directories of path (mode 0755), as mkdir -p
 * would. 0 or a negative errno. */
int sl_mkdir_parents(const char *path);

/* Removes a unix socket an earlier run left at path, never anything else:
 * 0 when path is free now, -EEXIST when something that is not a socket is
 * there, another negative errno on failure. */
int sl_remove_stale_socket(const char *path);

#endif /* SL_UTIL_H */
