/* util.c: small helpers several modules share. */
#include "common/util.h"
#include "common/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAME 64

size_t sl_edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen > MAX_NAME || blen > MAX_NAME)
        return SIZE_MAX;
    size_t row[MAX_NAME + 1];
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}

int sl_remove_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    return unlink(path) < 0 ? -errno : 0;
}

int sl_mkdir_parents(const char *path)
{
    char *dir = sl_strdup(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    for (char *p = dir + 1; *p != '\0' && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
    }
    free(dir);
    return rc;
}

#define HINT_MAX_LEN 32 /* typos are short; past this, no hint */
#define HINT_MAX_EDITS 2

const char *sl_closest(const char *word, size_t wlen, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = HINT_MAX_EDITS + 1;
    for (size_t i = 0; wlen <= HINT_MAX_LEN && i < n && cands[i] != NULL; i++) {
        size_t clen = strlen(cands[i]);
        if (clen > HINT_MAX_LEN)
            continue;
        size_t d = sl_edit_distance(word, wlen, cands[i], clen);
        if (d < best_d && d < wlen) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}
