/* SPDX-License-Identifier: MIT */
/* test_file_output.c: the file plugin (plugins/file/file.c) against what a
 * hostile run found: symlinks at the path, a torn last line, a directory
 * deleted under it, a file past RLIMIT_FSIZE, a write error partway
 * through a batch, and values --check let pass.
 * Loaded from the build tree and driven through the real host table with
 * a log that records, as test_plugin.c does. */
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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
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
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-file-output-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    char *v[] = {BUILD_PLUGIN_DIR};
    struct sl_strlist search = {v, 1};
    char err[1024] = "";
    if (sl_plugin_load("file", NULL, &search, &plugin, err, sizeof err) != 0)
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

/* An output's settings built by hand, as lua_config.c would. */
struct conf {
    struct sl_output_conf o;
    struct sl_kv kv[16];
    char path[512];
};

static void conf_init(struct conf *c, const char *path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->o = (struct sl_output_conf){.name = "out", .type = "file", .kv = c->kv,
                                   .file = "sluice.lua", .line = 7};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "path", .type = SL_KV_STRING, .str = c->path};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "format", .type = SL_KV_STRING, .str = "{msg}"};
}

static void conf_add(struct conf *c, struct sl_kv kv)
{
    assert_true(c->o.nkv < 16);
    c->kv[c->o.nkv++] = kv;
}

static char logged[8][512];
static int nlogged;

static void record_log(const sluice_config *cfg, int level, const char *fmt, ...)
{
    if (nlogged >= 8)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(logged[nlogged], sizeof logged[0], "%d ", level);
    vsnprintf(logged[nlogged] + n, sizeof logged[0] - (size_t)n, fmt, ap);
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
    int rc = plugin->api->open(fake_host(), sl_plugin_config(&c->o), &st, err, sizeof err);
    if (rc != 0)
        fail_msg("open: %s", err);
    return st;
}

static void open_fails(struct conf *c, const char *want)
{
    void *st = NULL;
    char err[512] = "";
    assert_true(plugin->api->open(fake_host(), sl_plugin_config(&c->o), &st, err, sizeof err) <
                0);
    assert_string_equal(err, want);
}

/* Writes texts[0..n) as one batch, one message each; returns the status. */
static int batch_status(void *st, const char *const *texts, size_t n)
{
    struct sl_msg *m[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        char raw[256];
        snprintf(raw, sizeof raw, "<13>Nov 22 10:00:00 host app: %s", texts[i]);
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

/* The same, expecting status want. */
static void write_batch(void *st, const char *const *texts, size_t n, int want)
{
    assert_int_equal(batch_status(st, texts, n), want);
}

/* Writes one message whose text is `text`; expects status want. */
static void write_one(void *st, const char *text, int want)
{
    write_batch(st, &text, 1, want);
}

static void put_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void expect_file(const char *path, const char *want)
{
    char got[4096] = "";
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        assert_true(read(fd, got, sizeof got - 1) >= 0);
        close(fd);
    }
    assert_string_equal(got, want);
}

/* The check() errors of c, joined by '|'. */
static void expect_check_errors(struct conf *c, const char *want)
{
    struct sl_errors errs = {0};
    sl_plugin_check(plugin, &c->o, &errs);
    char got[2048] = "";
    for (size_t i = 0; i < errs.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i > 0 ? "|" : "",
                 errs.v[i]);
    sl_errors_clear(&errs);
    assert_string_equal(got, want);
}
/* }=== */

/* {=== symlinks */
/* A symlink at the path, even one we own, is not followed: open() fails
 * naming the call, and the file it points at is untouched. follow_symlinks
 * allows it. */
static void test_file_symlink_refused_at_open(void **state)
{
    char precious[512], link[512], want[700];
    path_in(precious, sizeof precious, "precious");
    path_in(link, sizeof link, "planted.log");
    put_file(precious, "secret\n");
    assert_int_equal(symlink(precious, link), 0);
    struct conf c;
    conf_init(&c, link);
    snprintf(want, sizeof want, "open() \"%s\" failed (40: Too many levels of symbolic links)",
             link);
    open_fails(&c, want);
    expect_file(precious, "secret\n");

    conf_add(&c, (struct sl_kv){.key = "follow_symlinks", .type = SL_KV_BOOL, .num = 1});
    void *st = open_ok(&c);
    write_one(st, "allowed", SLUICE_OK);
    plugin->api->close(st);
    expect_file(precious, "secret\nallowed\n");
}

/* The same at reopen: a symlink planted after logrotate's rename is
 * refused, logged, and the old file goes on. */
static void test_file_symlink_refused_at_reopen(void **state)
{
    char path[512], rotated[600], precious[512];
    path_in(path, sizeof path, "rot.log");
    path_in(precious, sizeof precious, "precious2");
    snprintf(rotated, sizeof rotated, "%s.1", path);
    put_file(precious, "secret\n");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    write_one(st, "one", SLUICE_OK);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(symlink(precious, path), 0);
    assert_int_equal(plugin->api->reopen(st), SLUICE_RETRY);
    assert_int_equal(nlogged, 1);
    assert_non_null(strstr(logged[0], "(40: Too many levels of symbolic links), still writing "
                                      "to the old file"));
    write_one(st, "two", SLUICE_OK);
    plugin->api->close(st);
    expect_file(precious, "secret\n");
    expect_file(rotated, "one\ntwo\n");
}
/* }=== */

/* {=== torn lines, deleted files, EFBIG */
/* A file left without its last '\n' (kill -9) gets one before our first
 * line, at open and at reopen, so the torn line is not joined to ours. */
static void test_file_torn_line_completed(void **state)
{
    char path[512], other[512];
    path_in(path, sizeof path, "torn.log");
    path_in(other, sizeof other, "torn2.log");
    put_file(path, "{\"msg\":\"cut sh");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    write_one(st, "first", SLUICE_OK);
    write_one(st, "second", SLUICE_OK);
    expect_file(path, "{\"msg\":\"cut sh\nfirst\nsecond\n");

    put_file(other, "whole\nhalf");
    snprintf(c.path, sizeof c.path, "%s", other);
    assert_int_equal(plugin->api->reopen(st), SLUICE_OK);
    write_one(st, "third", SLUICE_OK);
    plugin->api->close(st);
    expect_file(other, "whole\nhalf\nthird\n");

    /* A file that ends well is left as it is. */
    st = open_ok(&c);
    write_one(st, "fourth", SLUICE_OK);
    plugin->api->close(st);
    expect_file(other, "whole\nhalf\nthird\nfourth\n");
}

/* A reload opens the changed output's new instance while the old one is
 * still writing to the same file: a line it has half written then is not
 * torn, and is finished by the time the new instance writes. The end is
 * looked at before the first write, not at open, or the new instance would
 * add a line of its own (an empty one). */
static void test_file_end_is_looked_at_when_writing_not_at_open(void **state)
{
    char path[512];
    path_in(path, sizeof path, "reload.log");
    put_file(path, "whole\nhalf of a li");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c); /* the new instance, opened aside */
    FILE *f = fopen(path, "a"); /* the old instance finishes its line */
    assert_non_null(f);
    fputs("ne\n", f);
    fclose(f);
    write_one(st, "next", SLUICE_OK);
    plugin->api->close(st);
    expect_file(path, "whole\nhalf of a line\nnext\n");
}

/* rm -rf of the output's directory: the next batch notices (st_nlink 0),
 * says so once, recreates the directory and file, and lands there. */
static void test_file_deleted_directory_recreated(void **state)
{
    char dir[512], path[600], cmd[700];
    path_in(dir, sizeof dir, "gone/deep");
    snprintf(path, sizeof path, "%s/out.log", dir);
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    write_one(st, "before", SLUICE_OK);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/gone'", tmpdir);
    assert_int_equal(system(cmd), 0);
    write_one(st, "after", SLUICE_OK);
    write_one(st, "later", SLUICE_OK);
    assert_int_equal(nlogged, 1);
    char want[700];
    snprintf(want, sizeof want, "4 \"%s\" was deleted while open, opening it anew", path);
    assert_string_equal(logged[0], want);
    expect_file(path, "after\nlater\n");

    /* When the path cannot be made again, the batch waits (RETRY), said
     * once; when it can, it is written. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s/gone' && touch '%s/gone'", tmpdir, tmpdir);
    assert_int_equal(system(cmd), 0);
    write_one(st, "waits", SLUICE_RETRY);
    write_one(st, "waits", SLUICE_RETRY);
    assert_int_equal(nlogged, 3);
    assert_non_null(strstr(logged[2], "(20: Not a directory), will retry"));
    snprintf(cmd, sizeof cmd, "rm -f '%s/gone'", tmpdir);
    assert_int_equal(system(cmd), 0);
    write_one(st, "waits", SLUICE_OK);
    plugin->api->close(st);
    expect_file(path, "waits\n");
}

/* Past RLIMIT_FSIZE write() fails with EFBIG (SIGXFSZ ignored, as sluiced
 * does): an error that may pass, so RETRY with the rest kept, and once the
 * limit is raised the batch is written whole, once. */
static void test_file_efbig_retries(void **state)
{
    char path[512];
    path_in(path, sizeof path, "big.log");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    struct rlimit saved, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    low = (struct rlimit){.rlim_cur = 8, .rlim_max = saved.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    write_one(st, "0123456789", SLUICE_RETRY);
    write_one(st, "0123456789", SLUICE_RETRY);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old);
    assert_int_equal(nlogged, 1);
    assert_non_null(strstr(logged[0], "failed (27: File too large), will retry"));
    write_one(st, "0123456789", SLUICE_OK);
    plugin->api->close(st);
    expect_file(path, "0123456789\n");
}
/* }=== */

/* {=== write errors partway through a batch */
static struct rlimit saved_fsize;
static void (*saved_xfsz)(int);

/* Files of this process end at `limit` bytes (EFBIG past it, SIGXFSZ
 * ignored as sluiced does) until fsize_restore(). */
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

/* A file that refuses to grow once sealed (EPERM from write(2)), which
 * is what a read-only file system or an immutable file give, without
 * root: a memfd, reached through /proc/self/fd. -1 when the kernel has
 * no memfd. */
static int sealable_file(char *path, size_t len)
{
    int fd = memfd_create("sluice-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0)
        snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

/* The bytes of fd from its start, as a string. */
static void expect_fd(int fd, const char *want)
{
    char got[4096] = "";
    assert_true(pread(fd, got, sizeof got - 1, 0) >= 0);
    assert_string_equal(got, want);
}

/* A write error partway through a batch, EFBIG and then one that does not
 * pass by itself (EPERM: a read-only file system, an immutable file), is
 * answered RETRY with the written part kept: for EPERM the plugin answered
 * FATAL and forgot it, so the daemon's retry wrote that part twice. The
 * streak is logged once, whatever its errors, and its end once. */
static void test_file_error_partway_writes_each_line_once(void **state)
{
    static const char *const texts[] = {"line one", "line two", "line three"};
    char path[64], rest[512];
    int mfd = sealable_file(path, sizeof path);
    if (mfd < 0)
        skip(); /* cmocka prints it as skipped */
    path_in(rest, sizeof rest, "rest.log");
    struct conf c;
    conf_init(&c, path);
    conf_add(&c, (struct sl_kv){.key = "follow_symlinks", .type = SL_KV_BOOL, .num = 1});
    void *st = open_ok(&c);
    fsize_limit(12); /* "line one\n" and 3 bytes of "line two" */
    int rc = batch_status(st, texts, 3);
    fsize_restore(); /* before any assert: cmocka's report must not hit the limit */
    assert_int_equal(rc, SLUICE_RETRY);
    assert_int_equal(fcntl(mfd, F_ADD_SEALS, F_SEAL_GROW), 0);
    write_batch(st, texts, 3, SLUICE_RETRY);
    write_batch(st, texts, 3, SLUICE_RETRY);
    /* Writes work again in a new file (logrotate's rename, then reopen). */
    snprintf(c.path, sizeof c.path, "%s", rest);
    assert_int_equal(plugin->api->reopen(st), SLUICE_OK);
    write_batch(st, texts, 3, SLUICE_OK);
    plugin->api->close(st);
    expect_fd(mfd, "line one\nlin");
    expect_file(rest, "e two\nline three\n");
    close(mfd);
    /* A memfd has no name (st_nlink 0): taken for a deleted file, once. */
    assert_int_equal(nlogged, 3);
    assert_non_null(strstr(logged[0], "was deleted while open"));
    assert_non_null(strstr(logged[1], "failed (27: File too large), will retry"));
    assert_non_null(strstr(logged[2], "works again"));
}

/* progress() after RETRY: the lines written whole, whether the write
 * stopped inside a line or at its end; the daemon counts only the others
 * as lost when it gives the batch up at shutdown. */
static void test_file_progress_counts_whole_lines(void **state)
{
    static const char *const texts[] = {"line one", "line two", "line three"};
    static const struct { rlim_t limit; size_t done; } steps[] = {
        {4, 0}, {12, 1}, {18, 2}, {28, 2},
    };
    assert_true(SLUICE_PLUGIN_HAS(plugin->api, progress));
    assert_non_null(plugin->api->progress);
    char path[512];
    path_in(path, sizeof path, "progress.log");
    struct conf c;
    conf_init(&c, path);
    void *st = open_ok(&c);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fsize_limit(steps[i].limit);
        int rc = batch_status(st, texts, 3);
        fsize_restore();
        assert_int_equal(rc, SLUICE_RETRY);
        assert_int_equal(plugin->api->progress(st), steps[i].done);
    }
    write_batch(st, texts, 3, SLUICE_OK);
    plugin->api->close(st);
    expect_file(path, "line one\nline two\nline three\n");
}
/* }=== */

/* {=== --check */
/* path = "" passed --check, then read past a 1-byte buffer at start. */
static void test_file_check_refuses_empty_path(void **state)
{
    struct conf c;
    conf_init(&c, "");
    expect_check_errors(&c, "sluice.lua:7: output \"out\" (file): key \"path\" must not be "
                        "empty");
    open_fails(&c, "key \"path\" must not be empty");
}

/* A log file with set-uid, set-gid or sticky bits (or bits above 07777)
 * passed --check; only permission bits may be given. */
static void test_file_check_refuses_special_mode_bits(void **state)
{
    static const char *const bad_modes[] = {"4755", "2640", "1777", "07777", "1000", "17777"};
    struct conf c;
    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
        conf_init(&c, "never.log");
        conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING,
                                    .str = (char *)bad_modes[i]});
        expect_check_errors(&c, "sluice.lua:7: output \"out\" (file): key \"mode\" must be a "
                            "string of octal digits from \"0000\" to \"0777\", such as "
                            "\"0640\" (no set-uid, set-gid or sticky bit)");
    }
    conf_init(&c, "never.log");
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING, .str = "0777"});
    expect_check_errors(&c, "");
    assert_int_equal(access("never.log", F_OK), -1);
}

/* The template check reaches --check through the file plugin, with the
 * output's FILE:LINE. */
static void test_file_check_refuses_unsettable_field_key(void **state)
{
    struct conf c;
    conf_init(&c, "never.log");
    c.kv[1].str = "{fields.a b}";
    expect_check_errors(&c, "sluice.lua:7: output \"out\" (file): {fields.a b} in template can "
                        "never be set: a field key is 1 to 64 letters, digits, '_', '-' or '.'");
}

/* path = "logs/{app_name}.log" passed --check and created a file with
 * that very name: a file output writes one file, and a template there is
 * a mistake to point out. A lone brace, or '}' before '{', is a name. */
static void test_file_check_refuses_template_path(void **state)
{
    static const char want[] = "key \"path\": \"logs/{app_name}.log\" looks like a template, "
                               "but a file output writes one file, named as written: for one "
                               "file per program use type = \"perproc\" with dir and name = "
                               "\"{app_name}.log\", or for files by date type = \"archive\" "
                               "with {date}";
    char line[600];
    struct conf c;
    conf_init(&c, "logs/{app_name}.log");
    snprintf(line, sizeof line, "sluice.lua:7: output \"out\" (file): %s", want);
    expect_check_errors(&c, line);
    open_fails(&c, want);
    assert_int_equal(access("logs", F_OK), -1);
    static const char *const names[] = {"odd{name.log", "odd}name.log", "a}b{c.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        conf_init(&c, names[i]);
        expect_check_errors(&c, "");
    }
}
/* }=== */

/* {=== rotation (rotate = { size, keep }) */
/* Line i as the tests write it: 99 bytes and '\n', so 41 lines pass 4K. */
static void rot_line(char *out, size_t len, int i)
{
    snprintf(out, len, "line %04d %089d", i, 0);
}

static void write_lines(void *st, int from, int to)
{
    for (int i = from; i < to; i++) {
        char text[128];
        rot_line(text, sizeof text, i);
        write_one(st, text, SLUICE_OK);
    }
}

/* The file holds lines [from, to) exactly, whole and in order ("" when
 * from == to: then the file must not exist). */
static void expect_lines(const char *path, int from, int to)
{
    static char got[65536], want[65536];
    got[0] = want[0] = '\0';
    for (int i = from; i < to; i++) {
        char text[128];
        rot_line(text, sizeof text, i);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s\n", text);
    }
    int fd = open(path, O_RDONLY);
    if (from == to) {
        assert_int_equal(fd, -1);
        return;
    }
    assert_true(fd >= 0);
    ssize_t n = read(fd, got, sizeof got - 1);
    assert_true(n >= 0);
    got[n] = '\0';
    close(fd);
    assert_string_equal(got, want);
}

static void rotating_conf(struct conf *c, const char *path, const char *size, long long keep)
{
    conf_init(c, path);
    conf_add(c, (struct sl_kv){.key = "rotate.size", .type = SL_KV_STRING, .str = (char *)size});
    if (keep > 0)
        conf_add(c, (struct sl_kv){.key = "rotate.keep", .type = SL_KV_INT, .num = keep});
}

/* The file passes 4K at its 41st line; the 42nd batch goes to a new file.
 * With keep = 2, the third rotation deletes the first file. */
static void test_file_rotate_by_size_keeps_newest(void **state)
{
    char path[512], old[600];
    path_in(path, sizeof path, "r.log");
    struct conf c;
    rotating_conf(&c, path, "4K", 2);
    void *st = open_ok(&c);
    write_lines(st, 0, 128);
    plugin->api->close(st);
    expect_lines(path, 123, 128);
    snprintf(old, sizeof old, "%s.1", path);
    expect_lines(old, 82, 123);
    snprintf(old, sizeof old, "%s.2", path);
    expect_lines(old, 41, 82);
    snprintf(old, sizeof old, "%s.3", path);
    expect_lines(old, 0, 0);
    assert_int_equal(nlogged, 0);
}

/* A batch is never split across files: one that takes the file past size
 * ends there, and the next batch starts the new file. */
static void test_file_rotate_never_splits_a_batch(void **state)
{
    char path[512], old[600];
    path_in(path, sizeof path, "b.log");
    struct conf c;
    rotating_conf(&c, path, "4K", 0);
    void *st = open_ok(&c);
    write_lines(st, 0, 40); /* 4000 bytes: below 4K */
    char texts[8][128];
    const char *batch[8];
    for (int i = 0; i < 8; i++) {
        rot_line(texts[i], sizeof texts[i], 40 + i);
        batch[i] = texts[i];
    }
    write_batch(st, batch, 8, SLUICE_OK); /* 4800 bytes now, all in one file */
    write_lines(st, 48, 49);
    plugin->api->close(st);
    snprintf(old, sizeof old, "%s.1", path);
    expect_lines(old, 0, 48);
    expect_lines(path, 48, 49);
}

/* A restart (close, open) appends to PATH; a PATH already past size
 * rotates at the first batch; no PATH (a crash between the rename of
 * PATH and the open of the new one) is created. */
static void test_file_rotate_restart_continues_path(void **state)
{
    char path[512], old1[600], old2[600];
    path_in(path, sizeof path, "s.log");
    snprintf(old1, sizeof old1, "%s.1", path);
    snprintf(old2, sizeof old2, "%s.2", path);
    struct conf c;
    rotating_conf(&c, path, "4K", 0);
    void *st = open_ok(&c);
    write_lines(st, 0, 45);
    plugin->api->close(st);
    st = open_ok(&c);
    write_lines(st, 45, 46);
    plugin->api->close(st);
    expect_lines(old1, 0, 41);
    expect_lines(path, 41, 46);

    rotating_conf(&c, path, "8K", 0); /* the same file, a larger size */
    st = open_ok(&c);
    write_lines(st, 46, 90); /* 4900 bytes: below 8K, no rotation */
    plugin->api->close(st);
    expect_lines(path, 41, 90);
    rotating_conf(&c, path, "4K", 0);
    st = open_ok(&c);
    write_lines(st, 90, 91); /* PATH is past 4K: rotated first */
    plugin->api->close(st);
    expect_lines(path, 90, 91);
    expect_lines(old1, 41, 90);
    expect_lines(old2, 0, 41);

    assert_int_equal(unlink(old2), 0);
    assert_int_equal(rename(old1, old2), 0);
    assert_int_equal(rename(path, old1), 0); /* killed before the new open */
    st = open_ok(&c);
    write_lines(st, 91, 92);
    plugin->api->close(st);
    expect_lines(path, 91, 92);
    expect_lines(old1, 90, 91);
    expect_lines(old2, 41, 90);
}

/* A step that fails (a directory where PATH.2 should be deleted) is said
 * once; lines go on to PATH, past size, nothing lost; once the directory
 * is gone, the rotation goes through, said once too. */
static void test_file_rotate_failure_keeps_writing(void **state)
{
    char path[512], old1[600], old2[600], inner[700];
    path_in(path, sizeof path, "f.log");
    snprintf(old1, sizeof old1, "%s.1", path);
    snprintf(old2, sizeof old2, "%s.2", path);
    snprintf(inner, sizeof inner, "%s/x", old2);
    assert_int_equal(mkdir(old2, 0755), 0);
    struct conf c;
    rotating_conf(&c, path, "4K", 2);
    void *st = open_ok(&c);
    write_lines(st, 0, 50);
    assert_int_equal(nlogged, 1);
    char want[1400];
    snprintf(want, sizeof want, "3 unlink() \"%s\" failed (21: Is a directory) rotating \"%s\", "
             "still writing to the current file, will retry", old2, path);
    assert_string_equal(logged[0], want);
    expect_lines(path, 0, 50);
    assert_int_equal(rmdir(old2), 0);
    write_lines(st, 50, 51);
    plugin->api->close(st);
    assert_int_equal(nlogged, 2);
    snprintf(want, sizeof want, "5 rotating \"%s\" works again", path);
    assert_string_equal(logged[1], want);
    expect_lines(old1, 0, 50);
    expect_lines(old2, 0, 0);
    expect_lines(path, 50, 51);
}

/* every: tick() rotates a file last written in an earlier hour, with no
 * batch coming; an empty one it leaves; suffix = "date" names it by the
 * hour of its lines. */
static void test_file_tick_rotates_idle_file(void **state)
{
    char path[512], old[600];
    path_in(path, sizeof path, "t.log");
    struct conf c;
    conf_init(&c, path);
    conf_add(&c, (struct sl_kv){.key = "rotate.every", .type = SL_KV_STRING, .str = "hour"});
    conf_add(&c, (struct sl_kv){.key = "rotate.suffix", .type = SL_KV_STRING, .str = "date"});
    void *st = open_ok(&c);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    write_one(st, "one", SLUICE_OK);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK); /* this hour: stays */
    expect_file(path, "one\n");
    time_t then = time(NULL) - 7200;
    struct tm tm;
    localtime_r(&then, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%d-%H", &tm);
    struct timespec t[2] = {{then, 0}, {then, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    snprintf(old, sizeof old, "%s-%s", path, day);
    expect_file(old, "one\n");
    expect_file(path, "");
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0); /* empty: never rotated */
    assert_int_equal(plugin->api->tick(st), SLUICE_OK);
    snprintf(old, sizeof old, "%s-%s.1", path, day);
    assert_int_equal(access(old, F_OK), -1);
    write_one(st, "two", SLUICE_OK);
    plugin->api->close(st);
    expect_file(path, "two\n");
    assert_int_equal(nlogged, 0);
}

/* --check refuses what would not rotate as asked, naming the key and
 * what it allows. */
static void test_file_rotate_check_refuses_bad_values(void **state)
{
    static const char size_err[] = "sluice.lua:7: output \"out\" (file): key \"rotate.size\" "
                                   "must be a size of at least 4K, in bytes or such as \"64M\"";
    static const char keep_err[] = "sluice.lua:7: output \"out\" (file): key \"rotate.keep\" "
                                   "must be an integer from 1 to 1000";
    static const char *const bad_sizes[] = {"0", "4095", "1K", "64X", "-1", ""};
    struct conf c;
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        rotating_conf(&c, "never.log", bad_sizes[i], 0);
        expect_check_errors(&c, size_err);
    }
    static const long long bad_keeps[] = {0, -1, 1001};
    for (size_t i = 0; i < sizeof bad_keeps / sizeof bad_keeps[0]; i++) {
        rotating_conf(&c, "never.log", "64M", 0);
        conf_add(&c, (struct sl_kv){.key = "rotate.keep", .type = SL_KV_INT,
                                    .num = bad_keeps[i]});
        expect_check_errors(&c, keep_err);
    }
    conf_init(&c, "never.log");
    conf_add(&c, (struct sl_kv){.key = "rotate.keep", .type = SL_KV_INT, .num = 3});
    expect_check_errors(&c, "sluice.lua:7: output \"out\" (file): the keys of \"rotate\" "
                        "need rotate.size or rotate.every: a file rotates when it reaches that "
                        "size or at that time");
    /* Issue 10's keys: each bad value its own error, naming what is allowed. */
    static const struct { const char *key, *val, *err; } bad[] = {
        {"rotate.every", "month", "key \"rotate.every\" must be \"hour\", \"day\" or \"week\""},
        {"rotate.every", "1d", "key \"rotate.every\" must be \"hour\", \"day\" or \"week\""},
        {"rotate.compress", "gzip", "key \"rotate.compress\" must be \"zstd\", the one "
                                    "compression offered"},
        {"rotate.suffix", "x", "key \"rotate.suffix\" must be \"number\" (PATH.1, PATH.2, "
                               "...) or \"date\" (PATH-2026-12-03)"},
        {"rotate.max_age", "3 weeks", "key \"rotate.max_age\" must be a duration such as "
                                      "\"30d\", \"12h\", \"90m\" (units s, m, h, d, w) or a "
                                      "number of seconds"},
        {"rotate.max_age", "0", "key \"rotate.max_age\" must be a duration such as "
                                "\"30d\", \"12h\", \"90m\" (units s, m, h, d, w) or a "
                                "number of seconds"},
        {"sync", "always", "key \"sync\" must be \"none\" or \"batch\" (or true or false)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[512];
        rotating_conf(&c, "never.log", "64M", 1000);
        conf_add(&c, (struct sl_kv){.key = (char *)bad[i].key, .type = SL_KV_STRING,
                                    .str = (char *)bad[i].val});
        snprintf(want, sizeof want, "sluice.lua:7: output \"out\" (file): %s", bad[i].err);
        expect_check_errors(&c, want);
    }
    /* The good ones, every alone included, and sync's old booleans. */
    rotating_conf(&c, "never.log", "64M", 1000);
    conf_add(&c, (struct sl_kv){.key = "rotate.every", .type = SL_KV_STRING, .str = "week"});
    conf_add(&c, (struct sl_kv){.key = "rotate.suffix", .type = SL_KV_STRING, .str = "date"});
    conf_add(&c, (struct sl_kv){.key = "rotate.max_age", .type = SL_KV_STRING, .str = "30d"});
    conf_add(&c, (struct sl_kv){.key = "rotate.compress", .type = SL_KV_STRING, .str = "zstd"});
    conf_add(&c, (struct sl_kv){.key = "sync", .type = SL_KV_STRING, .str = "batch"});
    conf_add(&c, (struct sl_kv){.key = "create_dirs", .type = SL_KV_BOOL, .num = 0});
    expect_check_errors(&c, "");
    conf_init(&c, "never.log");
    conf_add(&c, (struct sl_kv){.key = "rotate.every", .type = SL_KV_STRING, .str = "hour"});
    conf_add(&c, (struct sl_kv){.key = "rotate.max_age", .type = SL_KV_INT, .num = 5400});
    conf_add(&c, (struct sl_kv){.key = "sync", .type = SL_KV_BOOL, .num = 1});
    expect_check_errors(&c, "");
    rotating_conf(&c, "never.log", "4K", 1);
    expect_check_errors(&c, "");
    assert_int_equal(access("never.log", F_OK), -1);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_symlink_refused_at_open),
        cmocka_unit_test(test_file_symlink_refused_at_reopen),
        cmocka_unit_test(test_file_torn_line_completed),
        cmocka_unit_test(test_file_end_is_looked_at_when_writing_not_at_open),
        cmocka_unit_test(test_file_deleted_directory_recreated),
        cmocka_unit_test(test_file_efbig_retries),
        cmocka_unit_test(test_file_error_partway_writes_each_line_once),
        cmocka_unit_test(test_file_progress_counts_whole_lines),
        cmocka_unit_test(test_file_check_refuses_empty_path),
        cmocka_unit_test(test_file_check_refuses_special_mode_bits),
        cmocka_unit_test(test_file_check_refuses_unsettable_field_key),
        cmocka_unit_test(test_file_check_refuses_template_path),
        cmocka_unit_test(test_file_rotate_by_size_keeps_newest),
        cmocka_unit_test(test_file_rotate_never_splits_a_batch),
        cmocka_unit_test(test_file_rotate_restart_continues_path),
        cmocka_unit_test(test_file_rotate_failure_keeps_writing),
        cmocka_unit_test(test_file_rotate_check_refuses_bad_values),
        cmocka_unit_test(test_file_tick_rotates_idle_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
