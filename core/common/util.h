/* SPDX-License-Identifier: MIT */
/* util.h: small helpers several modules share. Thread: any. */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Levenshtein distance between a[0..alen) and b[0..blen), for "did you
 * mean" hints; SIZE_MAX when either is longer than 64 bytes (names are
 * short, and so are typos). */
size_t sl_edit_distance(const char *a, size_t alen, const char *b, size_t blen);

/* The one "did you mean" rule of the daemon: the candidate closest to
 * word[0..wlen) among cands[0..n) (stopping early at a NULL, so n may be
 * SIZE_MAX for a NULL-terminated list), when it is at most 2 edits away and
 * fewer edits than the word is long (so "" or "x" suggests nothing); words
 * and candidates past 32 bytes get no hint. NULL when none is close. The
 * result borrows from cands. */
const char *sl_closest(const char *word, size_t wlen, const char *const *cands, size_t n);

/* Creates the missing parent directories of path (mode 0755), as mkdir -p
 * would. 0 or a negative errno. */
int sl_mkdir_parents(const char *path);

/* Makes path free for a unix socket to bind, by removing only a socket an
 * earlier run left there: one that a connect() finds nobody behind
 * (ECONNREFUSED). 0 when path is free now; -EADDRINUSE when a process is
 * receiving on it (another daemon: *holder, when not NULL, is its pid as
 * SO_PEERCRED tells it, or 0 when unknown); -ELOOP for a symbolic link
 * (never followed, never removed: a /dev/log that links to journald's
 * socket); -EEXIST for anything else that is not a socket; another
 * negative errno when it cannot tell (EACCES). Thread: any. */
int sl_claim_socket_path(const char *path, pid_t *holder);
/* sl_claim_socket_path(path, NULL). */
int sl_remove_stale_socket(const char *path);
/* What an error of sl_claim_socket_path() means for path, for a message:
 * "is a live socket (pid 42 receives on it: another daemon?)", ...; into
 * buf, returned. */
const char *sl_socket_path_problem(int rc, pid_t holder, char *buf, size_t len);

/* Thread: the calling thread. Names it "PREFIX:NAME" (cut to the kernel's
 * 15 bytes), so that top -H, ps -L and perf tell an input's thread from an
 * output's worker. A failure is ignored: the name is only a label. */
void sl_thread_name(const char *prefix, const char *name);

#endif /* SL_UTIL_H */
