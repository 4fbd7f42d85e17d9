/* SPDX-License-Identifier: MIT */
/*
 * archive.c: the `archive` output plugin: messages as lines in a zstd
 * stream, one frame per flush, in files that may split by time.
 *
 *     output "archive" { type = "archive", path = "var/log/archive/{date}.zst",
 *                        level = 3, flush_interval = "1s", format = "raw" }
 *
 * DESIGN
 *
 * A file is a sequence of zstd frames (plugins/lib/zstd_out.h does the
 * compressing), each complete in itself: zstd -t checks it, zstdcat
 * decodes the lines in order. A frame ends when it is flush_interval old
 * (looked at in tick(), about every 100 ms, and after each batch), when
 * the file changes ({date}/{hour}, reopen()), and at flush() and close().
 *
 * When compressed bytes reach the file: as zstd emits them, at the end of
 * each write() (zstd gives back a block about every 128 KiB of input), and
 * the rest at the frame's end. So memory stays one block, not one frame;
 * the price is that a kill -9 leaves the frame under way torn in the file.
 * Durability is at frame end either way: what a frame holds is readable
 * once the frame has ended and reached the file, and a crash loses at most
 * the frame under way (flush_interval of messages).
 *
 * Repair: before the first byte is appended to a file that exists (at
 * start, on the worker's first tick(); whenever the file changes), the
 * file is scanned (archive_file.c: arc_scan) and a torn last frame is cut
 * off with ftruncate(), logged and counted (`repairs`), so the file is a
 * valid stream again before new frames follow. A file whose tail is not a
 * torn frame (not zstd at all, or corrupt inside) is never cut: open()
 * refuses it, and later the output waits (RETRY) with an error naming it.
 *
 * The batch contract (sluice-plugin.h): write() feeds each message to the
 * stream exactly once. `fed` counts the messages of the batch fed so far;
 * compressed bytes not yet written wait in `out`. A failed write answers
 * SLUICE_RETRY; the retry (the same batch) feeds only messages past `fed`
 * and writes the rest of `out`. A batch whose messages fall in two files
 * (a reception time past the hour) is split there: the first file's frame
 * is ended, written and the file closed, then the rest is fed to the next.
 * progress() is `done`: the messages of the batch in frames that ended and
 * reached the file. abandon() must keep the messages it gives up out of
 * the file (a reload offers the rest to the new instance, so writing them
 * would write them twice), and a frame cannot be taken apart: the frame
 * under way is dropped and the file cut back to its last whole frame,
 * which also loses the earlier batches of that frame (written, to the
 * daemon: durability is at frame end). Logged, counted (`frames_lost`).
 * It happens only when the daemon gives a batch up while writes fail.
 *
 * A file deleted under us (st_nlink 0, looked at before each frame) is
 * created anew for the next frame, as the file output does.
 *
 * Threads: open() and close() on the main thread, all else on the worker.
 * open() does not cut anything: at a reload the old instance may still be
 * writing the file, and its frame under way is not torn.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, fdatasync, ftruncate */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "sluice-plugin.h"
#include "archive/archive_file.h"
#include "lib/plugin_lib.h"
#include "lib/zstd_out.h"

struct archive_out {
    const struct sluice_host *host;
    const sluice_config *cfg;
    struct arc_tmpl tmpl;  /* path borrowed from the config until close() */
    sluice_format *fmt;    /* owned */
    struct spl_file_opts create;
    int level, workers;
    int64_t flush_ms;
    struct spl_zstd z;     /* owned; cctx NULL after a failed re-init */

    /* The file: name, and the reception times that belong in it. fd is -1
     * until its first bytes are written (no empty file, which zstd -t
     * refuses, is left by a file that got no frame). */
    char path[PATH_MAX];
    bool have_span;
    int64_t span_start, span_end;
    int fd;
    bool open_due; /* the file existed at open(): open and repair it at the first tick */
    off_t file_len;  /* the file's length, as far as we wrote it */
    off_t whole_len; /* of that, complete frames (where abandon() cuts back to) */

    struct sluice_buf text; /* owned: a segment of a batch, formatted */
    struct sluice_buf out;  /* owned: compressed bytes, out_off of them written */
    size_t out_off;
    int64_t frame_ms; /* when the frame under way began (spl_now_ms) */

    bool kept;   /* the last write() answered RETRY: the next is the same batch */
    size_t fed;  /* messages of the batch fed to the stream */
    size_t done; /* of them, those in frames that ended and reached the file */
    bool failing; /* log once per failure streak */

    unsigned long long frames, bytes_in, bytes_out, repairs, files, frames_lost;
};

static const char *const archive_keys[] = {"path",  "format", "level", "workers",
                                           "flush_interval", "mode", "owner", "group",
                                           "follow_symlinks", NULL};
static const char *const archive_counters[] = {"frames", "bytes_in",  "bytes_out", "repairs",
                                               "files",  "frames_lost", NULL};

/* {=== reading the config */

static void read_path(struct archive_out *s, char *err, size_t errlen)
{
    const char *path;
    char terr[256] = "";
    int rc = s->host->config_string(s->cfg, "path", &path);
    if (rc < 0)
        spl_err_add(err, errlen, "key \"path\" %s", rc == -ENOENT ? "is required"
                                                                   : "must be a string");
    else if (path[0] == '\0')
        spl_err_add(err, errlen, "key \"path\" must not be empty");
    else if (arc_tmpl_parse(&s->tmpl, path, terr, sizeof terr) < 0)
        spl_err_add(err, errlen, "%s", terr);
}

/* level and workers, each checked alone so both are reported. */
static void read_zstd(struct archive_out *s, char *err, size_t errlen)
{
    long long v;
    char zerr[128];
    s->level = SPL_ZSTD_DEFAULT_LEVEL;
    int rc = s->host->config_int(s->cfg, "level", &v);
    if (rc == -EINVAL || (rc == 0 && (v < INT_MIN || v > INT_MAX)))
        spl_err_add(err, errlen, "key \"level\" must be an integer");
    else if (rc == 0 && spl_zstd_check((int)v, 0, zerr, sizeof zerr) < 0)
        spl_err_add(err, errlen, "key \"level\": %s", zerr);
    else if (rc == 0)
        s->level = (int)v;
    rc = s->host->config_int(s->cfg, "workers", &v);
    if (rc == -EINVAL || (rc == 0 && (v < INT_MIN || v > INT_MAX)))
        spl_err_add(err, errlen, "key \"workers\" must be an integer");
    else if (rc == 0 && spl_zstd_check(0, (int)v, zerr, sizeof zerr) < 0)
        spl_err_add(err, errlen, "key \"workers\": %s", zerr);
    else if (rc == 0)
        s->workers = (int)v;
}

/* A string with a unit, or a whole number of seconds. */
static void read_interval(struct archive_out *s, char *err, size_t errlen)
{
    const char *d;
    long long secs;
    s->flush_ms = 1000;
    if (s->host->config_int(s->cfg, "flush_interval", &secs) == 0) {
        if (secs >= 1 && secs <= 86400)
            s->flush_ms = secs * 1000;
        else
            spl_err_add(err, errlen, "key \"flush_interval\": %lld seconds is outside 1 .. "
                        "86400", secs);
        return;
    }
    int rc = s->host->config_string(s->cfg, "flush_interval", &d);
    if (rc == -EINVAL || (rc == 0 && arc_duration_ms(d, &s->flush_ms) < 0))
        spl_err_add(err, errlen, "key \"flush_interval\" must be a duration from 1 ms to a day, "
                    "such as \"1s\", \"500ms\", \"2m\" or \"1h\"");
}

/* Reads the keys, reporting each bad one in err (reasons separated by
 * '\n', as check() may). */
static int read_config(struct archive_out *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    const char *format = "raw";
    int follow = 0;

    err[0] = '\0';
    read_path(s, err, errlen);
    read_zstd(s, err, errlen);
    read_interval(s, err, errlen);
    if (h->config_string(s->cfg, "format", &format) == -EINVAL) {
        spl_err_add(err, errlen, "key \"format\" must be a string");
        format = NULL;
    }
    spl_read_mode(h, s->cfg, "mode", "0640", &s->create.mode, err, errlen);
    spl_read_owner(h, s->cfg, &s->create, err, errlen);
    if (h->config_bool(s->cfg, "follow_symlinks", &follow) == -EINVAL)
        spl_err_add(err, errlen, "key \"follow_symlinks\" must be true or false");
    s->create.follow_symlinks = follow != 0;
    if (format != NULL) {
        char ferr[256] = "";
        if (h->format_new(format, &s->fmt, ferr, sizeof ferr) < 0)
            spl_err_add(err, errlen, "%s", ferr[0] != '\0' ? ferr : "bad format");
    }
    return err[0] != '\0' ? -EINVAL : 0;
}
/* }=== */

/* {=== the file */
/* Logs an error once per failure streak (the worker retries about once a
 * second); the streak's end is said by write_ok(). */
static void fail(struct archive_out *s, const char *fmt, ...) SLUICE_PRINTF(2, 3);

static void fail(struct archive_out *s, const char *fmt, ...)
{
    if (!s->failing) {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        s->host->log(s->cfg, SLUICE_LOG_ERR, "%s", line);
    }
    s->failing = true;
}

/* Cuts a torn last frame off the file just opened, or refuses a file that
 * is not an archive (see the top). Worker thread. 0 or a negative errno. */
static int repair(struct archive_out *s)
{
    off_t size, whole;
    const char *call;
    int rc = arc_scan(s->fd, &size, &whole, &call);
    if (rc == -EILSEQ) {
        fail(s, "\"%s\" is not a zstd archive (from byte %lld of %lld it is not a zstd "
             "frame): refusing to append to it or cut it; move it away, will retry", s->path,
             (long long)whole, (long long)size);
        return rc;
    }
    if (rc < 0) { /* unreadable: we cannot tell, and say so; appending is all we can do */
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "%s() \"%s\" failed (%d: %s): a torn last "
                     "frame there would not be cut", call, s->path, -rc, strerror(-rc));
        size = whole = lseek(s->fd, 0, SEEK_END);
    } else if (whole < size) {
        if (ftruncate(s->fd, whole) < 0) {
            rc = -errno;
            fail(s, "ftruncate() \"%s\" failed (%d: %s) cutting a torn last frame, will retry",
                 s->path, -rc, strerror(-rc));
            return rc;
        }
        s->repairs++;
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "\"%s\" ended in a torn zstd frame (a crash?): "
                     "cut from %lld to %lld bytes, its last complete frame", s->path,
                     (long long)size, (long long)whole);
    }
    s->file_len = s->whole_len = whole > 0 ? whole : 0;
    return 0;
}

/* Opens s->path (creating it, its directories, mode, owner, group) and
 * repairs it. Worker thread. 0 or a negative errno, logged. */
static int open_file(struct archive_out *s)
{
    const char *call;
    int fd = spl_file_open(s->path, &s->create, &call);
    if (fd < 0) {
        fail(s, "%s() \"%s\" failed (%d: %s), will retry", call, s->path, -fd, strerror(-fd));
        return fd;
    }
    s->fd = fd;
    int rc = repair(s);
    if (rc < 0) {
        close(s->fd);
        s->fd = -1;
        return rc;
    }
    s->files++;
    s->open_due = false;
    return 0;
}

/* Writes what is left of out, opening the file for its first bytes.
 * Worker thread. 0 when out is empty, or a negative errno with the rest
 * kept. When no frame is under way, every message fed is then in a whole
 * frame in the file: `done` catches up. */
static int drain(struct archive_out *s)
{
    while (s->out_off < s->out.len) {
        if (s->fd < 0) {
            int rc = open_file(s);
            if (rc < 0)
                return rc;
        }
        ssize_t w = write(s->fd, s->out.data + s->out_off, s->out.len - s->out_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            fail(s, "write() \"%s\" failed (%d: %s), will retry", s->path, e, strerror(e));
            return -e;
        }
        s->out_off += (size_t)w;
        s->file_len += w;
        s->bytes_out += (unsigned long long)w;
    }
    s->out.len = s->out_off = 0;
    if (!s->z.in_frame) {
        s->whole_len = s->file_len;
        s->done = s->fed;
    }
    return 0;
}

/* Ends the frame under way (its rest goes to out). 0 or a negative errno. */
static int end_frame(struct archive_out *s)
{
    if (!s->z.in_frame)
        return 0;
    int rc = spl_zstd_end(&s->z, &s->out);
    if (rc == 0)
        s->frames++;
    return rc;
}

/* Ends the frame and writes it out: what flush(), close(), reopen() and a
 * change of file do. 0 or a negative errno. */
static int finish_frame(struct archive_out *s)
{
    int rc = end_frame(s);
    if (rc < 0) {
        fail(s, "zstd failed ending a frame of \"%s\" (%d: %s)", s->path, -rc, strerror(-rc));
        return rc;
    }
    return drain(s);
}

static void close_file(struct archive_out *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Drops the frame under way and what of it is not yet a whole frame in
 * the file (see the top: abandon(), a zstd error). Worker thread. */
static void drop_frame(struct archive_out *s, const char *why)
{
    char err[128];
    off_t cut = s->file_len - s->whole_len;
    bool had = s->z.in_frame || s->out.len > s->out_off || cut > 0;
    spl_zstd_free(&s->z);
    if (spl_zstd_init(&s->z, s->level, s->workers, err, sizeof err) < 0)
        s->host->log(s->cfg, SLUICE_LOG_ERR, "zstd: %s, will retry", err);
    s->out.len = s->out_off = 0;
    if (s->fd >= 0 && cut > 0 && ftruncate(s->fd, s->whole_len) < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "ftruncate() \"%s\" failed (%d: %s): its torn last "
                     "frame is cut when it is next opened", s->path, errno, strerror(errno));
        close_file(s); /* the next bytes open it anew, and repair() cuts */
    }
    s->file_len = s->whole_len;
    if (had) {
        s->frames_lost++;
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "%s: the frame under way of \"%s\" is dropped "
                     "(%lld bytes of it were in the file), the file ends at its last complete "
                     "frame", why, s->path, (long long)cut);
    }
    s->fed = s->done;
}

/* Makes the file the one for reception time sec: when it is another, the
 * frame of the old one is ended and written and the old one closed. 0 or
 * a negative errno (the old file is kept, to try again). Worker thread. */
static int switch_to(struct archive_out *s, int64_t sec)
{
    if (s->have_span && s->span_start <= sec && sec < s->span_end)
        return 0;
    char p[PATH_MAX];
    int64_t a, b;
    int rc = arc_tmpl_expand(&s->tmpl, sec, p, sizeof p, &a, &b);
    if (rc < 0) {
        fail(s, "expanding \"%s\" for time %lld failed (%d: %s)", s->tmpl.path, (long long)sec,
             -rc, strerror(-rc));
        return rc;
    }
    if (s->have_span && strcmp(p, s->path) != 0) {
        if ((rc = finish_frame(s)) < 0)
            return rc;
        close_file(s);
        s->open_due = false;
    }
    memcpy(s->path, p, strlen(p) + 1);
    s->span_start = a;
    s->span_end = b;
    s->have_span = true;
    return 0;
}
/* }=== */

/* {=== opening and closing */
static void archive_close(void *state)
{
    struct archive_out *s = state;
    if (s == NULL)
        return;
    if (s->fd >= 0 || s->z.in_frame || s->out.len > 0) {
        if (finish_frame(s) < 0)
            s->host->log(s->cfg, SLUICE_LOG_ERR, "closing \"%s\" with its last frame unwritten "
                         "(%zu bytes): it is cut when the file is next opened", s->path,
                         s->out.len - s->out_off);
    }
    close_file(s);
    spl_zstd_free(&s->z);
    s->host->format_free(s->fmt);
    free(s->text.data);
    free(s->out.data);
    free(s);
}

static struct archive_out *archive_new(const struct sluice_host *host, const sluice_config *cfg)
{
    struct archive_out *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->host = host;
    s->cfg = cfg;
    s->fd = -1;
    s->create = (struct spl_file_opts)SPL_FILE_OPTS_INIT;
    return s;
}

/* Every bad key, each its own reason. No side effect. */
static int archive_check(const struct sluice_host *host, const sluice_config *cfg, char *err,
                         size_t errlen)
{
    struct archive_out *s = archive_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    archive_close(s);
    return rc;
}

/* The file for now, if it exists: one that does not begin as an archive
 * is refused here, so the daemon does not start to append to a text log.
 * Nothing is cut and only its head is read: a reload's old instance may be
 * writing it; the worker scans it whole before appending. Main thread. */
static int look_at_file(struct archive_out *s, char *err, size_t errlen)
{
    off_t size;
    int rc = switch_to(s, (int64_t)time(NULL));
    if (rc < 0) {
        snprintf(err, errlen, "expanding \"%s\" failed (%d: %s)", s->tmpl.path, -rc,
                 strerror(-rc));
        return rc;
    }
    int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return 0; /* missing (created with its first frame) or unreadable: the worker says */
    rc = arc_head_ok(fd, &size);
    close(fd);
    if (rc == -EILSEQ) {
        snprintf(err, errlen, "\"%s\" is not a zstd archive (from byte 0 of %lld it is not "
                 "a zstd frame): refusing to append to it; move it away", s->path,
                 (long long)size);
        return rc;
    }
    s->open_due = true;
    return 0;
}

/* open() gives one reason: the first bad key (check() gives them all). */
static int archive_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                        char *err, size_t errlen)
{
    struct archive_out *s = archive_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    if (rc == 0)
        rc = spl_zstd_init(&s->z, s->level, s->workers, err, errlen);
    if (rc == 0)
        rc = look_at_file(s, err, errlen);
    if (rc < 0) {
        err[strcspn(err, "\n")] = '\0';
        archive_close(s);
        return rc;
    }
    *state = s;
    return 0;
}
/* }=== */

/* {=== writing */
/* The file was deleted under us (or its directory): what we write would
 * go nowhere, so the next frame goes to the path anew (opened, its
 * directory recreated, with its first bytes). Looked at only before a
 * frame begins, one fstat() a frame: a frame cannot continue in another
 * file, so the frame under way when it was deleted is lost with it.
 * Worker thread. */
static void reopen_if_deleted(struct archive_out *s)
{
    if (s->fd < 0 || s->out.len > s->out_off || spl_file_unlinked(s->fd) != 1)
        return;
    s->host->log(s->cfg, SLUICE_LOG_WARNING, "\"%s\" was deleted while open, writing the "
                 "next frames to it anew", s->path);
    close_file(s);
}

static int64_t received(const struct archive_out *s, const sluice_msg *m)
{
    struct sluice_time t;
    return s->host->msg_time(m, SLUICE_FIELD_RECEIVED, &t) == 0 ? t.sec : (int64_t)time(NULL);
}

/* Feeds msgs[from..) that belong in the current file, as one piece.
 * Returns how many it fed, or a negative errno (nothing of them fed). */
static ssize_t feed_segment(struct archive_out *s, const sluice_msg *const *msgs, size_t from,
                            size_t n)
{
    size_t j = from;
    s->text.len = 0;
    for (; j < n; j++) {
        int64_t t = j == from ? s->span_start : received(s, msgs[j]);
        if (t < s->span_start || t >= s->span_end)
            break; /* the next file's: the batch is split here */
        if (s->host->format_append(s->fmt, msgs[j], &s->text) < 0) {
            fail(s, "out of memory formatting %zu messages for \"%s\"", n, s->path);
            return -ENOMEM;
        }
    }
    if (s->z.cctx == NULL) {
        char err[128];
        if (spl_zstd_init(&s->z, s->level, s->workers, err, sizeof err) < 0) {
            fail(s, "zstd: %s, will retry", err);
            return -ENOMEM;
        }
    }
    if (!s->z.in_frame) {
        s->frame_ms = spl_now_ms();
        reopen_if_deleted(s);
    }
    int rc = spl_zstd_feed(&s->z, s->text.data, s->text.len, &s->out);
    if (rc < 0) { /* part may be in the frame: it cannot be trusted */
        fail(s, "zstd failed compressing for \"%s\" (%d: %s), will retry", s->path, -rc,
             strerror(-rc));
        drop_frame(s, "after a zstd error");
        return rc;
    }
    s->bytes_in += s->text.len;
    return (ssize_t)(j - from);
}

/* Feeds the batch from s->fed on, a segment per file. 0 or a negative
 * errno (s->fed says how far it came). */
static int feed_batch(struct archive_out *s, const sluice_msg *const *msgs, size_t n)
{
    while (s->fed < n) {
        int rc = switch_to(s, received(s, msgs[s->fed]));
        if (rc < 0)
            return rc;
        ssize_t k = feed_segment(s, msgs, s->fed, n);
        if (k < 0)
            return (int)k;
        s->fed += (size_t)k;
    }
    return 0;
}

static bool flush_due(const struct archive_out *s)
{
    return s->z.in_frame && spl_now_ms() - s->frame_ms >= s->flush_ms;
}

static int write_ok(struct archive_out *s)
{
    if (s->failing)
        s->host->log(s->cfg, SLUICE_LOG_NOTICE, "writing \"%s\" works again", s->path);
    s->failing = false;
    return SLUICE_OK;
}

static int archive_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct archive_out *s = state;
    if (!s->kept) /* a new batch; a kept one resumes where it stopped */
        s->fed = s->done = 0;
    s->kept = true;
    int rc = feed_batch(s, msgs, n);
    if (rc == 0 && flush_due(s))
        rc = finish_frame(s);
    else if (rc == 0)
        rc = drain(s);
    if (rc < 0)
        return SLUICE_RETRY;
    s->kept = false;
    return write_ok(s);
}

/* Ends a frame that is flush_interval old, writes what waits, and opens
 * and repairs at start the file that existed. Worker thread. */
static int archive_tick(void *state)
{
    struct archive_out *s = state;
    if (s->open_due && s->fd < 0 && open_file(s) < 0)
        return SLUICE_RETRY;
    int rc = flush_due(s) ? finish_frame(s) : drain(s);
    if (rc < 0)
        return SLUICE_RETRY;
    return s->kept ? SLUICE_OK : write_ok(s);
}

/* See the top: the given-up messages must not reach the file. */
static void archive_abandon(void *state)
{
    struct archive_out *s = state;
    if (s->kept && s->fed > s->done)
        drop_frame(s, "a batch was given up");
    s->kept = false;
    s->fed = s->done = 0;
}

static size_t archive_progress(void *state)
{
    struct archive_out *s = state;
    return s->done;
}

/* Ends the frame, writes it and syncs the file. Worker thread. */
static int archive_flush(void *state)
{
    struct archive_out *s = state;
    if (finish_frame(s) < 0)
        return SLUICE_RETRY;
    if (s->fd >= 0 && fdatasync(s->fd) < 0 && errno != EINVAL) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "fdatasync() \"%s\" failed (%d: %s)", s->path,
                     errno, strerror(errno));
        return SLUICE_RETRY;
    }
    return SLUICE_OK;
}

/* logrotate renamed the file: end the frame in the old one, and write the
 * next to the path anew (opened with its first bytes). If the old frame
 * cannot be written, keep the old file to try again. Worker thread. */
static int archive_reopen(void *state)
{
    struct archive_out *s = state;
    if (finish_frame(s) < 0)
        return SLUICE_RETRY;
    close_file(s);
    s->open_due = false;
    return SLUICE_OK;
}

static void archive_stats(void *state, unsigned long long *v)
{
    const struct archive_out *s = state;
    v[0] = s->frames;
    v[1] = s->bytes_in;
    v[2] = s->bytes_out;
    v[3] = s->repairs;
    v[4] = s->files;
    v[5] = s->frames_lost;
}
/* }=== */

static const struct sluice_output_plugin archive_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "archive",
    .description = "appends messages to a zstd archive, one frame per flush, split by time",
    .keys = archive_keys,
    .open = archive_open,
    .write = archive_write,
    .flush = archive_flush,
    .reopen = archive_reopen,
    .close = archive_close,
    .check = archive_check,
    .abandon = archive_abandon,
    .tick = archive_tick,
    .progress = archive_progress,
    .counters = archive_counters,
    .stats = archive_stats,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &archive_plugin;
}
