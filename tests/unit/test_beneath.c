/* SPDX-License-Identifier: MIT */
/* test_beneath.c: opening files beneath a directory fd
 * (plugins/lib/beneath.c), both ways: with openat2() where the kernel has
 * it, and the per-component walk that kernels without it get (forced by
 * setting no_openat2). A symlink planted as a directory or as the file is
 * refused (ELOOP, or EXDEV from openat2) and nothing outside is touched;
 * a FIFO does not block; malformed names are refused before any call. */
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

#include <cmocka.h>

#include "lib/beneath.h"

static char tmpdir[256];
static int dfd = -1;

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-beneath-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    char p[512];
    snprintf(p, sizeof p, "%s/dir", tmpdir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/outside", tmpdir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/dir", tmpdir);
    dfd = open(p, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    return 0;
}

static int teardown(void **state)
{
    close(dfd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void in_tmp(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", tmpdir, rel);
}

/* Both ways of opening: the state says which (see the test group). */
static struct spl_beneath way(void **state)
{
    return (struct spl_beneath){.no_openat2 = *state != NULL};
}

static int open_rel(void **state, const char *rel)
{
    struct spl_beneath b = way(state);
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call;
    return spl_beneath_open(&b, dfd, rel, &o, &call);
}

static void test_creates_file_and_directories(void **state)
{
    int fd = open_rel(state, "app/sub/1.log");
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
    char p[512];
    struct stat st;
    in_tmp(p, sizeof p, "dir/app/sub/1.log");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(st.st_size, 2);
    fd = open_rel(state, "app/sub/1.log"); /* existing: appended to */
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "y\n", 2), 2);
    close(fd);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 4);
}

static off_t size_of(const char *rel)
{
    char p[512];
    struct stat st;
    in_tmp(p, sizeof p, rel);
    return lstat(p, &st) == 0 ? st.st_size : -1;
}

/* dir/evil -> ../outside: opening evil/x.log must not create
 * outside/x.log. */
static void test_symlink_as_directory(void **state)
{
    char p[512];
    in_tmp(p, sizeof p, "dir/evil");
    assert_int_equal(symlink("../outside", p), 0);
    int fd = open_rel(state, "evil/x.log");
    assert_true(fd == -ELOOP || fd == -EXDEV);
    assert_int_equal(size_of("outside/x.log"), -1);
    /* Deeper: a link in the middle of a name that exists beyond it. */
    in_tmp(p, sizeof p, "outside/deep");
    assert_int_equal(mkdir(p, 0755), 0);
    fd = open_rel(state, "evil/deep/x.log");
    assert_true(fd == -ELOOP || fd == -EXDEV);
    assert_int_equal(size_of("outside/deep/x.log"), -1);
    /* An absolute link. */
    in_tmp(p, sizeof p, "dir/abs");
    char target[512];
    in_tmp(target, sizeof target, "outside");
    assert_int_equal(symlink(target, p), 0);
    fd = open_rel(state, "abs/y.log");
    assert_true(fd == -ELOOP || fd == -EXDEV);
    assert_int_equal(size_of("outside/y.log"), -1);
}

/* dir/app/1.log -> ../../outside/victim: the victim keeps its size. */
static void test_symlink_as_file(void **state)
{
    char p[512], victim[512];
    in_tmp(victim, sizeof victim, "outside/victim");
    int v = open(victim, O_CREAT | O_WRONLY, 0644);
    assert_true(v >= 0);
    assert_int_equal(write(v, "keep\n", 5), 5);
    close(v);
    in_tmp(p, sizeof p, "dir/app");
    assert_int_equal(mkdir(p, 0755), 0);
    in_tmp(p, sizeof p, "dir/app/1.log");
    assert_int_equal(symlink("../../outside/victim", p), 0);
    int fd = open_rel(state, "app/1.log");
    assert_true(fd == -ELOOP || fd == -EXDEV);
    assert_int_equal(size_of("outside/victim"), 5);
    /* A dangling one: O_CREAT must not create its target either. */
    in_tmp(p, sizeof p, "dir/app/2.log");
    assert_int_equal(symlink("../../outside/new", p), 0);
    fd = open_rel(state, "app/2.log");
    assert_true(fd == -ELOOP || fd == -EXDEV);
    assert_int_equal(size_of("outside/new"), -1);
}

/* Not a regular file: a FIFO (no reader: the open must not block), a
 * directory, a file where a directory should be. */
static void test_not_a_file(void **state)
{
    char p[512];
    in_tmp(p, sizeof p, "dir/fifo");
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_equal(open_rel(state, "fifo"), -ENXIO);
    int r = open(p, O_RDONLY | O_NONBLOCK); /* with a reader: opens, then refused */
    assert_true(r >= 0);
    assert_int_equal(open_rel(state, "fifo"), -ENXIO);
    close(r);
    in_tmp(p, sizeof p, "dir/adir");
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(open_rel(state, "adir"), -EISDIR);
    int fd = open_rel(state, "plain");
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(open_rel(state, "plain/x.log"), -ENOTDIR);
}

static void test_malformed_names(void **state)
{
    const char *bad[] = {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", ".", "..",
                         "./x", "a/./b", "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(open_rel(state, bad[i]), -EINVAL);
    assert_int_equal(size_of("x"), -1);
    /* Names that only look like them are names. */
    int fd = open_rel(state, "...");
    assert_true(fd >= 0);
    close(fd);
    fd = open_rel(state, "%2E.");
    assert_true(fd >= 0);
    close(fd);
}

static void test_dir_of_a_file(void **state)
{
    int fd = open_rel(state, "a/b/c.log");
    assert_true(fd >= 0);
    close(fd);
    int d = spl_beneath_dir(dfd, "a/b/c.log", 3);
    assert_true(d >= 0);
    assert_int_equal(faccessat(d, "c.log", F_OK, 0), 0);
    close(d);
    d = spl_beneath_dir(dfd, "", 0);
    assert_true(d >= 0);
    assert_int_equal(faccessat(d, "a", F_OK, 0), 0);
    close(d);
    char p[512];
    in_tmp(p, sizeof p, "dir/ln");
    assert_int_equal(symlink("a", p), 0);
    assert_int_equal(spl_beneath_dir(dfd, "ln/b", 4), -ELOOP);
    assert_int_equal(spl_beneath_dir(dfd, "../outside", 10), -EINVAL);
}

/* The administrator's directory: made with its parents, or opened. */
static void test_dir_open(void **state)
{
    char p[512];
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call;
    in_tmp(p, sizeof p, "made/by/open");
    int d = spl_dir_open(p, &o, &call);
    assert_true(d >= 0);
    close(d);
    d = spl_dir_open(p, &o, &call);
    assert_true(d >= 0);
    close(d);
    in_tmp(p, sizeof p, "outside/victim2");
    close(open(p, O_CREAT | O_WRONLY, 0644));
    assert_int_equal(spl_dir_open(p, &o, &call), -ENOTDIR);
    assert_int_equal(spl_dir_open("", &o, &call), -ENOENT);
}

#define BOTH(t) cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, NULL), \
                cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, (void *)1)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_creates_file_and_directories),
        BOTH(test_symlink_as_directory),
        BOTH(test_symlink_as_file),
        BOTH(test_not_a_file),
        BOTH(test_malformed_names),
        BOTH(test_dir_of_a_file),
        cmocka_unit_test_setup_teardown(test_dir_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
