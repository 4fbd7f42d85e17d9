/* SPDX-License-Identifier: MIT */
/* test_privs.c: settings.user / settings.group (daemon/privs.c): the keys
 * as the config reader takes them (names, string and integer ids, wrong
 * types), resolving names and ids against the system's databases (root,
 * which every system has, and nobody where it exists), unknown names, a
 * uid with no entry, the reload error's explanation, and a real drop in a
 * child process when the test runs as root. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/privs.h"

/* The config text's settings, loaded; NULL with the first error in err
 * when it does not load. */
static struct sl_config *load(const char *text, char *err, size_t errlen)
{
    struct sl_errors errs = {0};
    struct sl_config *c = NULL;
    int rc = sl_config_load_text(text, strlen(text), "t.lua", &c, &errs);
    snprintf(err, errlen, "%s", errs.n > 0 ? errs.v[0] : "");
    sl_errors_clear(&errs);
    return rc == 0 ? c : NULL;
}

static void keys_as_written(void **state)
{
    char err[512];
    struct sl_config *c = load("settings { user = \"syslog\", group = \"adm\" }", err, sizeof err);
    assert_non_null(c);
    assert_string_equal(c->user, "syslog");
    assert_string_equal(c->group, "adm");
    sl_config_free(c);
    c = load("settings { user = 65534 }", err, sizeof err);
    assert_non_null(c);
    assert_string_equal(c->user, "65534");
    assert_null(c->group);
    sl_config_free(c);
    assert_null(load("settings { user = -1 }", err, sizeof err));
    assert_non_null(strstr(err, "out of range"));
    assert_null(load("settings { group = { 'adm' } }", err, sizeof err));
    assert_non_null(strstr(err, "key 'group' wants a string"));
    assert_null(load("settings { user = '' }", err, sizeof err));
    assert_null(load("settings { usr = 'x' }", err, sizeof err));
    assert_non_null(strstr(err, "did you mean 'user'"));
}

static void resolve_root(void **state)
{
    struct sl_privs p;
    char err[512];
    assert_int_equal(sl_privs_resolve("root", NULL, &p, err, sizeof err), 0);
    assert_true(p.set && p.has_user && p.has_entry);
    assert_int_equal(p.uid, 0);
    assert_int_equal(p.gid, 0);
    assert_string_equal(p.name, "root");
    /* By id: the entry's name, for initgroups() and messages. */
    assert_int_equal(sl_privs_resolve("0", "0", &p, err, sizeof err), 0);
    assert_string_equal(p.name, "root");
    assert_true(p.has_entry);
    /* A group alone: the uid does not change. */
    assert_int_equal(sl_privs_resolve(NULL, "root", &p, err, sizeof err), 0);
    assert_true(p.set && !p.has_user);
    assert_int_equal(p.gid, 0);
    assert_string_equal(p.name, "root");
    assert_int_equal(sl_privs_resolve(NULL, NULL, &p, err, sizeof err), 0);
    assert_false(p.set);
}

static void resolve_nobody(void **state)
{
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL)
        skip();
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    struct sl_privs p;
    char err[512];
    assert_int_equal(sl_privs_resolve("nobody", NULL, &p, err, sizeof err), 0);
    assert_int_equal(p.uid, uid);
    assert_int_equal(p.gid, gid); /* the primary group */
    assert_int_equal(sl_privs_resolve("nobody", "0", &p, err, sizeof err), 0);
    assert_int_equal(p.uid, uid);
    assert_int_equal(p.gid, 0); /* settings.group wins */
}

static void unknown_names(void **state)
{
    struct sl_privs p = {.uid = 7};
    char err[512];
    assert_int_equal(sl_privs_resolve("no-such-user-sluice", NULL, &p, err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "settings.user: no user \"no-such-user-sluice\""));
    assert_int_equal(p.uid, 7); /* untouched on failure */
    assert_int_equal(sl_privs_resolve("root", "no-such-group-sluice", &p, err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "settings.group: no group \"no-such-group-sluice\""));
    /* A uid with no entry needs a group, and then has no entry's groups. */
    assert_int_equal(sl_privs_resolve("3999999999", NULL, &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "give settings.group too"));
    assert_int_equal(sl_privs_resolve("3999999999", "3999999998", &p, err, sizeof err), 0);
    assert_false(p.has_entry);
    assert_string_equal(p.name, "3999999999");
    assert_int_equal(p.gid, 3999999998u);

    struct sl_config c = {.file = "t.lua", .user = "no-such-user-sluice"};
    struct sl_errors errs = {0};
    sl_privs_check(&c, &errs);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.v[0], "t.lua: settings.user: no user"));
    sl_errors_clear(&errs);
    c.user = "root";
    sl_privs_check(&c, &errs);
    assert_int_equal(errs.n, 0);
}

/* A disk queue opened at start is given to settings.user while the daemon
 * is root; to nobody else, and never to root. */
static void queue_owner(void **state)
{
    char err[512];
    struct sl_config *c = load("settings { user = 'nobody', state_dir = '/tmp' }\n", err,
                               sizeof err);
    assert_non_null(c);
    struct passwd *pw = getpwnam("nobody");
    struct sl_diskq_owner o = sl_privs_queue_owner(c);
    if (geteuid() == 0 && pw != NULL) {
        assert_true(o.give);
        assert_int_equal(o.uid, pw->pw_uid);
        assert_int_equal(o.gid, pw->pw_gid);
    } else {
        assert_false(o.give); /* not root: the files are the daemon's already */
    }
    free(c->user);
    c->user = strdup("root");
    assert_false(sl_privs_queue_owner(c).give);
    free(c->user); /* a group alone keeps root's uid: nothing to give */
    c->user = NULL;
    c->group = strdup("0");
    assert_false(sl_privs_queue_owner(c).give);
    sl_config_free(c);
}

static void explain(void **state)
{
    struct sl_privs p = {.set = true, .has_user = true, .name = "syslog"};
    char err[512] = "bind() failed";
    sl_privs_explain(&p, -EACCES, "514", err, sizeof err);
    assert_string_equal(err, "bind() failed"); /* not dropped: nothing to say */
    p.dropped = true;
    sl_privs_explain(&p, -EADDRINUSE, "514", err, sizeof err);
    assert_string_equal(err, "bind() failed");
    sl_privs_explain(&p, -EACCES, "514", err, sizeof err);
    assert_string_equal(err, "bind() failed: sluiced runs as syslog since start "
                        "(settings.user), so it cannot bind a port below 1024 it did not hold");
    snprintf(err, sizeof err, "open() failed");
    sl_privs_explain(&p, -EACCES, "5140", err, sizeof err);
    assert_non_null(strstr(err, "so it can open and create only what that user may"));
    p.has_user = false;
    snprintf(err, sizeof err, "x");
    sl_privs_explain(&p, -EPERM, NULL, err, sizeof err);
    assert_non_null(strstr(err, "runs as group syslog since start (settings.group)"));
    char tiny[4] = "abc"; /* full: left as it is */
    sl_privs_explain(&p, -EPERM, NULL, tiny, sizeof tiny);
    assert_string_equal(tiny, "abc");
}

static void no_keys_no_drop(void **state)
{
    struct sl_config c = {.file = "t.lua"};
    struct sl_privs p = {.dropped = true};
    char err[512];
    uid_t before = geteuid();
    assert_int_equal(sl_privs_drop(&c, &p, err, sizeof err), 0);
    assert_false(p.set || p.dropped);
    assert_int_equal(geteuid(), before);
}

/* In a child: dropped to nobody for good, a root-only file refused. */
static void drop_in_child(void **state)
{
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || pw == NULL)
        skip(); /* needs root, and a user to become */
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sl_config c = {.file = "t.lua", .user = "nobody"};
        struct sl_privs p;
        char err[512];
        int code = 0;
        if (sl_privs_drop(&c, &p, err, sizeof err) < 0)
            code = 1;
        else if (!p.dropped || getuid() != uid || geteuid() != uid || getgid() != gid)
            code = 2;
        else if (setuid(0) == 0 || open("/etc/shadow", O_RDONLY) >= 0)
            code = 3;
        /* Started as the user already: the same user is fine, root is not. */
        else if (sl_privs_drop(&c, &p, err, sizeof err) != 0 || !p.dropped)
            code = 4;
        else if ((c.user = "root", sl_privs_drop(&c, &p, err, sizeof err)) != -EPERM
                 || strstr(err, "not root, so it cannot become root") == NULL || p.dropped)
            code = 5;
        _exit(code);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_as_written), cmocka_unit_test(resolve_root),
        cmocka_unit_test(resolve_nobody),  cmocka_unit_test(unknown_names),
        cmocka_unit_test(explain),         cmocka_unit_test(no_keys_no_drop),
        cmocka_unit_test(drop_in_child),   cmocka_unit_test(queue_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
