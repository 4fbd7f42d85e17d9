/* SPDX-License-Identifier: MIT */
/*
 * test_parse_export.c: the journal export entry parser: '_' and "__"
 * fields kept, __REALTIME_TIMESTAMP as the message's time, _HOSTNAME as
 * its hostname, the credentials only for a trusted sender and only when
 * all three are valid, binary values, malformed entries and the field
 * limit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/parse_export.h"

static struct sl_msgpool pool;

static int setup(void **state)
{
    (void)state;
    sl_msgpool_init(&pool, "export");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_msgpool_release(&pool);
    return 0;
}

/* Parses raw[0..len): the message, or NULL with *rc < 0 (build aborted). */
static struct sl_msg *parse(const char *raw, size_t len, bool trusted, int *rc,
                            struct sl_export_counts *c)
{
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, raw, len, NULL, 0), 0);
    *rc = sl_parse_export(&b, trusted, c);
    if (*rc < 0) {
        sl_msg_build_abort(&b);
        return NULL;
    }
    return sl_msg_build_end(&b);
}

static void assert_field(const struct sl_msg *m, const char *key, const char *v, size_t vlen)
{
    const struct sl_field *f = sl_msg_extra(m, key, strlen(key));
    assert_non_null(f);
    assert_int_equal(f->value.len, vlen);
    assert_memory_equal(f->value.p, v, vlen);
}

static void assert_str(struct sl_str s, const char *v)
{
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(v));
    assert_memory_equal(s.p, v, s.len);
}

static const char entry[] =
    "__CURSOR=s=abc;i=1\n__REALTIME_TIMESTAMP=1733270400123456\n__MONOTONIC_TIMESTAMP=99\n"
    "__SEQNUM=7\n_PID=4242\n_UID=1000\n_GID=100\n_HOSTNAME=web1\n_COMM=sshd\n"
    "PRIORITY=3\nSYSLOG_FACILITY=4\nSYSLOG_IDENTIFIER=sshd\nSYSLOG_PID=4242\n"
    "MESSAGE=Failed password\n";

static void journal_fields_kept_and_mapped(void **state)
{
    (void)state;
    int rc;
    struct sl_export_counts c;
    struct sl_msg *m = parse(entry, sizeof entry - 1, false, &rc, &c);
    assert_int_equal(rc, 0);
    assert_str(m->msg, "Failed password");
    assert_int_equal(m->pri, 35);
    assert_str(m->app_name, "sshd");
    assert_str(m->procid, "4242");
    assert_str(m->hostname, "web1");
    assert_null(m->timestamp.p); /* the time is m->ts: the formats render that */
    assert_int_equal(m->ts.flags, SL_TIME_VALID);
    assert_int_equal(m->ts.sec, 1733270400);
    assert_int_equal(m->ts.nsec, 123456000);
    assert_int_equal(m->ts.frac_digits, 6);
    assert_int_equal(m->nfields, 14); /* every field, "__" and '_' ones too */
    assert_field(m, "__CURSOR", "s=abc;i=1", 9);
    assert_field(m, "__SEQNUM", "7", 1);
    assert_field(m, "_PID", "4242", 4);
    assert_field(m, "_COMM", "sshd", 4);
    assert_false(m->flags & SL_MSG_HAS_CRED); /* not trusted */
    assert_int_equal(c.dropped, 0);
    sl_msg_unref(m);
}

static void trusted_credentials(void **state)
{
    (void)state;
    int rc;
    struct sl_msg *m = parse(entry, sizeof entry - 1, true, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_true(m->flags & SL_MSG_HAS_CRED);
    assert_int_equal(m->pid, 4242);
    assert_int_equal(m->uid, 1000);
    assert_int_equal(m->gid, 100);
    sl_msg_unref(m);

    /* All three, each valid, or none: a uid of 0 by default would be root. */
    static const char *const partial[] = {
        "_PID=1\n_UID=0\nMESSAGE=x\n",                   /* no _GID */
        "_PID=0\n_UID=0\n_GID=0\nMESSAGE=x\n",           /* pid 0 */
        "_PID=1\n_UID=4294967295\n_GID=0\nMESSAGE=x\n",  /* (uid_t)-1 */
        "_PID=1\n_UID=0\n_GID=99999999999\nMESSAGE=x\n", /* past 32 bits */
        "_PID=2147483648\n_UID=0\n_GID=0\nMESSAGE=x\n",  /* past pid_t */
        "_PID=1x\n_UID=0\n_GID=0\nMESSAGE=x\n",
        "_PID=\n_UID=0\n_GID=0\nMESSAGE=x\n",
    };
    for (size_t i = 0; i < sizeof partial / sizeof *partial; i++) {
        m = parse(partial[i], strlen(partial[i]), true, &rc, NULL);
        assert_int_equal(rc, 0);
        if (m->flags & SL_MSG_HAS_CRED)
            fail_msg("credentials from \"%s\"", partial[i]);
        sl_msg_unref(m);
    }
    /* The first value of each counts. */
    static const char twice[] = "_PID=5\n_PID=6\n_UID=7\n_GID=8\n_GID=9\n";
    m = parse(twice, sizeof twice - 1, true, &rc, NULL);
    assert_true(m->flags & SL_MSG_HAS_CRED);
    assert_int_equal(m->pid, 5);
    assert_int_equal(m->gid, 8);
    sl_msg_unref(m);
}

static void realtime_timestamp(void **state)
{
    (void)state;
    static const struct {
        const char *e;
        bool valid;
        int64_t sec;
    } cases[] = {
        {"__REALTIME_TIMESTAMP=0\n", true, 0},
        {"__REALTIME_TIMESTAMP=253402300799999999\n", true, 253402300799}, /* year 9999 */
        {"__REALTIME_TIMESTAMP=253402300800000000\n", false, 0},
        {"__REALTIME_TIMESTAMP=18446744073709551616\n", false, 0}, /* past 64 bits */
        {"__REALTIME_TIMESTAMP=-1\n", false, 0},
        {"__REALTIME_TIMESTAMP=12a\n", false, 0},
        {"__REALTIME_TIMESTAMP=\n", false, 0},
        {"__REALTIME_TIMESTAMP=5000000\n__REALTIME_TIMESTAMP=9000000\n", true, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc;
        struct sl_msg *m = parse(cases[i].e, strlen(cases[i].e), false, &rc, NULL);
        assert_int_equal(rc, 0);
        assert_int_equal((m->ts.flags & SL_TIME_VALID) != 0, cases[i].valid);
        if (cases[i].valid)
            assert_int_equal(m->ts.sec, cases[i].sec);
        assert_non_null(sl_msg_extra(m, "__REALTIME_TIMESTAMP", 20)); /* kept either way */
        sl_msg_unref(m);
    }
}

static void binary_values(void **state)
{
    (void)state;
    /* MESSAGE with an empty line in it, and a value with NUL and "\n\n":
     * journalctl writes such values binary. */
    static const char e[] = "MESSAGE\n\x0a\0\0\0\0\0\0\0two\n\nlines\n"
                            "BLOB\n\x06\0\0\0\0\0\0\0a\0\n\n\xff\x01\n_HOSTNAME=h\n";
    int rc;
    struct sl_msg *m = parse(e, sizeof e - 1, true, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(m->msg.len, 10);
    assert_memory_equal(m->msg.p, "two\n\nlines", 10);
    assert_field(m, "BLOB", "a\0\n\n\xff\x01", 6);
    assert_str(m->hostname, "h");
    assert_int_equal(m->severity, 6); /* no PRIORITY: user.info */
    assert_int_equal(m->facility, 1);
    sl_msg_unref(m);
}

static void malformed(void **state)
{
    (void)state;
    static const struct {
        const char *e;
        size_t len;
    } bad[] = {
#define E(s) {s, sizeof s - 1}
        E(""),                                   /* no field */
        E("MESSAGE=x"),                          /* cut: no '\n' */
        E("message=x\n"),                        /* lowercase key */
        E("1KEY=x\n"),                           /* starts with a digit */
        E("=x\n"),                               /* empty key */
        E("MESSAGE=x\nBLOB\n\x05\0\0\0\0\0\0\0ab\n"), /* length past the end */
        E("BLOB\n\x02\0\0\0\0\0\0\0abX"),        /* no '\n' after the value */
        E("BLOB\n\x02\0\0"),                     /* cut in the length */
        E("MESSAGE=x\n\n"),                      /* an empty line inside */
#undef E
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = 0;
        struct sl_msg *m = parse(bad[i].e, bad[i].len, true, &rc, NULL);
        if (m != NULL)
            fail_msg("case %zu parsed", i);
        assert_int_equal(rc, -EBADMSG);
    }
}

static void many_fields_first_kept(void **state)
{
    (void)state;
    char e[SL_MSG_MAX_FIELDS * 16 + 64];
    size_t n = 0;
    for (int i = 0; i < SL_MSG_MAX_FIELDS + 5; i++)
        n += (size_t)snprintf(e + n, sizeof e - n, "F%d=%d\n", i, i);
    n += (size_t)snprintf(e + n, sizeof e - n, "MESSAGE=late\n");
    int rc;
    struct sl_export_counts c;
    struct sl_msg *m = parse(e, n, false, &rc, &c);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nfields, SL_MSG_MAX_FIELDS);
    assert_int_equal(c.dropped, 6);
    assert_str(m->msg, "late"); /* mapped even though not kept as a field */
    sl_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(journal_fields_kept_and_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(trusted_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(realtime_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(binary_values, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(many_fields_first_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
