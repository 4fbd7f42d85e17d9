/* SPDX-License-Identifier: MIT */
/* fuzz_check.h: what the parser fuzz targets assert. A failed check is a
 * bug in our code: stop loudly so the fuzzer saves the input. */
#ifndef SL_FUZZ_CHECK_H
#define SL_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/msg.h"

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* A NIL span is empty; any other lies inside raw and is at most max long. */
static inline void check_span(const struct sl_msg *m, struct sl_str s, uint32_t max)
{
    if (s.p == NULL) {
        CHECK(s.len == 0);
        return;
    }
    CHECK(s.p >= m->raw.p && s.len <= m->raw.len &&
          (size_t)(s.p - m->raw.p) <= (size_t)(m->raw.len - s.len));
    CHECK(s.len <= max);
}

#endif /* SL_FUZZ_CHECK_H */
