/* SPDX-License-Identifier: MIT */
/* test_perproc.c: the perproc plugin (plugins/perproc/) loaded from the
 * build tree and driven through the real host table: --check's reasons,
 * lines grouped by file through an LRU smaller than the batch's files, a
 * symlink planted under dir (the messages go to %refused.log, nothing
 * outside changes), a write failing partway (RETRY, progress(), the same
 * batch finished with no line twice), idle_close from tick(), and the
 * counters stats() fills. */
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
#include <unistd.h>

#include <cmocka.h>

#include "format/format.h"
#include "output/plugin.h"
#include "parse/parse.h"

#ifndef BUILD_PLUGIN_DIR
#error "BUILD_PLUGIN_DIR: the build tree's plugins/ folder"
#endif

/* {=== helpers */
static char tmpdir[256];
static struct sl_plugin *plugin;

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-perproc-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    char *v[] = {BUILD_PLUGIN_DIR};
    struct sl_strlist search = {v, 1};
    char err[1024] = "";
    if (sl_plugin_load("perproc", NULL, &search, &plugin, err, sizeof err) != 0)
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

struct conf {
    struct sl_output_conf o;
    struct sl_kv kv[12];
    char dir[512];
};

static void conf_init(struct conf *c, const char *name)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s/logs", tmpdir);
    c->o = (struct sl_output_conf){.name = "apps", .type = "perproc", .kv = c->kv,
                                   .file = "sluice.lua", .line = 3};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "dir", .type = SL_KV_STRING, .str = c->dir};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "name", .type = SL_KV_STRING, .str = (char *)name};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "format", .type = SL_KV_STRING, .str = "{msg}"};
}

static void conf_add(struct conf *c, struct sl_kv kv)
{
    assert_true(c->o.nkv < 12);
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
    vsnprintf(logged[nlogged], sizeof logged[0], fmt, ap);
    va_end(ap);
    nlogged++;
}

static struct sluice_host host;

static const struct sluice_host *fake_host(void)
{
    host = *sl_plugin_host();
    host.log = record_log;
    nlogged = 0;
    return &host;
}

static void *open_ok(struct conf *c)
{
    void *st = NULL;
    char err[512] = "";
    if (plugin->api->open(fake_host(), sl_plugin_config(&c->o), &st, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    return st;
}

/* check()'s reasons, '\n'-separated. */
static void check_says(struct conf *c, const char *want)
{
    char err[2048] = "";
    assert_true(plugin->api->check(fake_host(), sl_plugin_config(&c->o), err, sizeof err) < 0);
    if (strstr(err, want) == NULL)
        fail_msg("check said \"%s\", not \"%s\"", err, want);
}

/* A batch of n messages from tags[i] ("app[pid]"), each with text
 * "<tag> <seq>"; returns write()'s status. */
static int write_tags(void *st, const char *const *tags, size_t n, int seq0)
{
    struct sl_msg *m[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        char raw[512];
        snprintf(raw, sizeof raw, "<13>Nov 22 10:00:00 host %s: %s %d", tags[i], tags[i],
                 seq0 + (int)i);
        m[i] = sl_msg_new_heap(raw, strlen(raw), "test");
        assert_non_null(m[i]);
        struct sl_parse_ctx ctx = {.hostname = {"h", 1}, .now = 1795348800};
        sl_parse(m[i], &ctx);
    }
    int rc = plugin->api->write(st, (const sluice_msg *const *)m, n);
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(m[i]);
    return rc;
}

static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    char *text = calloc(1, 65536);
    assert_non_null(text);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        assert_true(read(fd, text, 65535) >= 0);
        close(fd);
    }
    return text;
}

static void expect_file(const char *rel, const char *want)
{
    char *got = slurp(rel);
    if (strcmp(got, want) != 0)
        fail_msg("%s holds \"%s\", not \"%s\"", rel, got, want);
    free(got);
}

static unsigned long long counter(void *st, const char *name)
{
    unsigned long long v[SLUICE_MAX_COUNTERS] = {0};
    plugin->api->stats(st, v);
    for (size_t i = 0; plugin->api->counters[i] != NULL; i++) {
        if (strcmp(plugin->api->counters[i], name) == 0)
            return v[i];
    }
    fail_msg("no counter %s", name);
    return 0;
}
/* }=== */

/* {=== check */
static void test_check_reasons(void **state)
{
    struct conf c;
    conf_init(&c, "{app_nam}/{pid}.log");
    check_says(&c, "key \"name\": unknown field {app_nam}, did you mean {app_name}?");
    conf_init(&c, "/{app_name}.log");
    check_says(&c, "a component is empty, \".\" or \"..\"");
    conf_init(&c, "../{app_name}.log");
    check_says(&c, "a component is empty, \".\" or \"..\"");
    conf_init(&c, "{app_name}{procid}.log");
    check_says(&c, "two fields with nothing between them");
    conf_init(&c, "{app_name}x{procid}.log");
    check_says(&c, "starts with 'x'");
    conf_init(&c, "all.log");
    check_says(&c, "has no {field}");
    conf_init(&c, "{app_name}/{pid}");
    conf_add(&c, (struct sl_kv){.key = "rotate.size", .type = SL_KV_STRING, .str = "16M"});
    check_says(&c, "with rotate, the name must end in text that does not end in a digit");
    conf_init(&c, "{app_name}.log");
    conf_add(&c, (struct sl_kv){.key = "max_open", .type = SL_KV_INT, .num = 0});
    conf_add(&c, (struct sl_kv){.key = "idle_close", .type = SL_KV_STRING, .str = "5 minutes"});
    check_says(&c, "key \"max_open\" must be an integer from 1 to 65536");
    check_says(&c, "key \"idle_close\" must be a duration");
    conf_init(&c, "{app_name}.log");
    c.kv[0].str = "logs/{app_name}";
    check_says(&c, "put the {fields} in key \"name\"");
    conf_init(&c, "{app_name}.log");
    c.kv[0].key = "directory";
    check_says(&c, "key \"dir\" is required");
    conf_init(&c, "{app_name}-{procid}-{fields.user}.log");
    char err[512] = "";
    assert_int_equal(plugin->api->check(fake_host(), sl_plugin_config(&c.o), err, sizeof err),
                     0);
}
/* }=== */

/* {=== writing */
/* 6 files through max_open = 2, in one batch and interleaved: each file
 * has its own lines, in order, and the LRU closed and opened as needed. */
static void test_grouped_through_small_lru(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}/{procid}.log");
    conf_add(&c, (struct sl_kv){.key = "max_open", .type = SL_KV_INT, .num = 2});
    void *st = open_ok(&c);
    const char *tags[] = {"a[1]", "b[2]", "a[1]", "c[3]", "d[4]", "a[1]", "e[5]", "f[6]",
                          "b[2]", "..[7]", "a/b[8]"};
    assert_int_equal(write_tags(st, tags, 11, 0), SLUICE_OK);
    assert_int_equal(write_tags(st, tags, 2, 100), SLUICE_OK);
    expect_file("logs/a/1.log", "a[1] 0\na[1] 2\na[1] 5\na[1] 100\n");
    expect_file("logs/b/2.log", "b[2] 1\nb[2] 8\nb[2] 101\n");
    expect_file("logs/f/6.log", "f[6] 7\n");
    expect_file("logs/%2E./7.log", "..[7] 9\n");
    assert_true(counter(st, "open_files") <= 2);
    assert_true(counter(st, "evictions") >= 6);
    assert_int_equal(counter(st, "opens"), counter(st, "evictions") + counter(st, "open_files"));
    assert_int_equal(counter(st, "refused_names"), 0);
    plugin->api->close(st);
}

/* logs/evil -> ../outside: evil's messages go to %refused.log, counted and
 * logged once; outside stays empty. */
static void test_symlink_refused(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}/{procid}.log");
    void *st = open_ok(&c);
    char p[1024], t[1024];
    snprintf(p, sizeof p, "%s/logs/evil", tmpdir);
    snprintf(t, sizeof t, "%s/outside", tmpdir);
    assert_int_equal(mkdir(t, 0755), 0);
    assert_int_equal(symlink("../outside", p), 0);
    const char *tags[] = {"evil[1]", "good[2]", "evil[1]"};
    assert_int_equal(write_tags(st, tags, 3, 0), SLUICE_OK);
    expect_file("logs/%refused.log", "evil[1] 0\nevil[1] 2\n");
    expect_file("logs/good/2.log", "good[2] 1\n");
    char *out = slurp("outside/1.log");
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(counter(st, "refused_names"), 2);
    assert_int_equal(counter(st, "refused_lost"), 0);
    assert_int_equal(nlogged, 1);
    assert_non_null(strstr(logged[0], "evil/1.log\" failed (40: Too many levels of symbolic "
                                      "links): name refused, its messages go to"));
    plugin->api->close(st);
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

/* A file that cannot take all its lines (EFBIG past RLIMIT_FSIZE): RETRY,
 * progress() counts the messages before the first unwritten line, and the
 * same batch again, once the limit is raised, writes the rest: every line
 * once. */
static void test_retry_keeps_what_was_written(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}.log");
    void *st = open_ok(&c);
    const char *tags[] = {"x", "yy", "x", "yy", "x"}; /* "x N\n" is 4 bytes, "yy N\n" 5 */
    fsize_limit(9); /* x.log takes 2 lines and a byte; yy.log 1 line and 4 bytes */
    assert_int_equal(write_tags(st, tags, 5, 0), SLUICE_RETRY);
    assert_int_equal(write_tags(st, tags, 5, 0), SLUICE_RETRY);
    /* x's lines 0 and 2 are whole, yy's 1 is, so messages 0..2: 3. */
    assert_int_equal(plugin->api->progress(st), 3);
    fsize_restore();
    assert_int_equal(write_tags(st, tags, 5, 0), SLUICE_OK);
    expect_file("logs/x.log", "x 0\nx 2\nx 4\n");
    expect_file("logs/yy.log", "yy 1\nyy 3\n");
    assert_non_null(strstr(logged[0], "failed (27: File too large), will retry"));
    assert_non_null(strstr(logged[nlogged - 1], "works again"));
    /* abandon(): the next batch is new, nothing of the old one kept. */
    fsize_limit(13);
    assert_int_equal(write_tags(st, tags, 1, 10), SLUICE_RETRY);
    plugin->api->abandon(st);
    fsize_restore();
    assert_int_equal(write_tags(st, tags + 1, 1, 20), SLUICE_OK);
    expect_file("logs/yy.log", "yy 1\nyy 3\nyy 20\n");
    plugin->api->close(st);
}

/* Files idle for idle_close are closed by tick(); the next message opens
 * the file again and appends. */
static void test_idle_close(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}.log");
    conf_add(&c, (struct sl_kv){.key = "idle_close", .type = SL_KV_STRING, .str = "50ms"});
    void *st = open_ok(&c);
    const char *tags[] = {"p", "q"};
    assert_int_equal(write_tags(st, tags, 2, 0), SLUICE_OK);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    assert_int_equal(counter(st, "open_files"), 2);
    usleep(80 * 1000);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    assert_int_equal(counter(st, "open_files"), 0);
    assert_int_equal(counter(st, "idle_closes"), 2);
    assert_int_equal(write_tags(st, tags, 1, 5), SLUICE_OK);
    expect_file("logs/p.log", "p 0\np 5\n");
    assert_int_equal(counter(st, "opens"), 3);
    plugin->api->close(st);
}

/* A file deleted under us is opened anew; one whose last line was torn
 * gets a '\n' first; rotation shifts the file's old ones in its own
 * directory. */
static void test_deleted_torn_rotated(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}/f.log");
    conf_add(&c, (struct sl_kv){.key = "rotate.size", .type = SL_KV_INT, .num = 4096});
    conf_add(&c, (struct sl_kv){.key = "rotate.keep", .type = SL_KV_INT, .num = 2});
    void *st = open_ok(&c);
    char p[1024];
    snprintf(p, sizeof p, "%s/logs/t", tmpdir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/logs/t/f.log", tmpdir);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    assert_int_equal(write(fd, "torn", 4), 4);
    close(fd);
    const char *tags[] = {"t"};
    assert_int_equal(write_tags(st, tags, 1, 0), SLUICE_OK);
    expect_file("logs/t/f.log", "torn\nt 0\n");
    assert_int_equal(unlink(p), 0);
    usleep(1100 * 1000); /* the deletion check runs once a second per file */
    assert_int_equal(write_tags(st, tags, 1, 1), SLUICE_OK);
    expect_file("logs/t/f.log", "t 1\n");
    assert_int_equal(counter(st, "reopened_deleted"), 1);
    fd = open(p, O_WRONLY | O_APPEND);
    char big[4096];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\n';
    assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
    close(fd);
    assert_int_equal(write_tags(st, tags, 1, 2), SLUICE_OK);
    expect_file("logs/t/f.log", "t 2\n");
    assert_int_equal(counter(st, "rotations"), 1);
    char *old = slurp("logs/t/f.log.1");
    assert_int_equal(strlen(old), 4 + sizeof big);
    free(old);
    plugin->api->close(st);
}
/* rotate.every with dated names, as the file output: a file last written
 * yesterday is renamed to yesterday's name at its next line, and keep
 * holds the dated files to the newest one. compress is refused. */
static void test_rotated_by_day_with_dated_names(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}.log");
    conf_add(&c, (struct sl_kv){.key = "rotate.every", .type = SL_KV_STRING, .str = "day"});
    conf_add(&c, (struct sl_kv){.key = "rotate.suffix", .type = SL_KV_STRING, .str = "date"});
    conf_add(&c, (struct sl_kv){.key = "rotate.keep", .type = SL_KV_INT, .num = 1});
    char p[1024], old[1200];
    snprintf(p, sizeof p, "%s/logs", tmpdir);
    assert_int_equal(mkdir(p, 0755), 0);
    const time_t day = 86400;
    time_t now = time(NULL);
    for (int back = 3; back >= 2; back--) { /* two older dated files: keep = 1 deletes one */
        struct tm tm;
        time_t t = now - back * day;
        localtime_r(&t, &tm);
        snprintf(old, sizeof old, "%s/logs/d.log-%04d-%02d-%02d", tmpdir, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday);
        int fd = open(old, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        close(fd);
        struct timespec ts[2] = {{t, 0}, {t, 0}};
        assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
    }
    snprintf(p, sizeof p, "%s/logs/d.log", tmpdir);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    assert_int_equal(write(fd, "yesterday\n", 10), 10);
    close(fd);
    struct timespec ts[2] = {{now - day, 0}, {now - day, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    void *st = open_ok(&c);
    const char *tags[] = {"d"};
    assert_int_equal(write_tags(st, tags, 1, 0), SLUICE_OK);
    expect_file("logs/d.log", "d 0\n");
    assert_int_equal(counter(st, "rotations"), 1);
    struct tm tm;
    time_t y = now - day;
    localtime_r(&y, &tm);
    char rel[128];
    snprintf(rel, sizeof rel, "logs/d.log-%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    expect_file(rel, "yesterday\n");
    /* keep = 1: only yesterday's dated file is left */
    assert_int_equal(access(old, F_OK), -1);
    snprintf(p, sizeof p, "%s", old);
    plugin->api->close(st);

    conf_add(&c, (struct sl_kv){.key = "rotate.compress", .type = SL_KV_STRING, .str = "zstd"});
    check_says(&c, "perproc does not compress its old files");
}

/* A file deleted under us and replaced by a symlink: the next look (once
 * a second) refuses the name, its line goes to %refused.log, and the file
 * is dropped from the cache rather than written into unseen. */
static void test_deleted_then_linked(void **state)
{
    struct conf c;
    conf_init(&c, "{app_name}.log");
    void *st = open_ok(&c);
    const char *tags[] = {"v"};
    assert_int_equal(write_tags(st, tags, 1, 0), SLUICE_OK);
    char p[1024], t[1024];
    snprintf(p, sizeof p, "%s/logs/v.log", tmpdir);
    snprintf(t, sizeof t, "%s/elsewhere", tmpdir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink(t, p), 0);
    usleep(1100 * 1000);
    assert_int_equal(write_tags(st, tags, 1, 1), SLUICE_OK);
    expect_file("logs/%refused.log", "v 1\n");
    char *e = slurp("elsewhere");
    assert_string_equal(e, "");
    free(e);
    assert_int_equal(counter(st, "refused_names"), 1);
    assert_int_equal(counter(st, "open_files"), 1); /* the fallback alone */
    plugin->api->close(st);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouped_through_small_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_keeps_what_was_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_torn_rotated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotated_by_day_with_dated_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_then_linked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
