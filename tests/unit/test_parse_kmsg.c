/* SPDX-License-Identifier: MIT */
/*
 * test_parse_kmsg.c: the /dev/kmsg record parser, on records captured from
 * a 6.18 kernel's /dev/kmsg (a device's dictionary, \x09 and \x0a escapes,
 * a line written by a program with and without <PRI>), the older kernels'
 * forms (continuation flags 'c' and '+', no FLAGS at all), the time
 * conversion, each malformed header, and bad or too many dictionary lines.
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

#include "parse/parse.h"
#include "parse/parse_kmsg.h"

static struct sl_msgpool pool;
static const struct sl_parse_ctx ctx = {.hostname = {"here", 4}, .tzoff_min = 60};

static int setup(void **state)
{
    (void)state;
    sl_msgpool_init(&pool, "kernel");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_msgpool_release(&pool);
    return 0;
}

/* Parses the record r[0..len): the message, or NULL with *rc == -EBADMSG. */
static struct sl_msg *parse_n(const char *r, size_t len, int *rc, struct sl_kmsg_info *k)
{
    struct sl_msg_builder b;
    assert_int_equal(sl_msg_build_begin(&b, &pool, r, len, NULL, 0), 0);
    *rc = sl_parse_kmsg(&b, &ctx, k);
    if (*rc == -EBADMSG) {
        sl_msg_build_abort(&b);
        return NULL;
    }
    return sl_msg_build_end(&b);
}

static struct sl_msg *parse(const char *r, int *rc, struct sl_kmsg_info *k)
{
    return parse_n(r, strlen(r), rc, k);
}

static void assert_str(struct sl_str s, const char *v)
{
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(v));
    assert_memory_equal(s.p, v, s.len);
}

static void assert_field(const struct sl_msg *m, const char *key, const char *v)
{
    const struct sl_field *f = sl_msg_extra(m, key, strlen(key));
    assert_non_null(f);
    assert_str(f->value, v);
}

static void a_device_record(void **state)
{
    (void)state;
    const char r[] = "6,205,223868,-;pci 0000:00:00.0: [8086:0d57] type 00 class 0x060000 "
                     "conventional PCI endpoint\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:00.0\n";
    struct sl_kmsg_info k = {.boot_wall_ns = 0};
    int rc;
    struct sl_msg *m = parse(r, &rc, &k);
    assert_int_equal(rc, 0);
    assert_int_equal(k.seq, 205);
    assert_int_equal(k.dropped, 0);
    assert_int_equal(m->facility, 0);
    assert_int_equal(m->severity, 6);
    assert_int_equal(m->pri, 6);
    assert_int_equal(m->format, SL_FMT_UNPARSED);
    assert_str(m->msg, "pci 0000:00:00.0: [8086:0d57] type 00 class 0x060000 conventional PCI "
                       "endpoint");
    assert_str(m->app_name, "kernel");
    assert_str(m->hostname, "here");
    assert_null(m->procid.p);
    assert_str(m->raw, r); /* raw stays the record as read */
    assert_int_equal(m->nfields, 4);
    assert_field(m, "_KERNEL_SEQNUM", "205");
    assert_field(m, "_SOURCE_MONOTONIC_TIMESTAMP", "223868");
    assert_field(m, "_KERNEL_SUBSYSTEM", "pci");
    assert_field(m, "_KERNEL_DEVICE", "+pci:0000:00:00.0");
    sl_msg_unref(m);
}

static void escapes_are_undone(void **state)
{
    (void)state;
    int rc;
    struct sl_msg *m = parse("6,103,155693,-;rcu: \\x09RCU restricting CPUs from NR_CPUS=256 "
                             "to nr_cpu_ids=2.\n", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_str(m->msg, "rcu: \tRCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=2.");
    assert_true(m->raw.len > 0 && memmem(m->raw.p, m->raw.len, "\\x09", 4) != NULL);
    sl_msg_unref(m);
    m = parse("4,283,327339,-;amd_pstate: The CPPC feature is supported but currently disabled "
              "by the BIOS.\\x0aPlease enable it if your BIOS has the CPPC option.\n", &rc, NULL);
    assert_str(m->msg, "amd_pstate: The CPPC feature is supported but currently disabled by the "
                       "BIOS.\nPlease enable it if your BIOS has the CPPC option.");
    sl_msg_unref(m);
    /* What a program wrote: UTF-8, a TAB and a backslash, all escaped. */
    struct sl_kmsg_info k = {0};
    m = parse("14,340,828836085,-;sluice-capture[42]: h\\xc3\\xa9llo\\x09tab \\x5c back\n", &rc,
              &k);
    assert_int_equal(rc, 0);
    assert_int_equal(k.seq, 340);
    assert_str(m->msg, "sluice-capture[42]: h\xc3\xa9llo\ttab \\ back");
    assert_int_equal(m->facility, 1); /* user: a program's, not the kernel's */
    assert_int_equal(m->severity, 6);
    assert_str(m->app_name, "kernel");
    sl_msg_unref(m);
    /* A backslash that starts no \xNN is kept. */
    m = parse("6,1,2,-;a\\q \\x4 \\xZZ end\\", &rc, NULL);
    assert_str(m->msg, "a\\q \\x4 \\xZZ end\\");
    sl_msg_unref(m);
}

static void a_program_without_pri(void **state)
{
    (void)state;
    int rc;
    /* The kernel gives a write with no <PRI> user.warning (its default
     * message level); with <29>, daemon.notice. */
    struct sl_msg *m = parse("12,342,828836129,-;no pri at all\n", &rc, NULL);
    assert_int_equal(m->facility, 1);
    assert_int_equal(m->severity, 4);
    sl_msg_unref(m);
    m = parse("29,341,828836110,-;plain daemon notice\n", &rc, NULL);
    assert_int_equal(m->facility, 3);
    assert_int_equal(m->severity, 5);
    assert_str(m->msg, "plain daemon notice");
    sl_msg_unref(m);
}

static void older_forms(void **state)
{
    (void)state;
    int rc;
    struct sl_kmsg_info k = {0};
    /* Before 4.9 a continued line came in fragments: 'c' then '+'. Each is
     * a message, as journald and rsyslog take them. */
    struct sl_msg *m = parse("6,1234,5678,c;usb 1-1: new device", &rc, &k);
    assert_int_equal(rc, 0);
    assert_int_equal(k.seq, 1234);
    assert_str(m->msg, "usb 1-1: new device");
    sl_msg_unref(m);
    m = parse("6,1235,5679,+; more\n", &rc, &k);
    assert_int_equal(rc, 0);
    assert_str(m->msg, " more");
    sl_msg_unref(m);
    /* 3.5 wrote no FLAGS; CONFIG_PRINTK_CALLER adds ",caller=T1". */
    m = parse("3,7,100;no flags\n SUBSYSTEM=x\n", &rc, &k);
    assert_int_equal(rc, 0);
    assert_int_equal(m->severity, 3);
    assert_str(m->msg, "no flags");
    assert_field(m, "_KERNEL_SUBSYSTEM", "x");
    sl_msg_unref(m);
    m = parse("6,8,100,-,caller=T12;with caller\n", &rc, &k);
    assert_int_equal(rc, 0);
    assert_str(m->msg, "with caller");
    sl_msg_unref(m);
    /* An empty text. */
    m = parse("6,9,100,-;\n", &rc, &k);
    assert_int_equal(rc, 0);
    assert_non_null(m->msg.p);
    assert_int_equal(m->msg.len, 0);
    sl_msg_unref(m);
}

static void time_is_boot_plus_usec(void **state)
{
    (void)state;
    int rc;
    struct sl_kmsg_info k = {.boot_wall_ns = 1700000000500000000ll};
    struct sl_msg *m = parse("6,1,828836085,-;t", &rc, &k);
    assert_int_equal(m->ts.flags, SL_TIME_VALID);
    assert_int_equal(m->ts.sec, 1700000000ll + 829);
    assert_int_equal(m->ts.nsec, 336085000);
    assert_int_equal(m->ts.frac_digits, 6);
    assert_int_equal(m->ts.tzoff_min, 60);
    assert_null(m->timestamp.p);
    sl_msg_unref(m);
    /* A clock set before 1970: the offset is negative; nsec stays 0..1e9-1. */
    k.boot_wall_ns = -1500000000ll;
    m = parse("6,1,200000,-;t", &rc, &k);
    assert_int_equal(m->ts.sec, -2);
    assert_int_equal(m->ts.nsec, 700000000);
    sl_msg_unref(m);
}

static void malformed_headers_drop_the_record(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "hello",
        "6;x",
        "6,1;x",
        "6,1,2",                          /* no ';' */
        "6,1,2,-",
        "6,,2;x",
        "6,1,,-;x",
        "-6,1,2,-;x",
        "2048,1,2,-;x",                   /* past the kernel's facility byte */
        "6,1,2\n;x",                      /* the ';' is not on the first line */
        "6,1,2,-\n SUBSYSTEM=a;b\n",
        "6,18446744073709551616,2,-;x",   /* 2^64 */
        "6,1,123456789012345678901,-;x",  /* 21 digits */
        "6 ,1,2,-;x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc;
        struct sl_kmsg_info k = {.seq = 99};
        assert_null(parse(bad[i], &rc, &k));
        assert_int_equal(rc, -EBADMSG);
    }
    /* A NUL where a digit or separator should be. */
    int rc;
    assert_null(parse_n("6\0,1,2,-;x", 10, &rc, NULL));
    assert_int_equal(rc, -EBADMSG);
    /* The largest numbers still are numbers. */
    struct sl_kmsg_info k = {0};
    struct sl_msg *m = parse("2047,18446744073709551615,18446744073709551615,-;x", &rc, &k);
    assert_non_null(m);
    assert_int_equal(k.seq, UINT64_MAX);
    assert_int_equal(rc, -EINVAL); /* facility 255: delivered as user, a parse error */
    assert_int_equal(m->facility, 1);
    assert_int_equal(m->severity, 7);
    sl_msg_unref(m);
}

static void bad_dictionary_lines_are_skipped(void **state)
{
    (void)state;
    int rc;
    struct sl_kmsg_info k = {0};
    struct sl_msg *m = parse("6,1,2,-;text\nNOSPACE=1\n =empty key\n GOOD=1\n BAD KEY=2\n"
                             " NOEQUALS\n " /* a lone space */ "\n DEVICE=c189:1\n"
                             " DEVICE=second\n EMPTY=\n ESC=a\\x20b\n"
                             " AN_EXTREMELY_LONG_DICTIONARY_KEY_OF_MORE_THAN_56_BYTES_XYZ=v\n",
                             &rc, &k);
    assert_int_equal(rc, 0);
    assert_str(m->msg, "text");
    assert_field(m, "_KERNEL_GOOD", "1");
    assert_field(m, "_KERNEL_DEVICE", "c189:1"); /* the first of a key given twice */
    assert_field(m, "_KERNEL_EMPTY", "");
    assert_field(m, "_KERNEL_ESC", "a b");
    /* NOSPACE, "=empty key", "BAD KEY", NOEQUALS, " ", the long key */
    assert_int_equal(k.dropped, 6);
    assert_int_equal(m->nfields, 2 + 4);
    sl_msg_unref(m);
}

static void fields_past_the_limit_are_counted(void **state)
{
    (void)state;
    char *r = malloc(16384);
    size_t n = (size_t)snprintf(r, 16384, "6,1,2,-;many");
    for (int i = 0; i < 80; i++)
        n += (size_t)snprintf(r + n, 16384 - n, "\n K%d=%d", i, i);
    int rc;
    struct sl_kmsg_info k = {0};
    struct sl_msg *m = parse_n(r, n, &rc, &k);
    assert_int_equal(rc, 0);
    assert_int_equal(m->nfields, SL_MSG_MAX_FIELDS);
    assert_int_equal(k.dropped, 80 + 2 - SL_MSG_MAX_FIELDS);
    assert_field(m, "_KERNEL_K0", "0");
    assert_null(sl_msg_extra(m, "_KERNEL_K79", 11));
    sl_msg_unref(m);
    free(r);
}

/* A long escaped text and escaped values: the reserved bytes and the
 * fields move the message to chunks of its own, and every span follows. */
static void long_escaped_records_move_whole(void **state)
{
    (void)state;
    size_t reps = 40000;
    char *r = malloc(reps * 8 + 64);
    size_t n = (size_t)sprintf(r, "6,5,6,-;");
    for (size_t i = 0; i < reps; i++)
        n += (size_t)sprintf(r + n, "\\x41");
    n += (size_t)sprintf(r + n, "\n V=");
    for (size_t i = 0; i < reps; i++)
        n += (size_t)sprintf(r + n, "\\x42");
    n += (size_t)sprintf(r + n, "\n W=plain\n");
    /* Something before it in the pool's chunk, so the build must move. */
    int rc;
    struct sl_msg *first = parse("6,4,5,-;first", &rc, NULL);
    struct sl_msg *m = parse_n(r, n, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(m->msg.len, reps);
    for (size_t i = 0; i < reps; i++)
        assert_true(m->msg.p[i] == 'A');
    assert_int_equal(m->raw.len, n);
    assert_memory_equal(m->raw.p, r, n);
    const struct sl_field *v = sl_msg_extra(m, "_KERNEL_V", 9);
    assert_non_null(v);
    assert_int_equal(v->value.len, reps);
    for (size_t i = 0; i < reps; i++)
        assert_true(v->value.p[i] == 'B');
    assert_field(m, "_KERNEL_W", "plain");
    assert_field(m, "_KERNEL_SEQNUM", "5");
    assert_str(first->msg, "first");
    /* A copy out of the chunk keeps the unescaped text. */
    struct sl_msg *x = sl_msg_copy_out(m);
    assert_non_null(x);
    assert_int_equal(x->msg.len, reps);
    assert_true(x->msg.p[0] == 'A' && x->msg.p[reps - 1] == 'A');
    sl_msg_unref(x);
    sl_msg_unref(m);
    sl_msg_unref(first);
    free(r);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_device_record),
        T(escapes_are_undone),
        T(a_program_without_pri),
        T(older_forms),
        T(time_is_boot_plus_usec),
        T(malformed_headers_drop_the_record),
        T(bad_dictionary_lines_are_skipped),
        T(fields_past_the_limit_are_counted),
        T(long_escaped_records_move_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
