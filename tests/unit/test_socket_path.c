/* SPDX-License-Identifier: MIT */
/* test_socket_path.c: sl_claim_socket_path(), the one rule by which every
 * unix socket the daemon binds takes its path: a socket nobody is behind
 * is removed, a live one (another daemon) is refused with its pid, and a
 * symbolic link or anything else is never followed nor removed. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"

struct dir {
    char path[64], sock[96];
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/sl-sockpath-XXXXXX");
    assert_non_null(mkdtemp(d->path));
    snprintf(d->sock, sizeof d->sock, "%s/s", d->path);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    char p[128];
    snprintf(p, sizeof p, "%s/t", d->path);
    unlink(d->sock);
    unlink(p);
    rmdir(d->path);
    free(d);
    return 0;
}

/* A socket of type bound at path; listening when it is a stream one. */
static int bound(const char *path, int type)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, type, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (type != SOCK_DGRAM)
        assert_int_equal(listen(fd, 1), 0);
    return fd;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void a_free_path_is_free(void **state)
{
    struct dir *d = *state;
    pid_t holder = 99;
    assert_int_equal(sl_claim_socket_path(d->sock, &holder), 0);
    assert_int_equal(holder, 0);
}

static void a_stale_socket_of_each_type_is_removed(void **state)
{
    struct dir *d = *state;
    static const int types[] = {SOCK_DGRAM, SOCK_STREAM, SOCK_SEQPACKET};
    for (size_t i = 0; i < 3; i++) {
        close(bound(d->sock, types[i])); /* closed: nobody behind the file */
        assert_true(exists(d->sock));
        assert_int_equal(sl_claim_socket_path(d->sock, NULL), 0);
        assert_false(exists(d->sock));
    }
}

static void a_live_socket_is_refused_with_its_pid(void **state)
{
    struct dir *d = *state;
    char why[320];
    int fd = bound(d->sock, SOCK_STREAM);
    pid_t holder = 0;
    assert_int_equal(sl_claim_socket_path(d->sock, &holder), -EADDRINUSE);
    assert_int_equal(holder, getpid()); /* SO_PEERCRED of the listener */
    assert_non_null(strstr(sl_socket_path_problem(-EADDRINUSE, holder, why, sizeof why),
                           "receives on it"));
    assert_true(exists(d->sock));
    close(fd);
    unlink(d->sock);
    fd = bound(d->sock, SOCK_DGRAM); /* /dev/log's kind */
    assert_int_equal(sl_claim_socket_path(d->sock, &holder), -EADDRINUSE);
    assert_true(exists(d->sock));
    assert_int_equal(sl_remove_stale_socket(d->sock), -EADDRINUSE); /* the same rule */
    close(fd);
}

static void a_symlink_or_a_file_is_left_alone(void **state)
{
    struct dir *d = *state;
    char target[128], why[320];
    snprintf(target, sizeof target, "%s/t", d->path);
    close(bound(target, SOCK_DGRAM)); /* a stale socket, behind a link */
    assert_int_equal(symlink(target, d->sock), 0);
    assert_int_equal(sl_claim_socket_path(d->sock, NULL), -ELOOP);
    assert_true(exists(d->sock) && exists(target));
    assert_non_null(strstr(sl_socket_path_problem(-ELOOP, 0, why, sizeof why),
                           "syslog.socket"));
    unlink(d->sock);
    FILE *f = fopen(d->sock, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(sl_claim_socket_path(d->sock, NULL), -EEXIST);
    assert_true(exists(d->sock));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_free_path_is_free),
        T(a_stale_socket_of_each_type_is_removed),
        T(a_live_socket_is_refused_with_its_pid),
        T(a_symlink_or_a_file_is_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
