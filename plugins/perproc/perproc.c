/* SPDX-License-Identifier: MIT */
/*
 * perproc.c: the `perproc` output plugin: one file per process (or per any
 * other fields of the message), named by a template.
 *
 *     output "apps" { type = "perproc", dir = "var/log/apps", name = "{app_name}/{pid}.log",
 *                     max_open = 256, idle_close = "5m", rotate = { size = "16M", keep = 2 } }
 *
 * DESIGN.
 *  - Names are hostile input: a sender chooses its APP-NAME and PROCID.
 *    Each value is encoded into one safe component (lib/name_enc.h) by the
 *    template (tpl.h), whose own text is the administrator's; and every
 *    file is opened beneath one descriptor of `dir`, opened at open(),
 *    never through a symlink (lib/beneath.h). A name the kernel refuses
 *    there (a symlink planted under dir, a directory or a FIFO where the
 *    file should be) is a refused name: its messages go to
 *    dir/%refused.log (a name no template renders: it is refused too), are
 *    counted in refused_names and logged at most once per 10 s. Retrying
 *    would be wrong: one hostile name would stop the output for good.
 *  - Open files are kept in an LRU of max_open (cache.h); the least
 *    recently used is closed to open another, and tick() closes those not
 *    written for idle_close.
 *  - A batch is written in rounds. A round takes messages in order while
 *    their files fit in the cache together (all of them, for a batch whose
 *    files number at most max_open: one round), groups its lines by file
 *    into one buffer (each file's lines contiguous, in order), and writes
 *    each file's span with one write() (more only when the kernel takes
 *    part). So a file's lines are in order, and across files order does
 *    not matter. A round's files are pinned: none is evicted or closed
 *    until its lines are written.
 *  - The batch contract (sluice-plugin.h): when a write or an open fails
 *    (a full disk, EACCES, EMFILE), write() answers SLUICE_RETRY keeping
 *    the round as it is, and the same batch comes again: the round's
 *    unwritten spans are written from the byte where they stopped, then
 *    the following rounds. Nothing is written twice or lost. abandon()
 *    forgets the batch; progress() counts the messages from the first
 *    whose line is written (or was dropped), conservatively.
 *  - As the file output does: a torn last line gets its '\n' first; a
 *    file deleted under us (looked at once a second per file) is opened
 *    anew; rotate = { size, keep } rotates each file with the same code
 *    (lib/rotate.h, spl_rot_shift_at on the file's directory, opened
 *    beneath dir), between rounds, never inside one file's span.
 *
 * This file includes nothing of the daemon's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "sluice-plugin.h"
#include "lib/beneath.h"
#include "lib/plugin_lib.h"
#include "lib/rotate.h"
#include "perproc/cache.h"
#include "perproc/tpl.h"

#define REFUSED_NAME "%refused.log"
#define REFUSED_LOG_MS 10000   /* refused names: one log line per 10 s at most */
#define DELETED_CHECK_MS 1000  /* each open file is looked at for deletion once a second */
#define DEFAULT_MAX_OPEN 256
#define MAX_MAX_OPEN 65536
#define DEFAULT_IDLE_MS (5 * 60 * 1000)
#define NO_MSG SIZE_MAX

struct perproc {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *dir;        /* borrowed from the config until close() */
    struct pp_tpl tpl;      /* owned */
    sluice_format *fmt;     /* owned */
    struct spl_file_opts create;
    bool sync;
    size_t max_open;
    int64_t idle_ms;        /* 0: never */
    struct spl_rotation rot; /* the settings every file starts from */
    int dfd;                /* dir, opened at open() */
    struct spl_beneath beneath;
    struct pp_cache cache;

    /* The batch under way (see the top). */
    bool pending;       /* write() answered RETRY for it: it comes again */
    size_t next;        /* its first message not yet in a round */
    bool round_active;  /* messages [from, to) are in the round; not all written */
    size_t from, to;
    unsigned round_id;
    struct pp_file **grp; /* the round's files, in order of first use */
    size_t ngrp;
    struct pp_file **mfile; /* per message: its file; NULL: dropped (refused, no fallback) */
    size_t *mnext, *mend;   /* per message: the next of its file's; where its line ends */
    size_t cap;             /* room in grp, mfile, mnext and mend */
    struct sluice_buf buf;  /* owned: the round's lines, grouped by file */
    bool reopen_all;        /* reopen() came during a round: closed after it */

    bool failing;           /* an open or a write fails: said once a streak */
    int64_t refused_at;     /* when a refused name was last logged */
    unsigned long long refused_quiet; /* refused since, not logged */

    unsigned long long opens, evictions, idle_closes, refused, refused_lost, rotations,
        reopened;
};

static const char *const perproc_keys[] = {
    "dir",   "name",     "format",   "mode",       "owner",       "group",       "dir_mode",
    "sync",  "max_open", "idle_close", "rotate.size", "rotate.keep", "rotate.every",
    "rotate.suffix", "rotate.max_age", "rotate.compress", NULL};

static const char *const perproc_counters[] = {
    "open_files",  "opens", "evictions", "idle_closes", "refused_names", "refused_lost",
    "rotations", "reopened_deleted", NULL};

/* {=== reading the config */
static void read_limits(struct perproc *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    long long max = DEFAULT_MAX_OPEN;
    int rc = h->config_int(s->cfg, "max_open", &max);
    if (rc == -EINVAL || max < 1 || max > MAX_MAX_OPEN)
        spl_err_add(err, errlen, "key \"max_open\" must be an integer from 1 to %d",
                    MAX_MAX_OPEN);
    s->max_open = max >= 1 && max <= MAX_MAX_OPEN ? (size_t)max : DEFAULT_MAX_OPEN;
    const char *idle;
    long long secs;
    s->idle_ms = DEFAULT_IDLE_MS;
    if (h->config_int(s->cfg, "idle_close", &secs) == 0)
        rc = secs >= 0 ? (s->idle_ms = secs * 1000, 0) : -EINVAL;
    else if ((rc = h->config_string(s->cfg, "idle_close", &idle)) == 0)
        rc = spl_parse_duration_ms(idle, &s->idle_ms);
    if (rc == -EINVAL)
        spl_err_add(err, errlen, "key \"idle_close\" must be a duration such as \"5m\", "
                    "\"30s\", \"1h\" or \"500ms\", or a number of seconds (0: never)");
}

/* A '{' with a '}' after it: dir is the administrator's directory, not a
 * template (the template is name). */
static bool looks_like_template(const char *path)
{
    const char *brace = strchr(path, '{');
    return brace != NULL && strchr(brace + 1, '}') != NULL;
}

static void read_paths(struct perproc *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    const char *name;
    int rc;
    if ((rc = h->config_string(s->cfg, "dir", &s->dir)) < 0)
        spl_err_add(err, errlen, "key \"dir\" %s", rc == -ENOENT ? "is required"
                                                                 : "must be a string");
    else if (s->dir[0] == '\0')
        spl_err_add(err, errlen, "key \"dir\" must not be empty");
    else if (looks_like_template(s->dir))
        spl_err_add(err, errlen, "key \"dir\": \"%s\" is the directory the files are made "
                    "in, named as written: put the {fields} in key \"name\"", s->dir);
    if ((rc = h->config_string(s->cfg, "name", &name)) < 0) {
        spl_err_add(err, errlen, "key \"name\" %s, such as \"{app_name}/{pid}.log\"",
                    rc == -ENOENT ? "is required" : "must be a string");
        return;
    }
    char terr[512] = "";
    if (pp_tpl_compile(&s->tpl, name, spl_rot_on(&s->rot), terr, sizeof terr) < 0)
        spl_err_add(err, errlen, "%s", terr);
}

/* Reads the keys, reporting each bad one in err (reasons separated by
 * '\n', as check() may). */
static int read_config(struct perproc *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    const char *format = "rfc3164";
    int sync = 0;
    err[0] = '\0';
    spl_rot_read_config(h, s->cfg, &s->rot, err, errlen);
    /* The file output's compressor is a thread per file it rotates
     * (lib/rotate_zstd.c); for up to max_open files at once that is not
     * a design, so the key is refused rather than quietly ignored. */
    if (s->rot.compress)
        spl_err_add(err, errlen, "key \"rotate.compress\": perproc does not compress its old "
                    "files (the file output does); keep them with an archive output instead");
    read_paths(s, err, errlen);
    if (h->config_string(s->cfg, "format", &format) == -EINVAL) {
        spl_err_add(err, errlen, "key \"format\" must be a string");
        format = NULL;
    }
    spl_read_mode(h, s->cfg, "mode", "0640", &s->create.mode, err, errlen);
    spl_read_mode(h, s->cfg, "dir_mode", "0755", &s->create.dir_mode, err, errlen);
    spl_read_owner(h, s->cfg, &s->create, err, errlen);
    if (h->config_bool(s->cfg, "sync", &sync) == -EINVAL)
        spl_err_add(err, errlen, "key \"sync\" must be true or false");
    s->sync = sync != 0;
    read_limits(s, err, errlen);
    if (format != NULL) {
        char ferr[256] = "";
        if (h->format_new(format, &s->fmt, ferr, sizeof ferr) < 0)
            spl_err_add(err, errlen, "%s", ferr[0] != '\0' ? ferr : "bad format");
    }
    return err[0] != '\0' ? -EINVAL : 0;
}
/* }=== */

/* {=== files */
/* A file of the round under way: not to be closed before its lines are. */
static bool pinned(const struct perproc *s, const struct pp_file *f)
{
    return s->round_active && f->round == s->round_id;
}

static void close_file(struct perproc *s, struct pp_file *f)
{
    if (s->sync)
        (void)fdatasync(f->fd);
    close(f->fd);
    pp_cache_remove(&s->cache, f);
}

static void close_all(struct perproc *s)
{
    while (s->cache.first != NULL)
        close_file(s, s->cache.first);
}

/* The kernel says this name cannot be a file of ours, whatever we wait
 * for: a symlink (ELOOP, EXDEV), a file or directory in the way (ENOTDIR,
 * EISDIR), not a regular file (ENXIO). */
static bool refused_error(int e)
{
    return e == -ELOOP || e == -EXDEV || e == -ENOTDIR || e == -EISDIR || e == -ENXIO ||
           e == -EINVAL || e == -ENAMETOOLONG;
}

/* dir itself was deleted (rm -rf): open it anew, so new files go where
 * the administrator looks. */
static void refresh_dir(struct perproc *s)
{
    struct stat st;
    if (fstat(s->dfd, &st) < 0 || st.st_nlink > 0)
        return;
    const char *call;
    int fd = spl_dir_open(s->dir, &s->create, &call);
    if (fd >= 0) {
        close(s->dfd);
        s->dfd = fd;
    }
}

static int open_rel(struct perproc *s, const char *name, const char **call)
{
    int fd = spl_beneath_open(&s->beneath, s->dfd, name, &s->create, call);
    if (fd == -ENOENT) { /* mkdirat() in a deleted dir */
        refresh_dir(s);
        fd = spl_beneath_open(&s->beneath, s->dfd, name, &s->create, call);
    }
    return fd;
}

/* Puts fd in place of f's (a file opened anew). */
static void replace_fd(struct perproc *s, struct pp_file *f, int fd)
{
    if (s->sync)
        (void)fdatasync(f->fd);
    close(f->fd);
    f->fd = fd;
    f->check_end = true;
    f->torn = false;
}

static void rotation_failed(struct perproc *s, struct pp_file *f, const char *call,
                            const char *name, int e)
{
    if (!f->rot_failing)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s/%s\" failed (%d: %s) rotating \"%s\", "
                     "still writing to the current file, will retry", call, s->dir, name, e,
                     strerror(e), f->name);
    f->rot_failing = true;
}

/* As the file output, per file, before it joins a round: when it is due
 * (rotate.size reached, or rotate.every's period over: checked when the
 * file is written, so a quiet file rotates at its next line), shift its old files in its directory (opened
 * beneath dir) and open a new one. A failed step is said once a streak
 * and tried again at the next round; the file goes on meanwhile. */
static void rotate_if_due(struct perproc *s, struct pp_file *f)
{
    if (!spl_rot_on(&s->rot) || (spl_rot_due(&f->rot, f->fd) <= 0 && f->rot.next == 0))
        return;
    const char *slash = strrchr(f->name, '/'), *call = "open";
    size_t dirlen = slash != NULL ? (size_t)(slash - f->name) : 0;
    const char *base = slash != NULL ? slash + 1 : f->name;
    char name[PP_NAME_MAX + 32];
    int pfd = spl_beneath_dir(s->dfd, f->name, dirlen);
    if (pfd < 0) {
        rotation_failed(s, f, "open", f->name, -pfd);
        return;
    }
    spl_rot_begin(&f->rot);
    int rc = spl_rot_shift_at(pfd, base, &f->rot, &call, name, sizeof name);
    /* keep of dated names, and max_age: a failure is said and tried again
     * at the file's next rotation (once a rotation: no streak to hold). */
    char pruned[PP_NAME_MAX + 32];
    const char *pcall;
    int prc = rc == 0 ? spl_rot_prune_at(pfd, base, &f->rot, &pcall, pruned, sizeof pruned) : 0;
    if (prc < 0)
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "%s() \"%s/%.*s%s%s\" failed (%d: %s) deleting "
                     "old files of \"%s\"", pcall, s->dir, (int)dirlen, f->name,
                     slash ? "/" : "", pruned, -prc, strerror(-prc), f->name);
    close(pfd);
    if (rc < 0) {
        char full[PP_NAME_MAX + 64];
        snprintf(full, sizeof full, "%.*s%s%s", (int)dirlen, f->name, slash ? "/" : "", name);
        rotation_failed(s, f, call, full, -rc);
        return;
    }
    int fd = open_rel(s, f->name, &call);
    if (fd < 0) { /* the lines go on to the old file, now NAME.1, until it opens */
        rotation_failed(s, f, call, f->name, -fd);
        return;
    }
    replace_fd(s, f, fd);
    s->rotations++;
    if (f->rot_failing)
        s->host->log(s->cfg, SLUICE_LOG_NOTICE, "rotating \"%s/%s\" works again", s->dir,
                     f->name);
    f->rot_failing = false;
}

/* Before a file joins a round: deleted under us (once a second), or due
 * for rotation. 0, or the negative errno of opening it anew. */
static int prepare(struct perproc *s, struct pp_file *f, int64_t now)
{
    if (now - f->checked_ms >= DELETED_CHECK_MS) {
        f->checked_ms = now;
        if (spl_file_unlinked(f->fd) == 1) {
            const char *call;
            int fd = open_rel(s, f->name, &call);
            if (fd < 0)
                return fd;
            replace_fd(s, f, fd);
            s->reopened++;
        }
    }
    rotate_if_due(s, f);
    return 0;
}

/* Opens a file not in the cache, closing the least recently used one when
 * max_open are open: -EBUSY when every one is pinned (the round is full),
 * else 0 or the negative errno of the open with *call named. */
static int open_new(struct perproc *s, const char *name, size_t len, uint64_t h, int64_t now,
                    struct pp_file **out, const char **call)
{
    *call = "open";
    if (s->cache.n >= s->max_open) {
        if (pinned(s, s->cache.last))
            return -EBUSY;
        close_file(s, s->cache.last);
        s->evictions++;
    }
    int fd = open_rel(s, name, call);
    if (fd < 0)
        return fd;
    struct pp_file *f = pp_cache_add(&s->cache, h, name, len, fd);
    if (f == NULL) {
        close(fd);
        return -ENOMEM;
    }
    f->check_end = true;
    f->used_ms = f->checked_ms = now;
    f->rot = s->rot;
    s->opens++;
    *out = f;
    return 0;
}

/* The file of name, from the cache or opened; 0 or a negative errno. */
static int get_file(struct perproc *s, const char *name, size_t len, int64_t now,
                    struct pp_file **out, const char **call)
{
    uint64_t h = pp_cache_hash(&s->cache, name, len);
    struct pp_file *f = pp_cache_find(&s->cache, h, name, len);
    *call = "open";
    if (f == NULL) {
        int rc = open_new(s, name, len, h, now, out, call);
        /* A file found over size, or last written in an earlier period
         * (the daemon was down at midnight), rotates before its first
         * line, as the file output's does at start. */
        if (rc == 0)
            rotate_if_due(s, *out);
        return rc;
    }
    if (f->round != s->round_id) { /* once a round */
        int rc = prepare(s, f, now);
        if (rc < 0) { /* deleted, and its name cannot be opened again: not kept */
            close_file(s, f);
            return rc;
        }
    }
    pp_cache_touch(&s->cache, f);
    *out = f;
    return 0;
}

/* The fallback's own name, or a directory of that name in the way. */
static bool reserved(const char *name)
{
    size_t n = sizeof REFUSED_NAME - 1;
    return strncmp(name, REFUSED_NAME, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

/* A refused name: at most one log line per 10 s, with how many were
 * refused since the last one. */
static void log_refused(struct perproc *s, const char *name, int e, int64_t now)
{
    if (s->refused_at != 0 && now - s->refused_at < REFUSED_LOG_MS) {
        s->refused_quiet++;
        return;
    }
    s->host->log(s->cfg, SLUICE_LOG_WARNING, "open() \"%s/%s\" failed (%d: %s): name refused, "
                 "its messages go to \"%s/%s\" (%llu more refused in the last 10 s)", s->dir,
                 name, e, strerror(e), s->dir, REFUSED_NAME, s->refused_quiet);
    s->refused_at = now;
    s->refused_quiet = 0;
}

static void log_failing(struct perproc *s, const char *call, const char *name, int e)
{
    if (!s->failing)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s/%s\" failed (%d: %s), will retry", call,
                     s->dir, name, e, strerror(e));
    s->failing = true;
}

/* The file a message named name goes to: 0 with *out set (NULL: dropped,
 * refused with no fallback either), -EBUSY (the round is full), or
 * another negative errno (logged): wait and retry. */
static int file_for(struct perproc *s, const char *name, size_t len, int64_t now,
                    struct pp_file **out)
{
    const char *call;
    *out = NULL;
    int rc = reserved(name) ? -EEXIST : get_file(s, name, len, now, out, &call);
    if (rc == 0 || rc == -EBUSY)
        return rc;
    if (rc != -EEXIST && !refused_error(rc)) {
        log_failing(s, call, name, -rc);
        return rc;
    }
    int fb = get_file(s, REFUSED_NAME, sizeof REFUSED_NAME - 1, now, out, &call);
    if (fb == -EBUSY)
        return fb; /* counted when the next round takes it */
    if (fb < 0 && !refused_error(fb)) {
        log_failing(s, call, REFUSED_NAME, -fb);
        return fb;
    }
    s->refused++;
    log_refused(s, name, -rc, now);
    if (fb < 0) {
        *out = NULL;
        s->refused_lost++;
    }
    return 0;
}
/* }=== */

/* {=== rounds */
static int reserve(struct perproc *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t cap = s->cap * 2 > n ? s->cap * 2 : n;
    struct pp_file **g = realloc(s->grp, cap * sizeof *g);
    if (g != NULL)
        s->grp = g;
    struct pp_file **m = realloc(s->mfile, cap * sizeof *m);
    if (m != NULL)
        s->mfile = m;
    size_t *nx = realloc(s->mnext, cap * sizeof *nx);
    if (nx != NULL)
        s->mnext = nx;
    size_t *e = realloc(s->mend, cap * sizeof *e);
    if (e != NULL)
        s->mend = e;
    if (g == NULL || m == NULL || nx == NULL || e == NULL)
        return -ENOMEM;
    s->cap = cap;
    return 0;
}

/* Message i joins its file's lines in the round. */
static void join(struct perproc *s, struct pp_file *f, size_t i)
{
    s->mnext[i] = NO_MSG;
    if (f->round != s->round_id) {
        f->round = s->round_id;
        f->head = f->tail = i;
        s->grp[s->ngrp++] = f;
    } else {
        s->mnext[f->tail] = i;
        f->tail = i;
    }
}

/* Each file's lines of the round, contiguous, in order. */
static int format_round(struct perproc *s, const sluice_msg *const *msgs)
{
    s->buf.len = 0;
    for (size_t g = 0; g < s->ngrp; g++) {
        struct pp_file *f = s->grp[g];
        f->start = f->off = s->buf.len;
        for (size_t k = f->head; k != NO_MSG; k = s->mnext[k]) {
            if (s->host->format_append(s->fmt, msgs[k], &s->buf) < 0)
                return -ENOMEM;
            s->mend[k] = s->buf.len;
        }
        f->end = s->buf.len;
    }
    return 0;
}

/* Takes messages from s->next while their files fit (see the top), and
 * formats them. 0 with the round active, or a negative errno with no
 * round (its cause logged): the batch is retried from s->next. */
static int build_round(struct perproc *s, const sluice_msg *const *msgs, size_t n)
{
    char name[PP_NAME_MAX + 1];
    int64_t now = spl_now_ms();
    if (++s->round_id == 0)
        s->round_id = 1; /* 0 is no round: a new file's */
    s->round_active = true;
    s->ngrp = 0;
    s->from = s->next;
    size_t i;
    int rc = 0;
    for (i = s->from; i < n; i++) {
        size_t len = pp_tpl_render(&s->tpl, s->host, msgs[i], name);
        struct pp_file *f;
        if ((rc = file_for(s, name, len, now, &f)) < 0)
            break;
        s->mfile[i] = f;
        if (f != NULL)
            join(s, f, i);
    }
    s->to = i;
    if (i == s->from && rc < 0) {
        s->round_active = false;
        return rc;
    }
    if (format_round(s, msgs) < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "out of memory formatting %zu messages",
                     s->to - s->from);
        s->round_active = false;
        return -ENOMEM;
    }
    return 0;
}

/* The '\n' a torn last line needs, once per open, before our first. */
static int end_torn_line(struct perproc *s, struct pp_file *f)
{
    if (f->check_end) {
        int t = spl_file_torn(f->fd);
        if (t < 0)
            s->host->log(s->cfg, SLUICE_LOG_WARNING, "reading the end of \"%s/%s\" failed "
                         "(%d: %s): a torn last line there would be joined to our first",
                         s->dir, f->name, -t, strerror(-t));
        f->torn = t == 1;
        f->check_end = false;
    }
    ssize_t w = 0;
    while (f->torn && (w = write(f->fd, "\n", 1)) < 0 && errno == EINTR)
        ;
    if (w < 0)
        return -errno;
    f->torn = false;
    return 0;
}

/* Writes what is left of the round's spans; 0, or the negative errno of
 * the first failing write (logged), with the rest kept. The other files
 * are still written: one full file must not hold the others' lines. */
static int write_round(struct perproc *s)
{
    int64_t now = spl_now_ms();
    int first = 0;
    for (size_t g = 0; g < s->ngrp; g++) {
        struct pp_file *f = s->grp[g];
        if (f->off >= f->end)
            continue;
        int rc = end_torn_line(s, f);
        while (rc == 0 && f->off < f->end) {
            ssize_t w = write(f->fd, s->buf.data + f->off, f->end - f->off);
            if (w > 0)
                f->off += (size_t)w;
            else if (w == 0 || errno != EINTR)
                rc = w == 0 ? -EIO : -errno;
        }
        if (rc < 0) {
            if (!s->failing)
                s->host->log(s->cfg, SLUICE_LOG_ERR, "write() \"%s/%s\" failed (%d: %s), will "
                             "retry", s->dir, f->name, -rc, strerror(-rc));
            s->failing = true;
            first = first < 0 ? first : rc;
            continue;
        }
        f->used_ms = now;
        if (s->sync && fdatasync(f->fd) < 0) /* the bytes are the kernel's: not again */
            s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s/%s\" failed (%d: %s)",
                         s->dir, f->name, errno, strerror(errno));
    }
    return first;
}

static void finish_round(struct perproc *s)
{
    s->round_active = false;
    s->next = s->to;
    if (s->reopen_all) {
        close_all(s);
        s->reopen_all = false;
    }
}

static int perproc_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct perproc *s = state;
    if (!s->pending) { /* a new batch (a RETRY's comes again, see the top) */
        if (reserve(s, n) < 0) {
            s->host->log(s->cfg, SLUICE_LOG_ERR, "out of memory for a batch of %zu", n);
            return SLUICE_RETRY;
        }
        s->next = 0;
        s->round_active = false;
    }
    s->pending = true;
    for (;;) {
        if (s->round_active) {
            if (write_round(s) < 0)
                return SLUICE_RETRY;
            finish_round(s);
        }
        if (s->next >= n)
            break;
        if (build_round(s, msgs, n) < 0)
            return SLUICE_RETRY;
    }
    s->pending = false;
    if (s->failing)
        s->host->log(s->cfg, SLUICE_LOG_NOTICE, "writing to \"%s\" works again", s->dir);
    s->failing = false;
    return SLUICE_OK;
}

/* Messages from the first that are written whole (or were dropped): all
 * before the round, and the round's from its first on, until the first
 * whose line is not all written. */
static size_t perproc_progress(void *state)
{
    struct perproc *s = state;
    if (!s->pending)
        return 0;
    if (!s->round_active)
        return s->next;
    size_t k = s->from;
    while (k < s->to && (s->mfile[k] == NULL || s->mend[k] <= s->mfile[k]->off))
        k++;
    return k;
}

static void perproc_abandon(void *state)
{
    struct perproc *s = state;
    s->pending = false;
    s->round_active = false;
    s->buf.len = 0;
    if (s->reopen_all) {
        close_all(s);
        s->reopen_all = false;
    }
}
/* }=== */

/* {=== time, reopen, flush, stats */
/* Closes the files not written for idle_close, least recent first. */
static int perproc_tick(void *state)
{
    struct perproc *s = state;
    if (s->idle_ms == 0)
        return SLUICE_OK;
    int64_t now = spl_now_ms();
    struct pp_file *f;
    while ((f = s->cache.last) != NULL && now - f->used_ms >= s->idle_ms && !pinned(s, f)) {
        close_file(s, f);
        s->idle_closes++;
    }
    return SLUICE_OK;
}

/* logrotate moved files (or dir): every file is opened anew by its name
 * at its next message, and dir too. A round under way keeps its files to
 * its end. */
static int perproc_reopen(void *state)
{
    struct perproc *s = state;
    const char *call;
    int fd = spl_dir_open(s->dir, &s->create, &call);
    if (fd < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s() \"%s\" failed (%d: %s), still writing "
                     "to the old directory", call, s->dir, -fd, strerror(-fd));
    } else {
        close(s->dfd);
        s->dfd = fd;
    }
    if (s->round_active)
        s->reopen_all = true;
    else
        close_all(s);
    return fd < 0 ? SLUICE_RETRY : SLUICE_OK;
}

static int perproc_flush(void *state)
{
    struct perproc *s = state;
    int status = SLUICE_OK;
    for (struct pp_file *f = s->cache.first; f != NULL; f = f->next) {
        if (fdatasync(f->fd) < 0 && errno != EINVAL) {
            s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s/%s\" failed (%d: %s)",
                         s->dir, f->name, errno, strerror(errno));
            status = SLUICE_RETRY;
        }
    }
    return status;
}

static void perproc_stats(void *state, unsigned long long *v)
{
    const struct perproc *s = state;
    unsigned long long all[] = {s->cache.n, s->opens, s->evictions, s->idle_closes, s->refused,
                                s->refused_lost, s->rotations, s->reopened};
    memcpy(v, all, sizeof all);
}
/* }=== */

/* {=== open and close */
static void perproc_close(void *state)
{
    struct perproc *s = state;
    if (s == NULL)
        return;
    close_all(s);
    pp_cache_free(&s->cache);
    if (s->dfd >= 0)
        close(s->dfd);
    pp_tpl_free(&s->tpl);
    s->host->format_free(s->fmt);
    free(s->grp);
    free(s->mfile);
    free(s->mnext);
    free(s->mend);
    free(s->buf.data);
    free(s);
}

static struct perproc *perproc_new(const struct sluice_host *host, const sluice_config *cfg)
{
    struct perproc *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->host = host;
    s->cfg = cfg;
    s->dfd = -1;
    s->create = (struct spl_file_opts)SPL_FILE_OPTS_INIT;
    return s;
}

static int perproc_check(const struct sluice_host *host, const sluice_config *cfg, char *err,
                         size_t errlen)
{
    struct perproc *s = perproc_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    perproc_close(s);
    return rc;
}

/* max_open files need as many descriptors: said at start, not when the
 * hundredth program logs. */
static void warn_nofile(struct perproc *s)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        s->max_open + 64 > rl.rlim_cur)
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "max_open = %zu is near the descriptor limit "
                     "(%llu): opens will fail and be retried when it runs out", s->max_open,
                     (unsigned long long)rl.rlim_cur);
}

static int perproc_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                        char *err, size_t errlen)
{
    struct perproc *s = perproc_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    if (rc == 0 && (rc = pp_cache_init(&s->cache, s->max_open)) < 0)
        snprintf(err, errlen, "out of memory");
    if (rc < 0) {
        err[strcspn(err, "\n")] = '\0';
        perproc_close(s);
        return rc;
    }
    const char *call;
    if ((rc = spl_dir_open(s->dir, &s->create, &call)) < 0) {
        snprintf(err, errlen, "%s() \"%s\" failed (%d: %s)", call, s->dir, -rc, strerror(-rc));
        perproc_close(s);
        return rc;
    }
    s->dfd = rc;
    warn_nofile(s);
    *state = s;
    return 0;
}
/* }=== */

static const struct sluice_output_plugin perproc_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "perproc",
    .description = "one file per process (or per any fields), named by a template, under one "
                   "directory, never through a symlink",
    .keys = perproc_keys,
    .open = perproc_open,
    .write = perproc_write,
    .flush = perproc_flush,
    .reopen = perproc_reopen,
    .close = perproc_close,
    .check = perproc_check,
    .abandon = perproc_abandon,
    .tick = perproc_tick,
    .progress = perproc_progress,
    .counters = perproc_counters,
    .stats = perproc_stats,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &perproc_plugin;
}
