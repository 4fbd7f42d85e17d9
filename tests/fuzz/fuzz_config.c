/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c: libFuzzer target for the config loader (core/conf/),
 * through sl_config_load_text(): the input is a sluice.lua, run in the
 * loader's sandbox with its instruction and memory bounds.
 *
 * An input whose first line is "--!fail N" (a Lua comment) makes the
 * allocation after the first N fail (common/alloc.h), so the fuzzer walks
 * the loader's out-of-memory paths too.
 *
 * Checks:
 *   - the load returns 0 with a config and no errors, or -EINVAL with no
 *     config and at least one error (lost for want of memory only when
 *     allocations were made to fail), each "fuzz.lua: ..." or
 *     "fuzz.lua:LINE: ...", in line order (then those of included files);
 *   - a loaded config is whole: every input has a name, a kind and the
 *     kind's required keys, no two inputs share an address, every output a
 *     name and a type, every route's targets exist;
 *   - copies of every input and output compare equal to the original.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "conf/lua_config.h"
#include "input/kind.h"

#define NAME "fuzz.lua"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* The N of a first line "--!fail N", or -1. */
static long fail_point(const uint8_t *data, size_t size)
{
    static const char tag[] = "--!fail ";
    if (size < sizeof tag || memcmp(data, tag, sizeof tag - 1) != 0)
        return -1;
    long n = 0;
    for (size_t i = sizeof tag - 1; i < size && data[i] >= '0' && data[i] <= '9'; i++)
        n = n < 1000000 ? n * 10 + (data[i] - '0') : n;
    return n;
}

/* The line of "fuzz.lua:LINE: ...", 0 for "fuzz.lua: ...", LONG_MAX for
 * an error in a file the input included (include "..."), which sorts after
 * all of fuzz.lua's. */
static long error_line(const char *e)
{
    size_t n = strlen(NAME);
    if (strncmp(e, NAME, n) != 0 || e[n] != ':')
        return LONG_MAX;
    if (e[n + 1] == ' ')
        return 0;
    char *end;
    long line = strtol(e + n + 1, &end, 10);
    CHECK(line > 0 && end[0] == ':');
    return line;
}

static void check_input(const struct sl_config *c, size_t i)
{
    const struct sl_input_conf *in = &c->inputs[i];
    CHECK(in->name != NULL && in->kind != NULL);
    CHECK(sl_input_kind_find(in->kind->name) == in->kind);
    for (const struct sl_input_key *k = in->kind->keys; k->name != NULL; k++) {
        if (!k->required)
            continue;
        if (k->type == SL_INPUT_KEY_LISTEN)
            CHECK(in->host != NULL && in->port != NULL);
        else if (k->type == SL_INPUT_KEY_PATH)
            CHECK(*(char *const *)((const char *)in + k->offset) != NULL);
    }
    for (size_t j = 0; j < i; j++)
        CHECK(!sl_input_conf_same_address(&c->inputs[j], in));
    struct sl_input_conf *copy;
    if (sl_input_conf_dup(in, &copy) == 0) {
        CHECK(sl_input_conf_equal(in, copy));
        sl_input_conf_free(copy);
    }
}

static void check_config(const struct sl_config *c)
{
    CHECK(strcmp(c->file, NAME) == 0 && c->source != NULL);
    for (size_t i = 0; i < c->ninputs; i++)
        check_input(c, i);
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct sl_output_conf *o = &c->outputs[i];
        CHECK(o->name != NULL && o->type != NULL && !o->broken);
        struct sl_output_conf *copy;
        if (sl_output_conf_dup(o, &copy) == 0) {
            CHECK(sl_output_conf_equal(o, copy));
            sl_output_conf_free(copy);
        }
    }
    for (size_t i = 0; i < c->nroutes; i++) {
        const struct sl_route_conf *r = &c->routes[i];
        CHECK(r->drop || r->nto > 0);
        for (size_t k = 0; k < r->nto; k++)
            CHECK(r->to[k] < c->noutputs);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_config *c = NULL;
    struct sl_errors errs = {0};
    long fail = fail_point(data, size);
    if (fail >= 0)
        sl_alloc_fail_after(fail);
    int rc = sl_config_load_text((const char *)data, size, NAME, &c, &errs);
    sl_alloc_fail_after(-1);
    if (rc == 0) {
        CHECK(c != NULL && errs.n == 0);
        check_config(c);
    } else {
        /* With allocations failing, errors may be lost, never uncounted. */
        CHECK(rc == -EINVAL && c == NULL && sl_errors_count(&errs) > 0);
        CHECK(errs.lost == 0 || fail >= 0);
        long last = 0;
        for (size_t i = 0; i < errs.n; i++) {
            long line = error_line(errs.v[i]);
            CHECK(line >= last);
            last = line;
        }
    }
    sl_config_free(c);
    sl_errors_clear(&errs);
    return 0;
}
