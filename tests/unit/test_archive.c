/* SPDX-License-Identifier: MIT */
/* test_archive.c: the archive output (plugins/archive/): its path
 * templates, durations and repair scan alone (archive_file.c), and the
 * plugin from the build tree, driven through the real host table with
 * messages whose reception time the test sets: a torn last frame cut at
 * start, a file that is not zstd refused and left alone, a batch split at
 * an hour, a file deleted under it, a failed write retried without feeding the batch twice, an
 * abandoned batch kept out of the file, and its counters. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "archive/archive_file.h"
#include "common/msg.h"
#include "lib/zstd_out.h"
#include "output/plugin.h"
#include "parse/parse.h"

#ifndef BUILD_PLUGIN_DIR
#error "BUILD_PLUGIN_DIR: the build tree's plugins/ folder"
#endif

/* 2026-11-22 09:59:58 UTC: two seconds before an hour. */
#define T_BEFORE_HOUR 1795341598LL

/* {=== helpers */
static char tmpdir[256];
static struct sl_plugin *plugin;

static int setup(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-archive-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    char *v[] = {BUILD_PLUGIN_DIR};
    struct sl_strlist search = {v, 1};
    char err[1024] = "";
    if (sl_plugin_load("archive", NULL, &search, &plugin, err, sizeof err) != 0)
        fail_msg("%s", err);
    return 0;
}

static int teardown(void **state)
{
    sl_plugin_unload(plugin);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmpdir, name);
}

struct conf {
    struct sl_output_conf o;
    struct sl_kv kv[8];
    char path[512];
};

static void conf_init(struct conf *c, const char *path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->o = (struct sl_output_conf){.name = "arc", .type = "archive", .kv = c->kv,
                                   .file = "sluice.lua", .line = 9};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "path", .type = SL_KV_STRING, .str = c->path};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "format", .type = SL_KV_STRING, .str = "{msg}"};
}

static void conf_add(struct conf *c, struct sl_kv kv)
{
    assert_true(c->o.nkv < 8);
    c->kv[c->o.nkv++] = kv;
}

static char logged[16][512];
static int nlogged;

static void record_log(const sluice_config *cfg, int level, const char *fmt, ...)
{
    if (nlogged >= 16)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(logged[nlogged], sizeof logged[0], "%d ", level);
    vsnprintf(logged[nlogged] + n, sizeof logged[0] - (size_t)n, fmt, ap);
    va_end(ap);
    nlogged++;
}

static bool log_has(const char *text)
{
    for (int i = 0; i < nlogged; i++)
        if (strstr(logged[i], text) != NULL)
            return true;
    return false;
}

static struct sluice_host host;

static void *open_ok(struct conf *c)
{
    void *st = NULL;
    char err[512] = "";
    host = *sl_plugin_host();
    host.log = record_log;
    nlogged = 0;
    int rc = plugin->api->open(&host, sl_plugin_config(&c->o), &st, err, sizeof err);
    if (rc != 0)
        fail_msg("open: %s", err);
    return st;
}

/* The text of message i of a test: varied, so it does not compress to
 * nothing (an LCG's hex), and recognisable. */
static void text_of(char *out, size_t len, const char *tag, size_t i)
{
    uint32_t x = (uint32_t)i * 2654435761u + 12345u;
    snprintf(out, len, "%s %06zu %08x %08x %08x", tag, i, x, x * 1103515245u + 7u,
             x ^ 0x5bd1e995u);
}

/* Writes messages tag 0..n as one batch, message i received at
 * times[i] (or T_BEFORE_HOUR with times NULL); returns the status. */
static int write_n(void *st, const char *tag, size_t n, const int64_t *times)
{
    struct sl_msg **m = calloc(n, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        char text[128], raw[256];
        text_of(text, sizeof text, tag, i);
        snprintf(raw, sizeof raw, "<13>Nov 22 10:00:00 host app: %s", text);
        m[i] = sl_msg_new_heap(raw, strlen(raw), "test");
        assert_non_null(m[i]);
        struct sl_parse_ctx ctx = {.hostname = {"h", 1}, .now = 1795348800};
        sl_parse(m[i], &ctx);
        m[i]->received.sec = times != NULL ? times[i] : T_BEFORE_HOUR;
    }
    int rc = plugin->api->write(st, (const sluice_msg *const *)m, n);
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(m[i]);
    free(m);
    return rc;
}

/* The expected lines of tags[k] 0..counts[k], concatenated. */
static char *lines_of(const char *const *tags, const size_t *counts, size_t k)
{
    size_t cap = 1, len = 0;
    for (size_t j = 0; j < k; j++)
        cap += counts[j] * 64;
    char *s = malloc(cap);
    assert_non_null(s);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < counts[j]; i++) {
            char t[128];
            text_of(t, sizeof t, tags[j], i);
            len += (size_t)snprintf(s + len, cap - len, "%s\n", t);
        }
    s[len] = '\0';
    return s;
}

static char *read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *d = malloc((size_t)st.st_size + 1);
    assert_non_null(d);
    assert_int_equal(read(fd, d, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return d;
}

/* The file must be whole frames only, and decode to exactly want. */
static void expect_archive(const char *path, const char *want)
{
    size_t len;
    char *d = read_all(path, &len);
    assert_int_equal(spl_zstd_whole(d, len), len);
    size_t cap = strlen(want) + 1024;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n = ZSTD_decompress(out, cap, d, len);
    assert_false(ZSTD_isError(n));
    out[n] = '\0';
    assert_string_equal(out, want);
    free(out);
    free(d);
}

/* Frames of lines "tag i", each its own frame, appended to path. */
static size_t put_frames(const char *path, const char *tag, size_t per_frame, size_t frames)
{
    char err[128];
    struct spl_zstd z;
    struct sluice_buf out = {0};
    assert_int_equal(spl_zstd_init(&z, 3, 0, err, sizeof err), 0);
    size_t counts[1] = {per_frame};
    const char *tags[1] = {tag};
    char *text = lines_of(tags, counts, 1);
    for (size_t f = 0; f < frames; f++) {
        assert_int_equal(spl_zstd_feed(&z, text, strlen(text), &out), 0);
        assert_int_equal(spl_zstd_end(&z, &out), 0);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
    close(fd);
    size_t whole = out.len;
    free(text);
    free(out.data);
    spl_zstd_free(&z);
    return whole;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The counter named name of st. */
static unsigned long long counter(void *st, const char *name)
{
    unsigned long long v[SLUICE_MAX_COUNTERS] = {0};
    plugin->api->stats(st, v);
    for (size_t i = 0; plugin->api->counters[i] != NULL; i++)
        if (strcmp(plugin->api->counters[i], name) == 0)
            return v[i];
    fail_msg("no counter %s", name);
    return 0;
}
/* }=== */

/* {=== templates, durations */
static void test_template_expands_date_and_hour(void **state)
{
    struct arc_tmpl t;
    char err[256] = "", out[128];
    int64_t a, b;
    assert_int_equal(arc_tmpl_parse(&t, "arc/{date}/h{hour}.zst", err, sizeof err), 0);
    assert_int_equal(arc_tmpl_expand(&t, T_BEFORE_HOUR, out, sizeof out, &a, &b), 0);
    assert_string_equal(out, "arc/2026-11-22/h09.zst");
    assert_int_equal(a, T_BEFORE_HOUR - 3598);
    assert_int_equal(b, T_BEFORE_HOUR + 2);
    assert_int_equal(arc_tmpl_expand(&t, T_BEFORE_HOUR + 2, out, sizeof out, &a, &b), 0);
    assert_string_equal(out, "arc/2026-11-22/h10.zst");

    assert_int_equal(arc_tmpl_parse(&t, "{date}.zst", err, sizeof err), 0);
    assert_int_equal(arc_tmpl_expand(&t, T_BEFORE_HOUR, out, sizeof out, &a, &b), 0);
    assert_string_equal(out, "2026-11-22.zst");
    assert_int_equal(a, 1795305600LL); /* the day, midnight to midnight */
    assert_int_equal(b, 1795305600LL + 86400);

    assert_int_equal(arc_tmpl_parse(&t, "plain{.zst", err, sizeof err), 0);
    assert_int_equal(arc_tmpl_expand(&t, T_BEFORE_HOUR, out, sizeof out, &a, &b), 0);
    assert_string_equal(out, "plain{.zst");
    assert_true(a == INT64_MIN && b == INT64_MAX);
    assert_int_equal(arc_tmpl_expand(&t, T_BEFORE_HOUR, out, 5, &a, &b), -ENAMETOOLONG);
}

/* Local time, at an offset that is not whole hours: the hour's span
 * starts at the local hour, not the UTC one. */
static void test_template_local_half_hour_zone(void **state)
{
    struct arc_tmpl t;
    char err[256] = "", out[128];
    int64_t a, b;
    setenv("TZ", "Asia/Kolkata", 1);
    tzset();
    assert_int_equal(arc_tmpl_parse(&t, "{date}T{hour}", err, sizeof err), 0);
    int rc = arc_tmpl_expand(&t, T_BEFORE_HOUR, out, sizeof out, &a, &b);
    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(rc, 0);
    assert_string_equal(out, "2026-11-22T15"); /* 09:59:58 UTC is 15:29:58 IST */
    assert_int_equal(a, T_BEFORE_HOUR - 29 * 60 - 58);
    assert_int_equal(b - a, 3600);
}

static void test_template_refuses_other_placeholders(void **state)
{
    struct arc_tmpl t;
    char err[256] = "";
    assert_int_equal(arc_tmpl_parse(&t, "logs/{app_name}.zst", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "\"{app_name}\" is not a placeholder of an archive path"));
}

static void test_durations(void **state)
{
    int64_t ms = 0;
    assert_int_equal(arc_duration_ms("1s", &ms), 0);
    assert_int_equal(ms, 1000);
    assert_int_equal(arc_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(arc_duration_ms("2m", &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(arc_duration_ms("1h", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(arc_duration_ms("soon", &ms), -EINVAL);
    assert_int_equal(arc_duration_ms("0s", &ms), -EINVAL);
    assert_int_equal(arc_duration_ms("5", &ms), 0); /* seconds, as a number would be */
    assert_int_equal(ms, 5000);
    assert_int_equal(arc_duration_ms("2d", &ms), -EINVAL);
    assert_int_equal(arc_duration_ms("-1s", &ms), -EINVAL);
}
/* }=== */

/* {=== repair */
/* Three whole frames and half a fourth: open() cuts nothing (another
 * instance may be writing), the first tick cuts to the three, logs it and
 * counts it, and what follows is appended after them. */
static void test_torn_frame_cut_at_start(void **state)
{
    char path[512];
    path_in(path, sizeof path, "torn.zst");
    size_t whole = put_frames(path, "old", 50, 3);
    char half[512];
    path_in(half, sizeof half, "half.zst");
    size_t extra = put_frames(half, "cut", 200, 1);
    size_t hl;
    char *h = read_all(half, &hl);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, h, extra / 2), (ssize_t)(extra / 2));
    close(fd);
    free(h);

    off_t size, w;
    const char *call;
    fd = open(path, O_WRONLY);
    assert_int_equal(arc_scan(fd, &size, &w, &call), 0);
    close(fd);
    assert_int_equal(size, whole + extra / 2);
    assert_int_equal(w, whole);

    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    assert_int_equal(size_of(path), whole + extra / 2);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    assert_int_equal(size_of(path), whole);
    assert_true(log_has("ended in a torn zstd frame (a crash?): cut from"));
    assert_int_equal(counter(st, "repairs"), 1);
    assert_int_equal(write_n(st, "new", 10, NULL), SLUICE_OK);
    plugin->api->close(st);

    const char *tags[] = {"old", "old", "old", "new"};
    size_t counts[] = {50, 50, 50, 10};
    char *want = lines_of(tags, counts, 4);
    expect_archive(path, want);
    free(want);
}

/* A text log at the path is not an archive: open() refuses it, naming it,
 * and not a byte of it changes. A scan of a file corrupt inside says the
 * same and cuts nothing either. */
static void test_not_zstd_refused_untouched(void **state)
{
    char path[512];
    path_in(path, sizeof path, "text.log");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char *text = "Nov 22 10:00:00 host app: a text log\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct conf c;
    conf_init(&c, path);
    void *st = NULL;
    char err[512] = "";
    host = *sl_plugin_host();
    assert_true(plugin->api->open(&host, sl_plugin_config(&c.o), &st, err, sizeof err) < 0);
    assert_non_null(strstr(err, "is not a zstd archive (from byte 0 of 37"));
    assert_int_equal(size_of(path), 37);

    char arc[512];
    path_in(arc, sizeof arc, "corrupt.zst");
    size_t whole = put_frames(arc, "x", 100, 2);
    fd = open(arc, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "garbage!", 8), 8);
    close(fd);
    off_t size, w;
    const char *call;
    fd = open(arc, O_RDONLY);
    assert_int_equal(arc_scan(fd, &size, &w, &call), -EILSEQ);
    close(fd);
    assert_int_equal(w, whole);
}
/* }=== */

/* {=== batches */
/* Messages received on both sides of 10:00 in one batch: the 09 file
 * gets the first part as a whole frame and is closed, the 10 file the
 * rest; each decodes to its part, in order. */
static void test_batch_split_at_hour(void **state)
{
    char tmpl[512], p9[512], p10[512];
    path_in(tmpl, sizeof tmpl, "split/{date}-{hour}.zst");
    path_in(p9, sizeof p9, "split/2026-11-22-09.zst");
    path_in(p10, sizeof p10, "split/2026-11-22-10.zst");
    struct conf c;
    conf_init(&c, tmpl);
    void *st = open_ok(&c);
    int64_t times[20];
    for (size_t i = 0; i < 20; i++)
        times[i] = T_BEFORE_HOUR + (int64_t)(i / 5); /* 58, 59 | 00, 01 */
    assert_int_equal(write_n(st, "s", 20, times), SLUICE_OK);
    assert_true(size_of(p9) > 0); /* the first file is finished at the split */
    assert_int_equal(counter(st, "frames"), 1);
    plugin->api->close(st);

    char *all = lines_of((const char *[]){"s"}, (size_t[]){20}, 1);
    char *cut = all;
    for (int k = 0; k < 10; k++)
        cut = strchr(cut, '\n') + 1;
    char first[4096];
    snprintf(first, sizeof first, "%.*s", (int)(cut - all), all);
    expect_archive(p9, first);
    expect_archive(p10, cut);
    free(all);
}

static struct rlimit saved_fsize;
static void (*saved_xfsz)(int);

static void fsize_limit(rlim_t limit)
{
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    saved_xfsz = signal(SIGXFSZ, SIG_IGN);
    struct rlimit low = {.rlim_cur = limit, .rlim_max = saved_fsize.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
}

static void fsize_restore(void)
{
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    signal(SIGXFSZ, saved_xfsz);
}

/* A batch big enough that zstd emits blocks while it is fed, into a file
 * that stops growing at 1000 bytes (EFBIG): RETRY, nothing of it counts
 * as written; the retry writes the rest without feeding the batch again
 * (bytes_in is one batch's), and the file holds it once. */
static void test_failed_write_retried_not_fed_twice(void **state)
{
    char path[512];
    path_in(path, sizeof path, "retry.zst");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    fsize_limit(1000);
    assert_int_equal(write_n(st, "r", 8000, NULL), SLUICE_RETRY);
    assert_int_equal(plugin->api->progress(st), 0);
    assert_int_equal(write_n(st, "r", 8000, NULL), SLUICE_RETRY);
    fsize_restore();
    assert_true(log_has("failed (27: File too large), will retry"));
    unsigned long long in = counter(st, "bytes_in");
    assert_int_equal(write_n(st, "r", 8000, NULL), SLUICE_OK);
    assert_int_equal(counter(st, "bytes_in"), in);
    assert_true(log_has("works again"));
    plugin->api->close(st);
    char *want = lines_of((const char *[]){"r"}, (size_t[]){8000}, 1);
    assert_int_equal(in, strlen(want));
    expect_archive(path, want);
    free(want);
}

/* The daemon gives the failing batch up (a reload offers it to the new
 * instance): none of it may reach the file, so the frame under way is
 * dropped and the file cut back to its last whole frame; the next batch
 * is written after that. */
static void test_abandon_keeps_batch_out(void **state)
{
    char path[512];
    path_in(path, sizeof path, "abandon.zst");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    assert_int_equal(write_n(st, "a", 10, NULL), SLUICE_OK);
    assert_int_equal(plugin->api->flush(st), SLUICE_OK); /* one whole frame */
    off_t whole = size_of(path);
    fsize_limit((rlim_t)whole + 500);
    assert_int_equal(write_n(st, "lost", 8000, NULL), SLUICE_RETRY);
    fsize_restore();
    assert_true(size_of(path) > whole); /* part of the frame is in the file */
    plugin->api->abandon(st);
    assert_int_equal(size_of(path), whole);
    assert_int_equal(counter(st, "frames_lost"), 1);
    assert_int_equal(write_n(st, "b", 10, NULL), SLUICE_OK);
    plugin->api->close(st);
    const char *tags[] = {"a", "b"};
    size_t counts[] = {10, 10};
    char *want = lines_of(tags, counts, 2);
    expect_archive(path, want);
    free(want);
}

/* The archive is deleted between two frames: the next frame goes to a new
 * file at the path, which is a whole archive of its own. */
static void test_deleted_file_created_anew(void **state)
{
    char path[512];
    path_in(path, sizeof path, "gone/del.zst");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    assert_int_equal(write_n(st, "d1", 10, NULL), SLUICE_OK);
    assert_int_equal(plugin->api->flush(st), SLUICE_OK);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/gone'", tmpdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(write_n(st, "d2", 10, NULL), SLUICE_OK);
    assert_true(log_has("was deleted while open"));
    plugin->api->close(st);
    char *want = lines_of((const char *[]){"d2"}, (size_t[]){10}, 1);
    expect_archive(path, want);
    free(want);
}

/* A frame ends once flush_interval passed, at the next tick; counters
 * count frames, bytes in and out, files. */
static void test_tick_ends_frame_counters(void **state)
{
    char path[512];
    path_in(path, sizeof path, "tick.zst");
    struct conf c;
    conf_init(&c, path);
    conf_add(&c, (struct sl_kv){.key = "flush_interval", .type = SL_KV_STRING, .str = "300ms"});
    conf_add(&c, (struct sl_kv){.key = "level", .type = SL_KV_INT, .num = 5});
    void *st = open_ok(&c);
    assert_int_equal(write_n(st, "t", 100, NULL), SLUICE_OK);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    assert_int_equal(counter(st, "frames"), 0);
    assert_int_equal(size_of(path), -1); /* no file before its first bytes */
    usleep(320 * 1000);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    assert_int_equal(counter(st, "frames"), 1);
    assert_int_equal(counter(st, "files"), 1);
    assert_int_equal(counter(st, "bytes_out"), (unsigned long long)size_of(path));
    char *want = lines_of((const char *[]){"t"}, (size_t[]){100}, 1);
    assert_int_equal(counter(st, "bytes_in"), strlen(want));
    expect_archive(path, want); /* readable before close */
    plugin->api->close(st);
    free(want);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_expands_date_and_hour),
        cmocka_unit_test(test_template_local_half_hour_zone),
        cmocka_unit_test(test_template_refuses_other_placeholders),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_torn_frame_cut_at_start),
        cmocka_unit_test(test_not_zstd_refused_untouched),
        cmocka_unit_test(test_batch_split_at_hour),
        cmocka_unit_test(test_failed_write_retried_not_fed_twice),
        cmocka_unit_test(test_abandon_keeps_batch_out),
        cmocka_unit_test(test_deleted_file_created_anew),
        cmocka_unit_test(test_tick_ends_frame_counters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
