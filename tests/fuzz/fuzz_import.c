/* SPDX-License-Identifier: MIT */
/*
 * fuzz_import.c: libFuzzer target for sluiced --import-rsyslog
 * (conf/import_rsyslog.c): the input is an rsyslog.conf.
 *
 * Checks:
 *   - the conversion succeeds (no allocation is made to fail here);
 *   - the text has no NUL, and no control byte but LF and TAB, so a line
 *     of the input cannot turn a comment into code;
 *   - it loads as a sluice.lua without a single error: what the converter
 *     could not make valid it must leave as a comment;
 *   - every line not converted is listed, with a line number in the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/import_rsyslog.h"
#include "conf/lua_config.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_import im;
    CHECK(sl_import_rsyslog((const char *)data, size, "fuzz.conf", &im) == 0);
    CHECK(strlen(im.lua) == im.len);
    for (size_t i = 0; i < im.len; i++) {
        unsigned char ch = (unsigned char)im.lua[i];
        CHECK(ch >= 0x20 || ch == '\n' || ch == '\t');
        CHECK(ch != 0x7f);
    }
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    for (size_t i = 0; i < im.nskipped; i++)
        CHECK(im.skipped[i].line >= 1 && im.skipped[i].line <= lines);
    struct sl_config *c = NULL;
    struct sl_errors errs = {0};
    int rc = sl_config_load_text(im.lua, im.len, "fuzz.lua", &c, &errs);
    if (rc != 0 || errs.n != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        fprintf(stderr, "--- the text:\n%s", im.lua);
    }
    CHECK(rc == 0 && errs.n == 0);
    sl_config_free(c);
    sl_errors_clear(&errs);
    sl_import_free(&im);
    return 0;
}
