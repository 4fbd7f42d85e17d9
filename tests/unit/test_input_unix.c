/* SPDX-License-Identifier: MIT */
/*
 * test_input_unix.c: the unix input's socket file (input_unix.c): its mode
 * is the configured one whatever the umask, and nothing after bind() goes
 * by the path, so a file swapped in at the path meanwhile is not touched.
 *
 * bind() is wrapped (-Wl,--wrap=bind): after the real bind of the test's
 * socket path it can replace the new socket file with a symlink to a victim
 * file, as a user who owns the socket's directory could. Code that
 * chmod()s the path after bind() then changes the victim's mode.
 *
 * What this cannot show: the umask of other threads during the bind (the
 * bind thread's umask is private; that is unshare(2)'s promise, not checked
 * here), and a swap at any moment other than right after bind() returns.
 */
#include "config.h" /* _GNU_SOURCE: mkdtemp */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include "input/input.h"

static struct {
    char dir[64], sock[128], victim[128];
    bool swap; /* replace the socket file by a symlink to victim after bind */
} g;

int __real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    int rc = __real_bind(fd, sa, len);
    const struct sockaddr_un *un = (const void *)sa;
    if (rc == 0 && g.swap && sa->sa_family == AF_UNIX && strcmp(un->sun_path, g.sock) == 0) {
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s.swap", g.sock);
        assert_int_equal(symlink(g.victim, tmp), 0);
        assert_int_equal(rename(tmp, g.sock), 0); /* atomically, over the socket */
    }
    return rc;
}

struct fixture {
    struct sl_config *c;
    struct sl_routing routing;
};

static void setup(struct fixture *x, const char *mode)
{
    memset(&g, 0, sizeof g);
    snprintf(g.dir, sizeof g.dir, "/tmp/sluice-unix-XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    snprintf(g.sock, sizeof g.sock, "%s/log.sock", g.dir);
    snprintf(g.victim, sizeof g.victim, "%s/victim", g.dir);
    char text[512];
    snprintf(text, sizeof text, "input 'i' { type = 'unix', path = '%s', mode = '%s' }\n", g.sock,
             mode);
    struct sl_errors errs = {0};
    int rc = sl_config_load_text(text, strlen(text), "unix.lua", &x->c, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "  config: %s\n", errs.v[i]);
    sl_errors_clear(&errs);
    assert_int_equal(rc, 0);
    static atomic_uint_fast64_t unrouted;
    x->routing = (struct sl_routing){.unrouted = &unrouted, .hostname = {"h", 1}};
    assert_int_equal(sl_router_init(&x->routing.router, x->c, "h"), 0);
}

static void teardown(struct fixture *x)
{
    sl_router_free(&x->routing.router);
    sl_config_free(x->c);
    unlink(g.sock);
    unlink(g.victim);
    assert_int_equal(rmdir(g.dir), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode;
}

static void open_close(struct fixture *x)
{
    struct sl_input *in;
    char err[512] = "";
    int rc = sl_input_open(&in, &x->c->inputs[0], &x->routing, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "  open: %s\n", err);
    assert_int_equal(rc, 0);
    sl_input_close(in, 0);
}

/* The configured mode exactly: the umask neither narrows it (0666 under
 * 077) nor is it needed to narrow (0640 under 0). */
static void socket_mode_is_the_configured_one_whatever_the_umask(void **state)
{
    struct { const char *conf; mode_t umask, want; } cases[] = {
        {"0666", 077, 0666}, {"0640", 0, 0640}, {"0600", 022, 0600},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture x;
        setup(&x, cases[i].conf);
        mode_t old = umask(cases[i].umask);
        struct sl_input *in;
        char err[512] = "";
        assert_int_equal(sl_input_open(&in, &x.c->inputs[0], &x.routing, err, sizeof err), 0);
        mode_t got = mode_of(g.sock);
        assert_true(S_ISSOCK(got));
        if ((got & 07777) != cases[i].want)
            fprintf(stderr, "  mode %s under umask %03o: got %04o\n", cases[i].conf,
                    (unsigned)cases[i].umask, (unsigned)(got & 07777));
        assert_int_equal(got & 07777, cases[i].want);
        assert_int_equal(umask(old), cases[i].umask); /* the process's umask is as it was */
        sl_input_close(in, 0);
        teardown(&x);
    }
}

/* A symlink put at the path right after bind() is not followed: the file
 * it points to keeps its mode. */
static void no_chmod_by_path_after_bind(void **state)
{
    struct fixture x;
    setup(&x, "0666");
    FILE *f = fopen(g.victim, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(g.victim, 0600), 0);
    g.swap = true;
    open_close(&x);
    assert_int_equal(mode_of(g.victim) & 07777, 0600);
    teardown(&x);
}

/* A symlink already at the path is refused, not replaced or followed. */
static void a_symlink_at_the_path_is_refused(void **state)
{
    struct fixture x;
    setup(&x, "0666");
    FILE *f = fopen(g.victim, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(g.victim, 0600), 0);
    assert_int_equal(symlink(g.victim, g.sock), 0);
    struct sl_input *in;
    char err[512] = "";
    assert_int_equal(sl_input_open(&in, &x.c->inputs[0], &x.routing, err, sizeof err), -ELOOP);
    assert_non_null(strstr(err, "is a symbolic link"));
    assert_true(S_ISLNK(mode_of(g.sock)));
    assert_int_equal(mode_of(g.victim) & 07777, 0600);
    teardown(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(socket_mode_is_the_configured_one_whatever_the_umask),
        cmocka_unit_test(no_chmod_by_path_after_bind),
        cmocka_unit_test(a_symlink_at_the_path_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
