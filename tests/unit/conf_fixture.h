/* SPDX-License-Identifier: MIT */
/* conf_fixture.h: loading a config in the unit tests of the config loader
 * (test_lua_config.c, test_lua_config_errors.c) and looking at its errors.
 * Include after <cmocka.h>. */
#ifndef SL_TEST_CONF_FIXTURE_H
#define SL_TEST_CONF_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf/lua_config.h"

/* One load of a config, from memory (load_text) or a file (load_file). */
struct loaded {
    char path[4096];
    struct sl_config *c;
    struct sl_errors errs;
    int rc;
};

static inline void load_file(struct loaded *l)
{
    l->c = NULL;
    l->errs = (struct sl_errors){0};
    l->rc = sl_config_load(l->path, &l->c, &l->errs);
    if (l->rc == 0)
        assert_int_equal(l->errs.n, 0);
    else
        assert_int_equal(l->rc, -EINVAL);
}

static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Loads text from memory, as the file "test.lua" (which need not exist). */
static inline void load_text(struct loaded *l, const char *text)
{
    snprintf(l->path, sizeof l->path, "test.lua");
    l->c = NULL;
    l->errs = (struct sl_errors){0};
    l->rc = sl_config_load_text(text, strlen(text), l->path, &l->c, &l->errs);
    if (l->rc == 0)
        assert_int_equal(l->errs.n, 0);
    else
        assert_int_equal(l->rc, -EINVAL);
}

static inline void done(struct loaded *l)
{
    sl_config_free(l->c);
    sl_errors_clear(&l->errs);
}

static inline void dump_errors(const struct loaded *l)
{
    for (size_t i = 0; i < l->errs.n; i++)
        fprintf(stderr, "  error: %s\n", l->errs.v[i]);
}

/* Asserts that the load failed with "PATH:LINE: text" among its errors. */
static inline void expect(const struct loaded *l, int line, const char *text)
{
    char want[sizeof l->path + 16384]; /* the path, the line and a message of any test */
    if (line > 0)
        snprintf(want, sizeof want, "%s:%d: %s", l->path, line, text);
    else
        snprintf(want, sizeof want, "%s: %s", l->path, text);
    assert_int_equal(l->rc, -EINVAL);
    assert_null(l->c);
    for (size_t i = 0; i < l->errs.n; i++) {
        if (strcmp(l->errs.v[i], want) == 0)
            return;
    }
    fprintf(stderr, "  wanted: %s\n", want);
    dump_errors(l);
    fail();
}

/* Loads text, which must fail with exactly this one error. */
static inline void expect_only(const char *text, int line, const char *msg)
{
    struct loaded l;
    load_text(&l, text);
    expect(&l, line, msg);
    if (l.errs.n != 1)
        dump_errors(&l);
    assert_int_equal(l.errs.n, 1);
    done(&l);
}

static inline void load_ok(struct loaded *l, const char *text)
{
    load_text(l, text);
    if (l->rc != 0)
        dump_errors(l);
    assert_int_equal(l->rc, 0);
    assert_non_null(l->c);
}

#define OUT "output 'o' { type = 'file', path = 'x' }\n"

#endif /* SL_TEST_CONF_FIXTURE_H */
