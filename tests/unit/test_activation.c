/* SPDX-License-Identifier: MIT */
/* test_activation.c: core/input/activation.c: matching a passed socket to an
 * input's address and type (unix path, IPv4/IPv6 host:port, the socket type
 * and, for a stream, listening), and the table taken from LISTEN_FDS: a
 * matching input gets a dup of the passed socket as often as it asks (a
 * changed input reopened by a reload), an unmatched one -ENOENT, and what
 * no input took is closed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "input/activation.h"

static struct sockaddr_un un(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    return sa;
}

static void test_unix_path(void **state)
{
    (void)state;
    struct sockaddr_un sa = un("/run/systemd/journal/syslog");
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);
    struct sl_activation_want w = {.path = "/run/systemd/journal/syslog", .socktype = SOCK_DGRAM};
    assert_true(sl_activation_match((void *)&sa, len, SOCK_DGRAM, false, &w));
    /* the kind's type: a stream socket at the same path is not unix's */
    assert_false(sl_activation_match((void *)&sa, len, SOCK_STREAM, true, &w));
    w.path = "/run/systemd/journal/sysl";
    assert_false(sl_activation_match((void *)&sa, len, SOCK_DGRAM, false, &w));
    w.path = "/run/systemd/journal/syslog2";
    assert_false(sl_activation_match((void *)&sa, len, SOCK_DGRAM, false, &w));
    /* an inet input never takes a unix socket */
    struct sl_activation_want inet = {.host = "127.0.0.1", .port = "514", .socktype = SOCK_DGRAM};
    assert_false(sl_activation_match((void *)&sa, len, SOCK_DGRAM, false, &inet));
    /* an abstract socket has no path */
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    memcpy(ab.sun_path, "\0x", 2);
    w.path = "x";
    assert_false(sl_activation_match((void *)&ab, offsetof(struct sockaddr_un, sun_path) + 2,
                                     SOCK_DGRAM, false, &w));
    /* a stream socket must listen: Accept=yes passes connections */
    w = (struct sl_activation_want){.path = "/run/j.sock", .socktype = SOCK_STREAM};
    sa = un("/run/j.sock");
    assert_true(sl_activation_match((void *)&sa, sizeof sa, SOCK_STREAM, true, &w));
    assert_false(sl_activation_match((void *)&sa, sizeof sa, SOCK_STREAM, false, &w));
}

static void test_inet(void **state)
{
    (void)state;
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(514)};
    inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
    struct sl_activation_want w = {.host = "127.0.0.1", .port = "514", .socktype = SOCK_DGRAM};
    assert_true(sl_activation_match((void *)&in4, sizeof in4, SOCK_DGRAM, false, &w));
    assert_false(sl_activation_match((void *)&in4, sizeof in4, SOCK_STREAM, true, &w)); /* tcp */
    w.port = "515";
    assert_false(sl_activation_match((void *)&in4, sizeof in4, SOCK_DGRAM, false, &w));
    w = (struct sl_activation_want){.host = "0.0.0.0", .port = "514", .socktype = SOCK_STREAM};
    assert_false(sl_activation_match((void *)&in4, sizeof in4, SOCK_STREAM, true, &w));
    in4.sin_addr.s_addr = htonl(INADDR_ANY);
    assert_true(sl_activation_match((void *)&in4, sizeof in4, SOCK_STREAM, true, &w));
    /* a NULL host is every address, as bind_inet's AI_PASSIVE makes it */
    w.host = NULL;
    assert_true(sl_activation_match((void *)&in4, sizeof in4, SOCK_STREAM, true, &w));
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(601)};
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    w = (struct sl_activation_want){.host = "::1", .port = "601", .socktype = SOCK_STREAM};
    assert_true(sl_activation_match((void *)&in6, sizeof in6, SOCK_STREAM, true, &w));
    /* [::]:601, systemd's dual-stack ListenStream=601, is 0.0.0.0:601 too */
    struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_port = htons(601),
                                .sin6_addr = IN6ADDR_ANY_INIT};
    w.host = "0.0.0.0";
    assert_true(sl_activation_match((void *)&any6, sizeof any6, SOCK_STREAM, true, &w));
    w.port = "602";
    assert_false(sl_activation_match((void *)&any6, sizeof any6, SOCK_STREAM, true, &w));
    w.port = "601";
    w.host = "127.0.0.1";
    assert_false(sl_activation_match((void *)&any6, sizeof any6, SOCK_STREAM, true, &w));
    assert_false(sl_activation_match((void *)&in6, sizeof in6, SOCK_STREAM, true, &w));
    w.host = "not an address at all";
    assert_false(sl_activation_match((void *)&in6, sizeof in6, SOCK_STREAM, true, &w));
    /* a unix input never takes an inet socket */
    w = (struct sl_activation_want){.path = "/dev/log", .socktype = SOCK_DGRAM};
    assert_false(sl_activation_match((void *)&in4, sizeof in4, SOCK_DGRAM, false, &w));
}

static ino_t inode(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_ino;
}

#ifdef HAVE_LIBSYSTEMD
/* LISTEN_FDS as systemd sets it: fd 3 a unix datagram socket, fd 4 a
 * listening TCP one, named. */
static void test_table(void **state)
{
    (void)state;
    char dir[] = "/tmp/sl-activation-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log", dir);
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = un(path);
    assert_int_equal(bind(u, (void *)&sa, sizeof sa), 0);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(t, (void *)&in4, sizeof in4), 0);
    assert_int_equal(listen(t, 4), 0);
    socklen_t sl = sizeof in4;
    getsockname(t, (void *)&in4, &sl);
    char port[16];
    snprintf(port, sizeof port, "%u", ntohs(in4.sin_port));
    int spare = socket(AF_INET, SOCK_DGRAM, 0); /* matches nothing */
    /* above 5 first: socket() may have handed out 3, 4 or 5 itself */
    u = fcntl(u, F_DUPFD, 10);
    t = fcntl(t, F_DUPFD, 10);
    spare = fcntl(spare, F_DUPFD, 10);
    close(3);
    close(4);
    close(5);
    assert_int_equal(dup2(u, 3), 3);
    assert_int_equal(dup2(t, 4), 4);
    assert_int_equal(dup2(spare, 5), 5);
    close(u);
    close(t);
    close(spare);
    char pid[16];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "3", 1);
    setenv("LISTEN_FDNAMES", "syslog.socket:tcp.socket:spare", 1);
    struct sl_activation *a;
    assert_int_equal(sl_activation_collect(&a), 0);
    assert_non_null(a);
    assert_null(getenv("LISTEN_FDS")); /* nothing sluiced starts sees them */

    const char *name = NULL;
    struct sl_activation_want w = {.path = path, .socktype = SOCK_DGRAM};
    int fd = sl_activation_take(a, &w, &name);
    assert_true(fd > 5);
    assert_string_equal(name, "syslog.socket");
    assert_int_equal(inode(fd), inode(3));
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    /* a reload's changed input at the same address gets it again */
    int again = sl_activation_take(a, &w, &name);
    assert_true(again >= 0 && again != fd);
    assert_int_equal(inode(again), inode(3));
    close(again);
    close(fd);

    w = (struct sl_activation_want){.host = "127.0.0.1", .port = port, .socktype = SOCK_STREAM};
    fd = sl_activation_take(a, &w, &name);
    assert_true(fd >= 0);
    assert_string_equal(name, "tcp.socket");
    assert_int_equal(inode(fd), inode(4));
    close(fd);
    w.socktype = SOCK_DGRAM; /* udp at the tcp port: not passed */
    assert_int_equal(sl_activation_take(a, &w, &name), -ENOENT);
    w = (struct sl_activation_want){.path = "/elsewhere", .socktype = SOCK_DGRAM};
    assert_int_equal(sl_activation_take(a, &w, &name), -ENOENT);
    assert_int_equal(sl_activation_take(NULL, &w, &name), -ENOENT);

    sl_activation_close_unused(a);
    assert_int_equal(fcntl(5, F_GETFD), -1); /* the unmatched one is closed */
    assert_true(fcntl(3, F_GETFD) >= 0);      /* the taken ones kept */
    sl_activation_free(a);
    assert_int_equal(fcntl(3, F_GETFD), -1);
    assert_int_equal(fcntl(4, F_GETFD), -1);
    unlink(path);
    rmdir(dir);
}
#endif

/* Nothing passed: no table. */
static void test_none(void **state)
{
    (void)state;
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    struct sl_activation *a = (void *)1;
    assert_int_equal(sl_activation_collect(&a), 0);
    assert_null(a);
    sl_activation_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_path),
        cmocka_unit_test(test_inet),
#ifdef HAVE_LIBSYSTEMD
        cmocka_unit_test(test_table),
#endif
        cmocka_unit_test(test_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
