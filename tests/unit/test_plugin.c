/* SPDX-License-Identifier: MIT */
/* test_plugin.c: the plugin loader and host table (core/output/plugin.c), and the
 * file plugin (plugins/file/file.c) loaded from the build tree. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "format/format.h"
#include "parse/parse.h"
#include "output/plugin.h"
#include "common/paths.h" /* SL_PLUGINDIR */
#include "route/rewrite.h"

#ifndef BUILD_PLUGIN_DIR
#error "BUILD_PLUGIN_DIR: the build tree's plugins/ folder"
#endif
#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR: the build tree's tests/plugins/ folder"
#endif

/* {=== helpers */
static struct sl_strlist dirs(char **v, size_t n)
{
    return (struct sl_strlist){v, n};
}

static struct sl_plugin *load(const char *name, const char *dir)
{
    char *v[] = {(char *)dir};
    struct sl_strlist search = dirs(v, 1);
    struct sl_plugin *p = NULL;
    char err[1024] = "";
    int rc = sl_plugin_load(name, NULL, &search, &p, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    return p;
}

/* An output's settings built by hand, as lua_config.c would. */
struct conf {
    struct sl_output_conf o;
    struct sl_kv kv[8];
    char path[512]; /* writable: tests move the file plugin to another path */
};

static void conf_init(struct conf *c, const char *path, const char *format)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->o = (struct sl_output_conf){.name = "messages", .type = "file", .kv = c->kv,
                                   .file = "sluice.lua", .line = 3};
    c->kv[c->o.nkv++] = (struct sl_kv){.key = "path", .type = SL_KV_STRING, .str = c->path};
    if (format != NULL)
        c->kv[c->o.nkv++] = (struct sl_kv){.key = "format", .type = SL_KV_STRING,
                                           .str = (char *)format};
}

static void conf_add(struct conf *c, struct sl_kv kv)
{
    assert_true(c->o.nkv < 8);
    c->kv[c->o.nkv++] = kv;
}

static struct sl_msg *msg(const char *raw)
{
    struct sl_msg *m = sl_msg_new_heap(raw, strlen(raw), "test");
    assert_non_null(m);
    struct sl_parse_ctx ctx = {.hostname = {"myhost", 6}, .now = 1795348800, .tzoff_min = 0};
    sl_parse(m, &ctx);
    return m;
}

/* The whole file as a string, "" when missing; the caller frees it. */
static char *slurp(const char *path)
{
    char *text = calloc(1, 65536);
    assert_non_null(text);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, text, 65535);
        assert_true(n >= 0);
        close(fd);
    }
    return text;
}

static void expect_file(const char *path, const char *want)
{
    char *got = slurp(path);
    assert_string_equal(got, want);
    free(got);
}

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-plugin-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The fake host: the real table with a log function that records lines. */
static char logged[8][512];
static int nlogged;

static void record_log(const sluice_config *cfg, int level, const char *fmt, ...)
{
    if (nlogged >= 8)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(logged[nlogged], sizeof logged[0], "%d %s: ", level,
                     sl_plugin_host()->config_name(cfg));
    vsnprintf(logged[nlogged] + n, sizeof logged[0] - (size_t)n, fmt, ap);
    va_end(ap);
    nlogged++;
}

static struct sluice_host fake_host(void)
{
    struct sluice_host h = *sl_plugin_host();
    h.log = record_log;
    nlogged = 0;
    return h;
}
/* }=== */

/* {=== loading */
static void test_load_file_plugin(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    assert_string_equal(p->name, "file");
    assert_string_equal(p->api->name, "file");
    assert_string_equal(p->path, BUILD_PLUGIN_DIR "/file/.libs/file.so");
    assert_int_equal(p->api->abi_version, SLUICE_PLUGIN_ABI_VERSION);
    assert_non_null(p->api->keys);
    sl_plugin_unload(p);
    sl_plugin_unload(NULL);
}

static void test_load_by_path(void **state)
{
    struct sl_plugin *p = NULL;
    char err[512] = "";
    assert_int_equal(sl_plugin_load("file", BUILD_PLUGIN_DIR "/file/.libs/file.so", NULL, &p,
                                    err, sizeof err), 0);
    assert_string_equal(p->api->name, "file");
    sl_plugin_unload(p);

    p = NULL;
    assert_int_equal(sl_plugin_load("file", "/nonexistent/file.so", NULL, &p, err, sizeof err),
                     -EINVAL);
    assert_null(p);
    assert_non_null(strstr(err, "plugin \"file\": dlopen() \"/nonexistent/file.so\" failed: "));
}

static void test_refuse_bad_abi(void **state)
{
    char *v[] = {TEST_PLUGIN_DIR};
    struct sl_strlist search = dirs(v, 1);
    struct sl_plugin *p = NULL;
    char err[512] = "";
    assert_int_equal(sl_plugin_load("badabi", NULL, &search, &p, err, sizeof err), -EINVAL);
    assert_null(p);
    assert_string_equal(err, "plugin \"badabi\": \"" TEST_PLUGIN_DIR "/.libs/badabi.so\" is not "
                        "binary compatible: ABI version 99, this sluiced speaks 1");
}

static void test_refuse_bad_counter_names(void **state)
{
    char *v[] = {TEST_PLUGIN_DIR};
    struct sl_strlist search = dirs(v, 1);
    struct sl_plugin *p = NULL;
    char err[512] = "";
    assert_int_equal(sl_plugin_load("badcounters", NULL, &search, &p, err, sizeof err), -EINVAL);
    assert_null(p);
    assert_string_equal(err, "plugin \"badcounters\": \"" TEST_PLUGIN_DIR "/.libs/badcounters.so\": "
                        "a counter name is not 1 to 31 of [a-z0-9_]");
}

static void test_missing_lists_dirs(void **state)
{
    char *saved = getenv("SLUICE_PLUGIN_PATH") ? strdup(getenv("SLUICE_PLUGIN_PATH")) : NULL;
    setenv("SLUICE_PLUGIN_PATH", "/nonexistent/env1:/nonexistent/a/", 1);
    char *v[] = {"/nonexistent/a", "/nonexistent/b"};
    struct sl_strlist search = dirs(v, 2);
    struct sl_plugin *p = NULL;
    char err[1024] = "";
    assert_int_equal(sl_plugin_load("nope", NULL, &search, &p, err, sizeof err), -ENOENT);
    assert_null(p);
    /* In search order, each directory once, the installed one last. */
    assert_string_equal(err, "plugin \"nope\" not found: no nope.so, nope/.libs/nope.so or "
                        ".libs/nope.so in \"/nonexistent/a\", \"/nonexistent/b\", "
                        "\"/nonexistent/env1\", \"" SL_PLUGINDIR "\"");
    if (saved != NULL)
        setenv("SLUICE_PLUGIN_PATH", saved, 1);
    else
        unsetenv("SLUICE_PLUGIN_PATH");
    free(saved);
}

static void test_env_path(void **state)
{
    char *saved = getenv("SLUICE_PLUGIN_PATH") ? strdup(getenv("SLUICE_PLUGIN_PATH")) : NULL;
    setenv("SLUICE_PLUGIN_PATH", "/nonexistent::" TEST_PLUGIN_DIR, 1);
    struct sl_plugin *p = NULL;
    char err[512] = "";
    assert_int_equal(sl_plugin_load("slow", NULL, NULL, &p, err, sizeof err), 0);
    assert_string_equal(p->api->name, "slow");
    sl_plugin_unload(p);
    if (saved != NULL)
        setenv("SLUICE_PLUGIN_PATH", saved, 1);
    else
        unsetenv("SLUICE_PLUGIN_PATH");
    free(saved);
}

static void test_type_is_one_path_component(void **state)
{
    char *v[] = {BUILD_PLUGIN_DIR "/file"};
    struct sl_strlist search = dirs(v, 1);
    struct sl_plugin *p = NULL;
    char err[512] = "";
    assert_int_equal(sl_plugin_load("../file/.libs/file", NULL, &search, &p, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "plugin \"../file/.libs/file\": a type is a plain name (letters, "
                        "digits, '_', '-')");
    assert_int_equal(sl_plugin_load("", NULL, &search, &p, err, sizeof err), -EINVAL);
    assert_null(p);
}

static void test_check_keys(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct conf c;
    conf_init(&c, "x.log", NULL);
    conf_add(&c, (struct sl_kv){.key = "fromat", .type = SL_KV_STRING, .str = "json"});
    conf_add(&c, (struct sl_kv){.key = "sycn", .type = SL_KV_BOOL, .num = 1});
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING, .str = "0600"});
    /* rotate.every is the file plugin's now (issue 10); a typo of it is not. */
    conf_add(&c, (struct sl_kv){.key = "rotate.every", .type = SL_KV_STRING, .str = "day"});
    conf_add(&c, (struct sl_kv){.key = "rotate.evrey", .type = SL_KV_STRING, .str = "day"});
    conf_add(&c, (struct sl_kv){.key = "queue.capacity", .type = SL_KV_INT, .num = 5});
    struct sl_errors errs = {0};
    sl_plugin_check(p, &c.o, &errs);
    assert_int_equal(errs.n, 3);
    assert_string_equal(errs.v[0], "sluice.lua:3: output \"messages\": unknown key 'fromat' "
                        "for type \"file\", did you mean 'format'?");
    assert_string_equal(errs.v[1], "sluice.lua:3: output \"messages\": unknown key 'sycn' "
                        "for type \"file\", did you mean 'sync'?");
    assert_string_equal(errs.v[2], "sluice.lua:3: output \"messages\": unknown key "
                        "'rotate.evrey' for type \"file\", did you mean 'rotate.every'?");
    sl_errors_clear(&errs);
    sl_plugin_unload(p);
}
/* A plugin key "users[]" takes a list: users.1, users.2, ... are known,
 * users.0, users.x and the literal key "users[]" are not. */
static void test_check_list_keys(void **state)
{
    struct sl_plugin *p = load("users", BUILD_PLUGIN_DIR);
    struct conf c;
    conf_init(&c, "x", NULL);
    c.o.type = "users";
    c.kv[0] = (struct sl_kv){.key = "users.1", .type = SL_KV_STRING, .str = "root"};
    conf_add(&c, (struct sl_kv){.key = "users.12", .type = SL_KV_STRING, .str = "alice"});
    conf_add(&c, (struct sl_kv){.key = "users.0", .type = SL_KV_STRING, .str = "bob"});
    conf_add(&c, (struct sl_kv){.key = "users.x", .type = SL_KV_STRING, .str = "bob"});
    conf_add(&c, (struct sl_kv){.key = "users[]", .type = SL_KV_STRING, .str = "bob"});
    conf_add(&c, (struct sl_kv){.key = "users.", .type = SL_KV_STRING, .str = "bob"});
    struct sl_errors errs = {0};
    sl_plugin_check(p, &c.o, &errs);
    assert_int_equal(errs.n, 4);
    const char *bad[] = {"users.0", "users.x", "users[]", "users."};
    for (size_t i = 0; i < 4; i++) {
        char want[128];
        snprintf(want, sizeof want, "unknown key '%s' for type \"users\"", bad[i]);
        assert_non_null(strstr(errs.v[i], want));
    }
    sl_errors_clear(&errs);
    sl_plugin_unload(p);
}

/* With every key known, the plugin's own check() speaks: a bad template or
 * a missing path is caught by --check, and nothing is created. */
static void test_check_config(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct conf c;
    conf_init(&c, "never-created.log", NULL);
    conf_add(&c, (struct sl_kv){.key = "format", .type = SL_KV_STRING, .str = "{hostnme}"});
    struct sl_errors errs = {0};
    sl_plugin_check(p, &c.o, &errs);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.v[0], "sluice.lua:3: output \"messages\" (file): unknown field "
                                      "{hostnme}"));
    assert_int_equal(access("never-created.log", F_OK), -1);
    sl_errors_clear(&errs);

    struct conf good;
    conf_init(&good, "never-created.log", "json");
    sl_plugin_check(p, &good.o, &errs);
    assert_int_equal(errs.n, 0);
    assert_int_equal(access("never-created.log", F_OK), -1);
    sl_plugin_unload(p);
}
/* One --check run reports every error of an output: unknown keys do not
 * hide the plugin's check(), and check() reports each bad value, each as
 * its own FILE:LINE error. */
static void test_check_reports_every_error(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct conf c;
    conf_init(&c, "never-created.log", "jsno");
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_INT, .num = 640});
    conf_add(&c, (struct sl_kv){.key = "colour", .type = SL_KV_STRING, .str = "red"});
    struct sl_errors errs = {0};
    sl_plugin_check(p, &c.o, &errs);
    assert_int_equal(errs.n, 3);
    assert_string_equal(errs.v[0], "sluice.lua:3: output \"messages\": unknown key 'colour' for "
                        "type \"file\"");
    assert_string_equal(errs.v[1], "sluice.lua:3: output \"messages\" (file): key \"mode\" must "
                        "be a string of octal digits from \"0000\" to \"0777\", such as "
                        "\"0640\" (no set-uid, set-gid or sticky bit)");
    assert_string_equal(errs.v[2], "sluice.lua:3: output \"messages\" (file): unknown format "
                        "'jsno', did you mean 'json'?");
    assert_int_equal(access("never-created.log", F_OK), -1);
    sl_errors_clear(&errs);

    /* Every key of the file plugin wrong at once: one error each. */
    conf_init(&c, "x", NULL);
    c.kv[0] = (struct sl_kv){.key = "path", .type = SL_KV_BOOL, .num = 1};
    conf_add(&c, (struct sl_kv){.key = "format", .type = SL_KV_INT, .num = 1});
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING, .str = "rw"});
    conf_add(&c, (struct sl_kv){.key = "owner", .type = SL_KV_STRING, .str = "no-such-user-x"});
    conf_add(&c, (struct sl_kv){.key = "group", .type = SL_KV_STRING, .str = ""});
    conf_add(&c, (struct sl_kv){.key = "sync", .type = SL_KV_STRING, .str = "yes"});
    conf_add(&c, (struct sl_kv){.key = "follow_symlinks", .type = SL_KV_INT, .num = 1});
    sl_plugin_check(p, &c.o, &errs);
    assert_int_equal(errs.n, 7);
    assert_non_null(strstr(errs.v[0], ": key \"path\" must be a string"));
    assert_non_null(strstr(errs.v[1], ": key \"format\" must be a string"));
    assert_non_null(strstr(errs.v[2], ": key \"mode\" must be"));
    assert_non_null(strstr(errs.v[3], ": key \"owner\": no user \"no-such-user-x\""));
    assert_non_null(strstr(errs.v[4], ": key \"group\" must be a group name or number"));
    assert_non_null(strstr(errs.v[5], ": key \"sync\" must be \"none\" or \"batch\" (or true or false)"));
    assert_non_null(strstr(errs.v[6], ": key \"follow_symlinks\" must be true or false"));
    sl_errors_clear(&errs);
    sl_plugin_unload(p);
}

/* A plugin built against an older header of ABI version 1 has a smaller
 * descriptor: the loader reads nothing past its size, and the members it
 * lacks read as NULL (oldabi.c puts non-NULL traps past its end). */
static void test_older_descriptors(void **state)
{
    struct sl_plugin *p = load("oldabi_v1", TEST_PLUGIN_DIR);
    assert_int_equal(p->api->size, offsetof(struct sluice_output_plugin, check));
    assert_false(SLUICE_PLUGIN_HAS(p->api, check));
    assert_null(p->api->check);
    assert_null(p->api->abandon);
    assert_null(p->api->tick);
    assert_non_null(p->api->write);
    struct sl_output_conf o = {.name = "old", .type = "oldabi_v1", .file = "sluice.lua",
                               .line = 2};
    struct sl_errors errs = {0};
    sl_plugin_check(p, &o, &errs); /* no check() to ask */
    assert_int_equal(errs.n, 0);
    sl_plugin_unload(p);

    p = load("oldabi_check", TEST_PLUGIN_DIR);
    assert_int_equal(p->api->size, offsetof(struct sluice_output_plugin, abandon));
    assert_true(SLUICE_PLUGIN_HAS(p->api, check));
    assert_false(SLUICE_PLUGIN_HAS(p->api, abandon));
    assert_non_null(p->api->check);
    assert_null(p->api->abandon);
    assert_null(p->api->tick);
    o.type = "oldabi_check";
    sl_plugin_check(p, &o, &errs);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.v[0], "sluice.lua:2: output \"old\" (oldabi_check): oldabi: "
                        "check() was called");
    sl_errors_clear(&errs);
    sl_plugin_unload(p);
}
/* }=== */

/* Every allocation of loading a plugin and of the host's format_new, made
 * to fail in turn: each fails cleanly with a reason in err (and, under
 * ASan, leaks nothing). */
static void test_load_and_format_out_of_memory(void **state)
{
    char *v[] = {"/nonexistent", BUILD_PLUGIN_DIR};
    struct sl_strlist search = dirs(v, 2);
    sl_alloc_fail_after(LONG_MAX);
    struct sl_plugin *p = NULL;
    char err[1024] = "";
    assert_int_equal(sl_plugin_load("file", NULL, &search, &p, err, sizeof err), 0);
    long n = sl_alloc_fail_after(-1);
    sl_plugin_unload(p);
    assert_true(n > 0);
    for (long i = 0; i < n; i++) {
        p = NULL;
        err[0] = '\0';
        sl_alloc_fail_after(i);
        int rc = sl_plugin_load("file", NULL, &search, &p, err, sizeof err);
        sl_alloc_fail_after(-1);
        assert_int_equal(rc, -ENOMEM);
        assert_null(p);
        assert_string_equal(err, "plugin \"file\": out of memory");
    }

    const struct sluice_host *h = sl_plugin_host();
    sluice_format *f = NULL;
    sl_alloc_fail_after(0);
    int rc = h->format_new("json", &f, err, sizeof err);
    sl_alloc_fail_after(-1);
    assert_int_equal(rc, -ENOMEM);
    assert_null(f);
    assert_string_equal(err, "format \"json\": out of memory");
}

/* {=== host table */
static void test_config_getters(void **state)
{
    struct conf c;
    conf_init(&c, "x.log", NULL);
    conf_add(&c, (struct sl_kv){.key = "n", .type = SL_KV_INT, .num = -42});
    conf_add(&c, (struct sl_kv){.key = "f", .type = SL_KV_NUMBER, .dnum = 3.0});
    conf_add(&c, (struct sl_kv){.key = "half", .type = SL_KV_NUMBER, .dnum = 2.5});
    conf_add(&c, (struct sl_kv){.key = "on", .type = SL_KV_BOOL, .num = 1});
    conf_add(&c, (struct sl_kv){.key = "rotate.size", .type = SL_KV_STRING, .str = "64M"});
    conf_add(&c, (struct sl_kv){.key = "rotate.bad", .type = SL_KV_STRING, .str = "64X"});
    const struct sluice_host *h = sl_plugin_host();
    const sluice_config *cfg = sl_plugin_config(&c.o);
    assert_int_equal(h->abi_version, SLUICE_PLUGIN_ABI_VERSION);
    assert_int_equal(h->size, sizeof(struct sluice_host));
    assert_string_equal(h->config_name(cfg), "messages");

    const char *s;
    long long i;
    int b;
    unsigned long long z;
    assert_int_equal(h->config_string(cfg, "path", &s), 0);
    assert_string_equal(s, "x.log");
    assert_int_equal(h->config_string(cfg, "n", &s), -EINVAL);
    assert_int_equal(h->config_string(cfg, "missing", &s), -ENOENT);

    assert_int_equal(h->config_int(cfg, "n", &i), 0);
    assert_int_equal(i, -42);
    assert_int_equal(h->config_int(cfg, "f", &i), 0);
    assert_int_equal(i, 3);
    assert_int_equal(h->config_int(cfg, "half", &i), -EINVAL);
    assert_int_equal(h->config_int(cfg, "on", &i), -EINVAL);
    assert_int_equal(h->config_int(cfg, "path", &i), -EINVAL);
    assert_int_equal(h->config_int(cfg, "missing", &i), -ENOENT);

    assert_int_equal(h->config_bool(cfg, "on", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(h->config_bool(cfg, "n", &b), -EINVAL);
    assert_int_equal(h->config_bool(cfg, "path", &b), -EINVAL);

    assert_int_equal(h->config_size(cfg, "rotate.size", &z), 0);
    assert_int_equal(z, 64ULL << 20);
    assert_int_equal(h->config_size(cfg, "f", &z), 0);
    assert_int_equal(z, 3);
    assert_int_equal(h->config_size(cfg, "n", &z), -EINVAL); /* negative */
    assert_int_equal(h->config_size(cfg, "rotate.bad", &z), -EINVAL);
    assert_int_equal(h->config_size(cfg, "on", &z), -EINVAL);
    assert_int_equal(h->config_size(cfg, "rotate", &z), -ENOENT);
}

static void test_msg_accessors(void **state)
{
    const struct sluice_host *h = sl_plugin_host();
    struct sl_msg *m = msg("<34>1 2003-08-24T05:14:15.000003-07:00 host su - ID47 [a@1 b=\"c\"] "
                           "hello");
    const sluice_msg *pm = (const sluice_msg *)m;
    const char *d;
    size_t len;
    long long v;
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_APP_NAME, &d, &len), 0);
    assert_memory_equal(d, "su", len);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_FACILITY, &d, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(d, "auth", 4);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_SD, &d, &len), 0);
    assert_memory_equal(d, "[a@1 b=\"c\"]", len);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_TIMESTAMP, &d, &len), 0);
    assert_memory_equal(d, "2003-08-24T05:14:15.000003-07:00", len);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_PROCID, &d, &len), -ENOENT);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_PEER, &d, &len), -ENOENT);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_PRI, &d, &len), -EINVAL);
    assert_int_equal(h->msg_text(pm, SLUICE_FIELD_RECEIVED, &d, &len), -EINVAL);

    assert_int_equal(h->msg_number(pm, SLUICE_FIELD_PRI, &v), 0);
    assert_int_equal(v, 34);
    assert_int_equal(h->msg_number(pm, SLUICE_FIELD_SEVERITY, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(h->msg_number(pm, SLUICE_FIELD_VERSION, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(h->msg_number(pm, SLUICE_FIELD_PID, &v), -ENOENT);
    assert_int_equal(h->msg_number(pm, SLUICE_FIELD_MSG, &v), -EINVAL);
    m->flags |= SL_MSG_HAS_CRED;
    m->pid = 99;
    assert_int_equal(h->msg_number(pm, SLUICE_FIELD_PID, &v), 0);
    assert_int_equal(v, 99);

    struct sluice_time t;
    assert_int_equal(h->msg_time(pm, SLUICE_FIELD_TIMESTAMP, &t), 0);
    assert_int_equal(t.sec, 1061727255);
    assert_int_equal(t.nsec, 3000);
    assert_int_equal(t.frac_digits, 6);
    assert_int_equal(t.tzoff_min, -420);
    assert_int_equal(t.has_tzoff, 1);
    assert_int_equal(h->msg_time(pm, SLUICE_FIELD_RECEIVED, &t), 0);
    assert_int_equal(t.sec, m->received.sec);
    assert_int_equal(t.has_tzoff, 0);
    assert_int_equal(h->msg_time(pm, SLUICE_FIELD_MSG, &t), -EINVAL);
    sl_msg_unref(m);
}

static void test_msg_extra(void **state)
{
    const struct sluice_host *h = sl_plugin_host();
    assert_true(SLUICE_HOST_HAS(h, msg_extra));
    assert_non_null(h->msg_extra);
    /* As a plugin built against this header sees an older daemon. */
    struct sluice_host old = *h;
    old.size = (uint32_t)offsetof(struct sluice_host, msg_extra);
    assert_false(SLUICE_HOST_HAS(&old, msg_extra));
    assert_true(SLUICE_HOST_HAS(&old, format_free));

    struct sl_msg *m = msg("<13>Nov 22 10:00:00 host prog[1]: hi");
    const sluice_msg *pm = (const sluice_msg *)m;
    const char *d = NULL;
    size_t len = 99;
    assert_int_equal(h->msg_extra(pm, "user", 4, &d, &len), -ENOENT); /* none at all */
    static const struct sl_field f[] = {{{"user", 4}, {"root", 4}}, {{"e", 1}, {NULL, 0}}};
    m->fields = f;
    m->nfields = 2;
    assert_int_equal(h->msg_extra(pm, "user", 4, &d, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(d, "root", 4);
    assert_int_equal(h->msg_extra(pm, "username", 4, &d, &len), 0); /* keylen counts */
    assert_int_equal(h->msg_extra(pm, "User", 4, &d, &len), -ENOENT);
    assert_int_equal(h->msg_extra(pm, "use", 3, &d, &len), -ENOENT);
    assert_int_equal(h->msg_extra(pm, "", 0, &d, &len), -ENOENT);
    assert_int_equal(h->msg_extra(pm, "e", 1, &d, &len), 0);
    assert_non_null(d);
    assert_int_equal(len, 0);
    sl_msg_unref(m);
}

/* Every extra field in order, keys unknown to the plugin: a journal
 * entry's, binary values included. */
static void test_msg_extra_at(void **state)
{
    const struct sluice_host *h = sl_plugin_host();
    assert_true(SLUICE_HOST_HAS(h, msg_extra_at));
    struct sluice_host old = *h;
    old.size = (uint32_t)offsetof(struct sluice_host, msg_extra_at);
    assert_false(SLUICE_HOST_HAS(&old, msg_extra_at));
    assert_true(SLUICE_HOST_HAS(&old, format_set));

    struct sl_msg *m = msg("<13>Nov 22 10:00:00 host prog[1]: hi");
    const sluice_msg *pm = (const sluice_msg *)m;
    const char *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    assert_int_equal(h->msg_extra_at(pm, 0, &k, &kl, &v, &vl), -ENOENT); /* none */
    static const struct sl_field f[] = {{{"MESSAGE", 7}, {"a\0b\n", 4}},
                                        {{"EMPTY", 5}, {NULL, 0}},
                                        {{"_PID", 4}, {"42", 2}}};
    m->fields = f;
    m->nfields = 3;
    size_t i = 0;
    for (; h->msg_extra_at(pm, i, &k, &kl, &v, &vl) == 0; i++) {
        assert_int_equal(kl, f[i].key.len);
        assert_memory_equal(k, f[i].key.p, kl);
        assert_int_equal(vl, f[i].value.len);
        assert_non_null(v); /* an empty value is present */
        if (vl > 0)
            assert_memory_equal(v, f[i].value.p, vl);
    }
    assert_int_equal(i, 3);
    assert_int_equal(h->msg_extra_at(pm, (size_t)-1, &k, &kl, &v, &vl), -ENOENT);
    sl_msg_unref(m);
}

/* A rewritten message, as an output's write() gets it: its raw text is the
 * rewrite's, its extra fields readable. */
static void test_rewritten_message(void **state)
{
    const struct sluice_host *h = sl_plugin_host();
    struct sl_msg *m = msg("<13>1 2003-08-24T05:14:15Z host prog 1 - - password=hunter2");
    const struct sl_field f[] = {{{"user", 4}, {"root", 4}}};
    struct sl_msg_edit e = {.set = SL_EDIT_MSG | SL_EDIT_FIELDS, .msg = {"password=***", 12},
                            .fields = f, .nfields = 1};
    char err[128];
    assert_int_equal(sl_msg_edit_check(&e, err, sizeof err), 0);
    struct sl_msg *r = sl_msg_rewrite(m, &e);
    assert_non_null(r);
    sl_msg_unref(m);
    const sluice_msg *pr = (const sluice_msg *)r;
    const char *d;
    size_t len;
    assert_int_equal(h->msg_text(pr, SLUICE_FIELD_RAW, &d, &len), 0);
    assert_int_equal(len, strlen("<13>1 2003-08-24T05:14:15Z host prog 1 - - password=***"));
    assert_memory_equal(d, "<13>1 2003-08-24T05:14:15Z host prog 1 - - password=***", len);
    assert_int_equal(h->msg_text(pr, SLUICE_FIELD_MSG, &d, &len), 0);
    assert_memory_equal(d, "password=***", len);
    assert_int_equal(h->msg_extra(pr, "user", 4, &d, &len), 0);
    assert_memory_equal(d, "root", len);
    sl_msg_unref(r);
}

static void test_host_format(void **state)
{
    const struct sluice_host *h = sl_plugin_host();
    sluice_format *f = NULL;
    char err[256] = "";
    assert_int_equal(h->format_new("{app_name}: {msg}", &f, err, sizeof err), 0);
    struct sl_msg *m = msg("<13>Nov 22 10:00:00 host prog[1]: hi");
    struct sluice_buf b = {0};
    assert_int_equal(h->format_append(f, (const sluice_msg *)m, &b), 0);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "prog: hi\n", 9);
    h->format_free(f);
    h->format_free(NULL);
    assert_int_equal(h->format_new("{procd}", &f, err, sizeof err), -EINVAL);
    assert_string_equal(err, "unknown field {procd} in template, did you mean {procid}?");
    free(b.data);
    sl_msg_unref(m);
}

/* format_set(SLUICE_FORMAT_NEWLINE, 0): one message per record, no '\n',
 * for message-oriented outputs; every format, and a newline the sender put
 * at the end of a raw message stays escaped, never cut. */
static void test_host_format_set(void **state)
{
    const struct sluice_host *h = sl_plugin_host();
    assert_true(SLUICE_HOST_HAS(h, format_set));
    struct sluice_host old = *h;
    old.size = (uint32_t)offsetof(struct sluice_host, format_set);
    assert_false(SLUICE_HOST_HAS(&old, format_set));

    static const char *const specs[] = {"raw", "rfc3164", "rfc5424", "json", "{msg}"};
    struct sl_msg *m = msg("<13>Nov 22 10:00:00 host prog[1]: hi\n");
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        sluice_format *f = NULL;
        char err[256] = "";
        assert_int_equal(h->format_new(specs[i], &f, err, sizeof err), 0);
        struct sluice_buf on = {0}, off = {0};
        assert_int_equal(h->format_append(f, (const sluice_msg *)m, &on), 0);
        assert_int_equal(h->format_set(f, SLUICE_FORMAT_NEWLINE, 0), 0);
        assert_int_equal(h->format_append(f, (const sluice_msg *)m, &off), 0);
        assert_int_equal(h->format_append(f, (const sluice_msg *)m, &off), 0);
        assert_true(on.len > 1 && on.data[on.len - 1] == '\n');
        assert_int_equal(off.len, 2 * (on.len - 1));
        assert_memory_equal(off.data, on.data, on.len - 1);
        assert_memory_equal(off.data + on.len - 1, on.data, on.len - 1);
        assert_int_equal(h->format_set(f, SLUICE_FORMAT_NEWLINE, 1), 0); /* back on */
        off.len = 0;
        assert_int_equal(h->format_append(f, (const sluice_msg *)m, &off), 0);
        assert_int_equal(off.len, on.len);
        assert_memory_equal(off.data, on.data, on.len);

        assert_int_equal(h->format_set(f, SLUICE_FORMAT_NEWLINE, 2), -EINVAL);
        assert_int_equal(h->format_set(f, (enum sluice_format_param)0, 0), -EINVAL);
        assert_int_equal(h->format_set(f, (enum sluice_format_param)99, 1), -EINVAL);
        off.len = 0;
        assert_int_equal(h->format_append(f, (const sluice_msg *)m, &off), 0);
        assert_int_equal(off.len, on.len); /* a refused setting changed nothing */
        h->format_free(f);
        free(on.data);
        free(off.data);
    }
    sl_msg_unref(m);
}

/* host->log goes to the daemon's log (stderr) with the output named. */
static void test_host_log_prefix(void **state)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stderr", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    struct conf c;
    conf_init(&c, "x.log", NULL);
    sl_plugin_host()->log(sl_plugin_config(&c.o), SLUICE_LOG_ERR, "write() \"%s\" failed (%d)",
                          "x.log", 28);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    char *text = slurp(path);
    assert_non_null(strstr(text, " error: output \"messages\" (file): write() \"x.log\" failed "
                                 "(28)\n"));
    free(text);
}
/* }=== */

/* {=== the file plugin */
static void write_batch(const struct sl_plugin *p, void *st, const char *const *raws, size_t n,
                        int want)
{
    struct sl_msg *m[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        m[i] = msg(raws[i]);
    assert_int_equal(p->api->write(st, (const sluice_msg *const *)m, n), want);
    for (size_t i = 0; i < n; i++)
        sl_msg_unref(m[i]);
}

static const char *const batch1[] = {"<13>Nov 22 10:00:00 host a[1]: one",
                                     "<13>Nov 22 10:00:01 host b: two\nlines"};
static const char *const batch2[] = {"<13>Nov 22 10:00:02 host c: three"};
static const char *const batch3[] = {"<13>Nov 22 10:00:03 host d: four"};

static void test_file_write_and_reopen(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    char path[400], rotated[512];
    snprintf(path, sizeof path, "%s/var/log/deep/messages", tmpdir);
    snprintf(rotated, sizeof rotated, "%s.1", path);
    struct conf c;
    conf_init(&c, path, NULL);
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(sl_plugin_host(), sl_plugin_config(&c.o), &st, err, sizeof err),
                     0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640); /* whatever the umask */

    write_batch(p, st, batch1, 2, SLUICE_OK);
    expect_file(path, "Nov 22 10:00:00 host a[1]: one\nNov 22 10:00:01 host b: two#012lines\n");
    assert_int_equal(rename(path, rotated), 0); /* logrotate */
    write_batch(p, st, batch2, 1, SLUICE_OK);  /* still the old file */
    assert_int_equal(p->api->reopen(st), SLUICE_OK);
    write_batch(p, st, batch3, 1, SLUICE_OK);
    assert_int_equal(p->api->flush(st), SLUICE_OK);
    expect_file(rotated, "Nov 22 10:00:00 host a[1]: one\nNov 22 10:00:01 host b: two#012lines\n"
                "Nov 22 10:00:02 host c: three\n");
    expect_file(path, "Nov 22 10:00:03 host d: four\n");
    p->api->close(st);
    sl_plugin_unload(p);
}

static void test_file_options(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    char path[512];
    snprintf(path, sizeof path, "%s/opts.json", tmpdir);
    struct conf c;
    conf_init(&c, path, "{severity} {msg}");
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING, .str = "0604"});
    conf_add(&c, (struct sl_kv){.key = "sync", .type = SL_KV_BOOL, .num = 1});
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(sl_plugin_host(), sl_plugin_config(&c.o), &st, err, sizeof err),
                     0);
    write_batch(p, st, batch2, 1, SLUICE_OK);
    p->api->close(st);
    expect_file(path, "notice three\n");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0604);
    sl_plugin_unload(p);
}

static void expect_open_error(const struct sl_plugin *p, struct conf *c, const char *want)
{
    void *st = NULL;
    char err[512] = "";
    assert_true(p->api->open(sl_plugin_host(), sl_plugin_config(&c->o), &st, err, sizeof err) < 0);
    assert_string_equal(err, want);
}

/* owner and group, as names or numbers, are given to a file the plugin
 * creates (as root; the chown part is skipped otherwise). */
static void test_file_owner_group(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct conf c;
    conf_init(&c, "unused", NULL);
    conf_add(&c, (struct sl_kv){.key = "owner", .type = SL_KV_STRING,
                                .str = "no-such-user-sluice"});
    expect_open_error(p, &c, "key \"owner\": no user \"no-such-user-sluice\"");
    conf_init(&c, "unused", NULL);
    conf_add(&c, (struct sl_kv){.key = "group", .type = SL_KV_BOOL, .num = 1});
    expect_open_error(p, &c, "key \"group\" must be a group name or number");
    conf_init(&c, "unused", NULL);
    conf_add(&c, (struct sl_kv){.key = "owner", .type = SL_KV_INT, .num = -1});
    expect_open_error(p, &c, "key \"owner\" must be a user name or number");

    if (geteuid() != 0) {
        print_message("skipped: owner and group of a created file need root\n");
        sl_plugin_unload(p);
        skip();
    }
    char path[512];
    snprintf(path, sizeof path, "%s/owned/by-65534.log", tmpdir);
    conf_init(&c, path, NULL);
    conf_add(&c, (struct sl_kv){.key = "owner", .type = SL_KV_INT, .num = 65534});
    conf_add(&c, (struct sl_kv){.key = "group", .type = SL_KV_STRING, .str = "65533"});
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING, .str = "0620"});
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(sl_plugin_host(), sl_plugin_config(&c.o), &st, err, sizeof err),
                     0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_uid, 65534);
    assert_int_equal(sb.st_gid, 65533);
    assert_int_equal(sb.st_mode & 07777, 0620);
    /* reopen after logrotate creates the new file the same way */
    char rotated[600];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(p->api->reopen(st), SLUICE_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_uid, 65534);
    assert_int_equal(sb.st_gid, 65533);
    p->api->close(st);
    sl_plugin_unload(p);
}

#define MODE_ERROR "key \"mode\" must be a string of octal digits from \"0000\" to \"0777\", " \
                   "such as \"0640\" (no set-uid, set-gid or sticky bit)"

static void test_file_config_errors(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct conf c;
    conf_init(&c, "unused", "json");
    c.kv[0].key = "pth";
    expect_open_error(p, &c, "key \"path\" is required");
    conf_init(&c, "unused", "rfc3146");
    expect_open_error(p, &c, "unknown format 'rfc3146', did you mean 'rfc3164'?");
    conf_init(&c, "unused", NULL);
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_INT, .num = 640});
    expect_open_error(p, &c, MODE_ERROR);
    conf_init(&c, "unused", NULL);
    conf_add(&c, (struct sl_kv){.key = "mode", .type = SL_KV_STRING, .str = "0648"});
    expect_open_error(p, &c, MODE_ERROR);
    conf_init(&c, "unused", NULL);
    conf_add(&c, (struct sl_kv){.key = "sync", .type = SL_KV_STRING, .str = "yes"});
    expect_open_error(p, &c, "key \"sync\" must be \"none\" or \"batch\" (or true or false)");

    /* A parent that is a file: the open error names the call and path. */
    char path[512], want[700];
    snprintf(path, sizeof path, "%s/plainfile", tmpdir);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    snprintf(path, sizeof path, "%s/plainfile/sub/x.log", tmpdir);
    conf_init(&c, path, NULL);
    snprintf(want, sizeof want, "open() \"%s\" failed (20: Not a directory)", path);
    expect_open_error(p, &c, want);
    sl_plugin_unload(p);
}

/*
 * A full disk: /dev/full fails every write with ENOSPC. The plugin answers
 * RETRY and keeps the formatted batch; when the path then leads to a real
 * file and the same batch comes again, it is written once, not reformatted.
 */
static void test_file_retry_writes_rest_once(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct sluice_host h = fake_host();
    struct conf c;
    conf_init(&c, "/dev/full", NULL);
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(&h, sl_plugin_config(&c.o), &st, err, sizeof err), 0);

    struct sl_msg *m[2] = {msg(batch1[0]), msg(batch1[1])};
    const sluice_msg *const *pm = (const sluice_msg *const *)m;
    assert_int_equal(p->api->write(st, pm, 2), SLUICE_RETRY);
    assert_int_equal(p->api->write(st, pm, 2), SLUICE_RETRY);
    assert_int_equal(nlogged, 1); /* once per failure streak */
    assert_string_equal(logged[0], "3 messages: write() \"/dev/full\" failed (28: No space left "
                        "on device), will retry");

    snprintf(c.path, sizeof c.path, "%s/after-full.log", tmpdir);
    assert_int_equal(p->api->reopen(st), SLUICE_OK);
    /* Formatting again would show this change; the kept bytes do not. */
    m[0]->msg = (struct sl_str){"CHANGED", 7};
    assert_int_equal(p->api->write(st, pm, 2), SLUICE_OK);
    assert_int_equal(nlogged, 2);
    char want[700];
    snprintf(want, sizeof want, "5 messages: write() \"%s\" works again after 2 failed tries",
             c.path);
    assert_string_equal(logged[1], want);
    write_batch(p, st, batch2, 1, SLUICE_OK);
    expect_file(c.path, "Nov 22 10:00:00 host a[1]: one\nNov 22 10:00:01 host b: two#012lines\n"
                "Nov 22 10:00:02 host c: three\n");
    p->api->close(st);
    sl_msg_unref(m[0]);
    sl_msg_unref(m[1]);
    sl_plugin_unload(p);
}

/*
 * A batch given up after RETRY (the worker's drain timeout at shutdown) is
 * followed by abandon(); its memory is reused at once, so the next batch
 * may have the same n and the same first message address with other
 * content. The plugin must write the new batch, not the kept bytes.
 */
static void test_file_abandon_drops_rest(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    assert_true(SLUICE_PLUGIN_HAS(p->api, abandon));
    assert_non_null(p->api->abandon);
    struct sluice_host h = fake_host();
    struct conf c;
    conf_init(&c, "/dev/full", NULL);
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(&h, sl_plugin_config(&c.o), &st, err, sizeof err), 0);

    struct sl_msg *m[2] = {msg(batch1[0]), msg(batch1[1])};
    const sluice_msg *const *pm = (const sluice_msg *const *)m;
    assert_int_equal(p->api->write(st, pm, 2), SLUICE_RETRY);
    p->api->abandon(st);

    /* The same addresses, other content: a new batch as a recycled chunk
     * would give it. */
    m[0]->msg = (struct sl_str){"NEW-ONE", 7};
    m[1]->msg = (struct sl_str){"NEW-TWO", 7};
    snprintf(c.path, sizeof c.path, "%s/after-abandon.log", tmpdir);
    assert_int_equal(p->api->reopen(st), SLUICE_OK);
    assert_int_equal(p->api->write(st, pm, 2), SLUICE_OK);
    expect_file(c.path, "Nov 22 10:00:00 host a[1]: NEW-ONE\nNov 22 10:00:01 host b: NEW-TWO\n");
    p->api->close(st);
    sl_msg_unref(m[0]);
    sl_msg_unref(m[1]);
    sl_plugin_unload(p);
}

/* An error that will not pass by itself (EPIPE) is logged nginx-style and
 * answered RETRY, as every write error is: the batch's rest is kept. */
static void test_file_write_error_and_reopen_failure(void **state)
{
    struct sl_plugin *p = load("file", BUILD_PLUGIN_DIR);
    struct sluice_host h = fake_host();
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    signal(SIGPIPE, SIG_IGN);
    struct conf c;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipefd[1]);
    conf_init(&c, path, "raw");
    conf_add(&c, (struct sl_kv){.key = "follow_symlinks", .type = SL_KV_BOOL, .num = 1});
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(&h, sl_plugin_config(&c.o), &st, err, sizeof err), 0);
    close(pipefd[0]); /* no reader: EPIPE */
    write_batch(p, st, batch2, 1, SLUICE_RETRY);
    assert_int_equal(nlogged, 1);
    char want[700];
    snprintf(want, sizeof want, "3 messages: write() \"%s\" failed (32: Broken pipe), will "
             "retry", path);
    assert_string_equal(logged[0], want);

    /* reopen to a path that cannot be: logged, and the old fd is kept. */
    snprintf(c.path, sizeof c.path, "%s/plainfile", tmpdir);
    close(open(c.path, O_WRONLY | O_CREAT, 0600));
    snprintf(c.path, sizeof c.path, "%s/plainfile/x.log", tmpdir);
    assert_int_equal(p->api->reopen(st), SLUICE_RETRY);
    assert_int_equal(nlogged, 2);
    snprintf(want, sizeof want, "3 messages: open() \"%s\" failed (20: Not a directory), still "
             "writing to the old file", c.path);
    assert_string_equal(logged[1], want);
    p->api->close(st);
    close(pipefd[1]);
    sl_plugin_unload(p);
}

static void test_slow_plugin(void **state)
{
    struct sl_plugin *p = load("slow", TEST_PLUGIN_DIR);
    char path[512];
    snprintf(path, sizeof path, "%s/slow.log", tmpdir);
    struct conf c;
    conf_init(&c, path, NULL);
    conf_add(&c, (struct sl_kv){.key = "delay_ms", .type = SL_KV_INT, .num = 1});
    void *st = NULL;
    char err[512] = "";
    assert_int_equal(p->api->open(sl_plugin_host(), sl_plugin_config(&c.o), &st, err, sizeof err),
                     0);
    write_batch(p, st, batch1, 2, SLUICE_OK);
    p->api->close(st);
    expect_file(path, "<13>Nov 22 10:00:00 host a[1]: one\n<13>Nov 22 10:00:01 host b: two#012lines\n");
    sl_plugin_unload(p);
}
/* }=== */

int main(void)
{
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_file_plugin),
        cmocka_unit_test(test_load_by_path),
        cmocka_unit_test(test_refuse_bad_abi),
        cmocka_unit_test(test_refuse_bad_counter_names),
        cmocka_unit_test(test_missing_lists_dirs),
        cmocka_unit_test(test_env_path),
        cmocka_unit_test(test_type_is_one_path_component),
        cmocka_unit_test(test_load_and_format_out_of_memory),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_check_reports_every_error),
        cmocka_unit_test(test_older_descriptors),
        cmocka_unit_test(test_config_getters),
        cmocka_unit_test(test_msg_accessors),
        cmocka_unit_test(test_msg_extra),
        cmocka_unit_test(test_msg_extra_at),
        cmocka_unit_test(test_rewritten_message),
        cmocka_unit_test(test_host_format),
        cmocka_unit_test(test_host_format_set),
        cmocka_unit_test(test_host_log_prefix),
        cmocka_unit_test(test_file_write_and_reopen),
        cmocka_unit_test(test_file_options),
        cmocka_unit_test(test_file_config_errors),
        cmocka_unit_test(test_file_owner_group),
        cmocka_unit_test(test_file_retry_writes_rest_once),
        cmocka_unit_test(test_file_abandon_drops_rest),
        cmocka_unit_test(test_file_write_error_and_reopen_failure),
        cmocka_unit_test(test_slow_plugin),
        cmocka_unit_test(test_check_list_keys),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
