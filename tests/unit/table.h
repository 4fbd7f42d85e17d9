/* SPDX-License-Identifier: MIT */
/* table.h: runs the rows of a test table as separate, named cmocka tests.
 * Include after <cmocka.h>. */
#ifndef SL_TEST_TABLE_H
#define SL_TEST_TABLE_H

#include <stdlib.h>

/* Every row type starts with its name (const char *); fn gets the row as
 * its state. Returns the number of failed rows. */
static inline int run_rows(const char *group, CMUnitTestFunction fn, const void *rows,
                           size_t size, size_t n)
{
    struct CMUnitTest *t = calloc(n, sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        const char *row = (const char *)rows + i * size;
        t[i].name = *(const char *const *)row;
        t[i].test_func = fn;
        t[i].initial_state = (void *)row;
    }
    int failed = _cmocka_run_group_tests(group, t, n, NULL, NULL);
    free(t);
    return failed;
}

#endif /* SL_TEST_TABLE_H */
