/* SPDX-License-Identifier: MIT */
/* test_users.c: the pieces of the users output (plugins/users/tty.c):
 * which ut_line names a terminal, reading a utmp file of our own, opening
 * a terminal beneath a directory (a pty of our own through the real /dev;
 * a symlink, a regular file and a symlinked pts/ in a directory of ours),
 * a terminal that would block, and the text made safe for a terminal. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>

#include <cmocka.h>

#include "users/tty.h"

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-users-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static bool ok(const char *line)
{
    return tty_line_ok(line, strlen(line));
}

static void test_line_names(void **state)
{
    (void)state;
    const char *good[] = {"pts/0", "pts/317", "tty1", "ttyS0", "ttyUSB0", "ttyAMA0", "hvc0",
                          "console"};
    const char *bad[] = {"", "pts/", "pts/1a", "pts/../1", "../etc/passwd", "/etc/passwd",
                         "pts//1", "tty", "tty1/x", "tty.1", "ttyS0 ", "ptmx", "watchdog",
                         "null", "sda", "..", "consoles", "hvc", "pts/1/2", "ttyé"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ok(bad[i]))
            fail_msg("\"%s\" taken for a terminal", bad[i]);
    }
    /* ut_line is not NUL-terminated when full: the length decides. */
    assert_false(tty_line_ok("tty1\0../x", 9));
    assert_true(tty_line_ok("tty12345", 4));
}

/* {=== utmp */
static void put_record(int fd, short type, const char *user, const char *line)
{
    struct utmpx u;
    memset(&u, 0, sizeof u);
    u.ut_type = type;
    u.ut_pid = 1234;
    strncpy(u.ut_user, user, sizeof u.ut_user);
    strncpy(u.ut_line, line, sizeof u.ut_line);
    assert_int_equal(write(fd, &u, sizeof u), (ssize_t)sizeof u);
}

static void write_utmp(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    put_record(fd, BOOT_TIME, "reboot", "~");
    put_record(fd, LOGIN_PROCESS, "LOGIN", "tty2");
    put_record(fd, USER_PROCESS, "alice", "pts/5");
    put_record(fd, USER_PROCESS, "bob", "tty1");
    put_record(fd, DEAD_PROCESS, "carol", "pts/6");
    put_record(fd, USER_PROCESS, "alice", "pts/5"); /* the same terminal twice */
    put_record(fd, USER_PROCESS, "mallory", "../etc/passwd");
    put_record(fd, USER_PROCESS, "alice", "pts/7");
    /* A full ut_user: 32 bytes, no NUL. */
    put_record(fd, USER_PROCESS, "a_user_name_of_32_bytes_exactly_", "pts/8");
    assert_int_equal(write(fd, "torn", 4), 4); /* a record being written */
    close(fd);
}

static void test_utmp_everyone(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/utmp", tmpdir);
    write_utmp(path);
    struct tty_login out[8];
    unsigned long long bad = 0;
    int n = tty_read_utmp(path, NULL, 0, out, 8, &bad);
    assert_int_equal(n, 4);
    assert_string_equal(out[0].line, "pts/5");
    assert_string_equal(out[1].line, "tty1");
    assert_string_equal(out[2].line, "pts/7");
    assert_string_equal(out[3].line, "pts/8");
    assert_int_equal(bad, 1);
    /* No more than max. */
    bad = 0;
    assert_int_equal(tty_read_utmp(path, NULL, 0, out, 2, &bad), 2);
}

static void test_utmp_named(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/utmp", tmpdir);
    write_utmp(path);
    struct tty_login out[8];
    unsigned long long bad = 0;
    const char *alice[] = {"alice"};
    assert_int_equal(tty_read_utmp(path, alice, 1, out, 8, &bad), 2);
    assert_string_equal(out[0].line, "pts/5");
    assert_string_equal(out[1].line, "pts/7");
    assert_int_equal(bad, 0); /* mallory's record is not looked at */
    const char *two[] = {"bob", "a_user_name_of_32_bytes_exactly_", "carol"};
    assert_int_equal(tty_read_utmp(path, two, 3, out, 8, &bad), 2);
    assert_string_equal(out[0].line, "tty1");
    assert_string_equal(out[1].line, "pts/8");
    const char *prefix[] = {"alic"}; /* a prefix of a name is not the name */
    assert_int_equal(tty_read_utmp(path, prefix, 1, out, 8, &bad), 0);
    snprintf(path, sizeof path, "%s/missing", tmpdir);
    assert_int_equal(tty_read_utmp(path, NULL, 0, out, 8, &bad), -ENOENT);
}
/* }=== */

/* {=== terminals */
/* A pty of ours: the master fd, its slave's name under /dev ("pts/N"). */
static int open_pty(char *line, size_t len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    const char *name = ptsname(m);
    assert_non_null(name);
    assert_int_equal(strncmp(name, "/dev/", 5), 0);
    snprintf(line, len, "%s", name + 5);
    return m;
}

static void test_open_pty(void **state)
{
    (void)state;
    char line[64];
    int m = open_pty(line, sizeof line);
    assert_true(ok(line));
    int dev = open("/dev", O_PATH | O_DIRECTORY);
    assert_true(dev >= 0);
    enum tty_refusal why;
    int e;
    int fd = tty_open(dev, line, &why, &e);
    assert_true(fd >= 0);
    assert_int_equal(why, TTY_OK);
    assert_int_equal(tty_write(fd, "hello", 5, &e), TTY_OK);
    char got[16] = "";
    assert_int_equal(read(m, got, sizeof got - 1), 5);
    assert_string_equal(got, "hello");
    /* A terminal nobody reads fills up: the writer is told, never held. */
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    enum tty_refusal r = TTY_OK;
    for (int i = 0; i < 10000 && r == TTY_OK; i++)
        r = tty_write(fd, chunk, sizeof chunk, &e);
    assert_int_equal(r, TTY_BUSY);
    close(fd);
    close(dev);
    close(m);
}

static void test_open_refused(void **state)
{
    (void)state;
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/dev", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/ttyfile", dir);
    int f = open(p, O_WRONLY | O_CREAT, 0644);
    assert_true(f >= 0);
    close(f);
    snprintf(p, sizeof p, "%s/ttylink", dir);
    assert_int_equal(symlink("/dev/null", p), 0);
    snprintf(p, sizeof p, "%s/pts", dir);
    assert_int_equal(symlink("/dev/pts", p), 0);
    int dev = open(dir, O_PATH | O_DIRECTORY);
    assert_true(dev >= 0);
    char line[64];
    int m = open_pty(line, sizeof line); /* exists under /dev/pts, reached only by the link */
    struct {
        const char *line;
        int err;
    } cases[] = {{"ttyfile", 0}, {"ttylink", ELOOP}, {line, ELOOP}, {"ttymissing", ENOENT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum tty_refusal why;
        int e;
        assert_int_equal(tty_open(dev, cases[i].line, &why, &e), -1);
        assert_int_equal(why, TTY_NOT_TTY);
        if (cases[i].err != 0)
            assert_int_equal(e, cases[i].err);
    }
    /* The file is untouched: nothing was opened for writing. */
    struct stat st;
    snprintf(p, sizeof p, "%s/ttyfile", dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(m);
    close(dev);
}
/* }=== */

/* {=== text */
static void expect_safe_n(const char *in, size_t len, const char *want)
{
    struct sluice_buf b = {NULL, 0, 0};
    assert_int_equal(tty_append_safe(&b, in, len), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    free(b.data);
}

/* in is a literal: its length is its size, NULs included. */
#define expect_safe(in, want) expect_safe_n(in, sizeof(in) - 1, want)

static void test_safe_text(void **state)
{
    (void)state;
    expect_safe("plain text", "plain text");
    expect_safe("\x1b]0;pwned\x07", "?]0;pwned?");
    expect_safe("a\r\nb\tc\x7f", "a??b?c?");
    expect_safe("nul\0x", "nul?x");
    expect_safe("csi\xc2\x9b" "2J", "csi?2J");      /* U+009B, C1 CSI */
    expect_safe("raw\x9b" "2J", "raw?2J");          /* an 8-bit CSI: no UTF-8 */
    expect_safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* é € and an emoji stay */
    expect_safe("\xc2\xa0nbsp", "\xc2\xa0nbsp");  /* U+00A0 is no control */
    expect_safe("\xc0\x9b", "??");                 /* overlong: two bad bytes */
    expect_safe("\xed\xa0\x80", "???");            /* a surrogate */
    expect_safe("cut\xe2\x82", "cut??");           /* a sequence cut short */
    struct sluice_buf b = {NULL, 0, 0};
    assert_int_equal(tty_append(&b, "ab", 2), 0);
    assert_int_equal(tty_append_safe(&b, "\x1b" "c", 2), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "ab?c", 4);
    free(b.data);
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_names),
        cmocka_unit_test_setup_teardown(test_utmp_everyone, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_utmp_named, make_tmpdir, remove_tmpdir),
        cmocka_unit_test(test_open_pty),
        cmocka_unit_test_setup_teardown(test_open_refused, make_tmpdir, remove_tmpdir),
        cmocka_unit_test(test_safe_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
