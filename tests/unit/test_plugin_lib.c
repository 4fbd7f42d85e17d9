/* SPDX-License-Identifier: MIT */
/* test_plugin_lib.c: the plugins' shared code (plugins/lib/), with a fake
 * host table: file creation, the resumable batch buffer, backoff and
 * several reasons in one err. The owner and symlink cases that need a
 * second user run when root, in a child that drops to nobody; without root
 * they are skipped, saying so. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/plugin_lib.h"

/* A uid and gid that are not ours when we run as root. */
#define OTHER_ID 65534

/* {=== helpers */
static char tmpdir[256];

static int make_tmpdir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/sluice-test-plugin-lib-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmpdir, name);
}

/* The whole file as a string, "" when missing; the caller frees it. */
static char *slurp(const char *path)
{
    char *text = calloc(1, 4096);
    assert_non_null(text);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        assert_true(read(fd, text, 4095) >= 0);
        close(fd);
    }
    return text;
}

static void expect_file(const char *path, const char *want)
{
    char *got = slurp(path);
    assert_string_equal(got, want);
    free(got);
}

static void put(int fd, const char *text)
{
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* Runs fn in a child as OTHER_ID; true when it exited 0. */
static bool as_other_user(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(OTHER_ID) < 0 || setuid(OTHER_ID) < 0)
            _exit(2);
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
/* }=== */

/* {=== files */
static void test_create_mode_and_parents(void **state)
{
    char path[512];
    path_in(path, sizeof path, "var/log/deep/new.log");
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    o.mode = 0604;
    mode_t saved = umask(077);
    const char *call = NULL;
    int fd = spl_file_open(path, &o, &call);
    umask(saved);
    assert_true(fd >= 0);
    put(fd, "one\n");
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604); /* exactly, whatever the umask */
    assert_int_equal(st.st_uid, geteuid());

    /* An existing file keeps its permissions and is appended to. */
    assert_int_equal(chmod(path, 0600), 0);
    fd = spl_file_open(path, &o, &call);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    put(fd, "two\n");
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    expect_file(path, "one\ntwo\n");
}

static void test_open_errors_name_the_call(void **state)
{
    char path[512];
    path_in(path, sizeof path, "plainfile");
    close(open(path, O_WRONLY | O_CREAT, 0600));
    path_in(path, sizeof path, "plainfile/sub/x.log");
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call = NULL;
    assert_int_equal(spl_file_open(path, &o, &call), -ENOTDIR);
    assert_string_equal(call, "open");
    path_in(path, sizeof path, "plainfile/x.log");
    assert_int_equal(spl_file_open(path, &o, &call), -ENOTDIR);
    path_in(path, sizeof path, "");
    assert_int_equal(spl_file_open(path, &o, &call), -EISDIR);
}

/* The file itself as a symlink, even our own (as the daemon's user), is
 * refused unless follow_symlinks allows it, as /dev/stdout needs. */
static void test_symlink_refused_unless_allowed(void **state)
{
    char target[512], link[512];
    path_in(target, sizeof target, "own-target.log");
    path_in(link, sizeof link, "own-link.log");
    assert_int_equal(symlink(target, link), 0);
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call;
    close(open(target, O_WRONLY | O_CREAT, 0600));
    assert_int_equal(spl_file_open(link, &o, &call), -ELOOP);
    assert_string_equal(call, "open");
    o.follow_symlinks = true;
    int fd = spl_file_open(link, &o, &call);
    assert_true(fd >= 0);
    put(fd, "via link\n");
    close(fd);
    expect_file(target, "via link\n");
    /* A dangling link is not created through, allowed or not. */
    assert_int_equal(unlink(target), 0);
    assert_int_equal(spl_file_open(link, &o, &call), -ENOENT);
    assert_int_equal(access(target, F_OK), -1);
}

/* As root: a symlink another user planted (in a directory they can write)
 * is never followed, nor one root owns, unless follow_symlinks says so; the
 * file it points at stays untouched. */
static void test_foreign_symlink_refused(void **state)
{
    if (geteuid() != 0) {
        print_message("skipped: a symlink owned by another user needs root to make\n");
        skip();
    }
    char target[512], link[512];
    path_in(target, sizeof target, "precious");
    path_in(link, sizeof link, "planted.log");
    int fd = open(target, O_WRONLY | O_CREAT, 0600);
    put(fd, "secret\n");
    close(fd);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(lchown(link, OTHER_ID, OTHER_ID), 0);
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call = NULL;
    assert_int_equal(spl_file_open(link, &o, &call), -ELOOP);
    assert_string_equal(call, "open");
    assert_int_equal(lchown(link, 0, 0), 0);
    assert_int_equal(spl_file_open(link, &o, &call), -ELOOP);
    expect_file(target, "secret\n");
    o.follow_symlinks = true; /* the administrator chose it */
    fd = spl_file_open(link, &o, &call);
    assert_true(fd >= 0);
    close(fd);
}

/* A directory the plugin is about to create already exists as a symlink:
 * followed when it is ours (or root's), refused (-ELOOP, "mkdir") when
 * another user planted it, and then nothing is made where it points. */
static void test_parent_symlink_refused(void **state)
{
    char path[512], where[512], link[512];
    path_in(where, sizeof where, "elsewhere");
    assert_int_equal(mkdir(where, 0755), 0);
    path_in(path, sizeof path, "logs");
    assert_int_equal(mkdir(path, 0755), 0);
    path_in(link, sizeof link, "logs/app");
    assert_int_equal(symlink(where, link), 0);
    path_in(path, sizeof path, "logs/app/sub/x.log");
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call = NULL;
    int fd = spl_file_open(path, &o, &call); /* our own link: the administrator's */
    assert_true(fd >= 0);
    close(fd);
    path_in(path, sizeof path, "elsewhere/sub/x.log");
    assert_int_equal(access(path, F_OK), 0);
    if (geteuid() != 0) {
        print_message("skipped: a symlink owned by another user needs root to make\n");
        skip();
    }
    assert_int_equal(lchown(link, OTHER_ID, OTHER_ID), 0);
    path_in(path, sizeof path, "logs/app/other/x.log");
    assert_int_equal(spl_file_open(path, &o, &call), -ELOOP);
    assert_string_equal(call, "mkdir");
    path_in(path, sizeof path, "elsewhere/other");
    assert_int_equal(access(path, F_OK), -1);
    o.follow_symlinks = true;
    path_in(path, sizeof path, "logs/app/other/x.log");
    fd = spl_file_open(path, &o, &call);
    assert_true(fd >= 0);
    close(fd);
}

/* path = "" once reached make_parents, which read past its 1-byte copy
 * (ASan); now it is open()'s own answer, and "/" alone makes nothing. */
static void test_empty_path_refused(void **state)
{
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    const char *call = NULL;
    assert_int_equal(spl_file_open("", &o, &call), -ENOENT);
    assert_string_equal(call, "open");
    assert_int_equal(spl_file_open("/", &o, &call), -EISDIR);
}

static int open_with(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    assert_true(fd >= 0);
    if (text[0] != '\0')
        put(fd, text);
    return fd;
}

/* A file whose last line lacks its '\n' (kill -9 mid-write) is torn; an
 * empty one, one ending in '\n' and a pipe are not; read through a
 * write-only fd. */
static void test_torn_last_line_found(void **state)
{
    char path[512];
    path_in(path, sizeof path, "torn.log");
    int fd = open_with(path, "whole\nhalf a li");
    assert_int_equal(spl_file_torn(fd), 1);
    put(fd, "ne\n");
    assert_int_equal(spl_file_torn(fd), 0);
    close(fd);
    fd = open_with(path, "");
    assert_int_equal(spl_file_torn(fd), 0);
    close(fd);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    put(pipefd[1], "no newline");
    assert_int_equal(spl_file_torn(pipefd[1]), 0);
    close(pipefd[0]);
    close(pipefd[1]);
    assert_int_equal(spl_file_torn(-1), -EBADF);
}

/* A file deleted while open (or its directory) has st_nlink 0. */
static void test_unlinked_file_found(void **state)
{
    char path[512];
    path_in(path, sizeof path, "doomed.log");
    int fd = open_with(path, "x\n");
    assert_int_equal(spl_file_unlinked(fd), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(spl_file_unlinked(fd), 1);
    close(fd);
    assert_int_equal(spl_file_unlinked(-1), -EBADF);
}

static void test_owner_and_group(void **state)
{
    if (geteuid() != 0) {
        print_message("skipped: giving a file another owner needs root\n");
        skip();
    }
    char path[512];
    path_in(path, sizeof path, "owned/by/other.log");
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    o.owner = OTHER_ID;
    o.group = OTHER_ID;
    o.mode = 02640; /* fchmod after fchown: the set-gid bit survives */
    const char *call;
    int fd = spl_file_open(path, &o, &call);
    assert_true(fd >= 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, OTHER_ID);
    assert_int_equal(st.st_gid, OTHER_ID);
    assert_int_equal(st.st_mode & 07777, 02640);

    /* Only the group; an existing file is not given an owner. */
    path_in(path, sizeof path, "group-only.log");
    o = (struct spl_file_opts)SPL_FILE_OPTS_INIT;
    o.group = OTHER_ID;
    fd = spl_file_open(path, &o, &call);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, OTHER_ID);
    o.owner = 0;
    o.group = 0;
    fd = spl_file_open(path, &o, &call);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, OTHER_ID);
}

/* As a user who may not give files away: fchown fails, the call is named,
 * and the file is not left behind with the wrong owner. */
static char chown_dir[512];

static void chown_as_nobody(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/x.log", chown_dir);
    struct spl_file_opts o = SPL_FILE_OPTS_INIT;
    o.owner = 0;
    const char *call = NULL;
    int rc = spl_file_open(path, &o, &call);
    if (rc != -EPERM || call == NULL || strcmp(call, "fchown") != 0)
        _exit(3);
    if (access(path, F_OK) == 0)
        _exit(4);
    o.owner = (uid_t)-1; /* without an owner it works */
    rc = spl_file_open(path, &o, &call);
    if (rc < 0)
        _exit(5);
}

static void test_owner_refused_removes_file(void **state)
{
    if (geteuid() != 0) {
        print_message("skipped: needs root to run a child as another user\n");
        skip();
    }
    path_in(chown_dir, sizeof chown_dir, "nobody-writes");
    assert_int_equal(mkdir(chown_dir, 0777), 0);
    assert_int_equal(chmod(chown_dir, 0777), 0);
    assert_int_equal(chmod(tmpdir, 0711), 0); /* mkdtemp's 0700 would keep nobody out */
    bool ok = as_other_user(chown_as_nobody);
    assert_int_equal(chmod(tmpdir, 0700), 0);
    assert_true(ok);
}

static void test_user_and_group_ids(void **state)
{
    uid_t u = 99;
    gid_t g = 99;
    assert_int_equal(spl_user_id("root", &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(spl_user_id("1234", &u), 0);
    assert_int_equal(u, 1234);
    assert_int_equal(spl_user_id("0", &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(spl_user_id("", &u), -EINVAL);
    assert_int_equal(spl_user_id("4294967295", &u), -EINVAL); /* (uid_t)-1: "unchanged" */
    assert_int_equal(spl_user_id("99999999999999999999", &u), -EINVAL);
    assert_int_equal(spl_user_id("no-such-user-sluice", &u), -ENOENT);
    assert_int_equal(spl_user_id("12x", &u), -ENOENT); /* not a number: a name */
    assert_int_equal(u, 0);
    assert_int_equal(spl_group_id("root", &g), 0);
    assert_int_equal(g, 0);
    assert_int_equal(spl_group_id("42", &g), 0);
    assert_int_equal(g, 42);
    assert_int_equal(spl_group_id("no-such-group-sluice", &g), -ENOENT);
    assert_int_equal(spl_group_id("", &g), -EINVAL);
}
/* }=== */

/* {=== batches */
/* The fake host formats a message (a C string here) as itself and '\n';
 * "FAIL" fails as an allocation would. */
static int fake_append(sluice_format *f, const sluice_msg *m, struct sluice_buf *buf)
{
    const char *text = (const char *)m;
    if (strcmp(text, "FAIL") == 0)
        return -ENOMEM;
    size_t n = strlen(text) + 1;
    if (buf->cap - buf->len < n) {
        char *d = realloc(buf->data, buf->len + n);
        if (d == NULL)
            return -ENOMEM;
        buf->data = d;
        buf->cap = buf->len + n;
    }
    memcpy(buf->data + buf->len, text, n - 1);
    buf->data[buf->len + n - 1] = '\n';
    buf->len += n;
    return 0;
}

static const struct sluice_host fake_host = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_host),
    .format_append = fake_append,
};

/* A writer that takes at most `step` bytes a call, fails with `fail_errno`
 * after `budget` bytes, and gets one EINTR first. */
struct sink {
    char got[256];
    size_t len, step, budget;
    int fail_errno;
    bool eintr;
};

static ssize_t sink_write(void *ctx, const void *data, size_t len)
{
    struct sink *k = ctx;
    if (k->eintr) {
        k->eintr = false;
        errno = EINTR;
        return -1;
    }
    if (k->budget == 0) {
        errno = k->fail_errno;
        return -1;
    }
    size_t n = len < k->step ? len : k->step;
    n = n < k->budget ? n : k->budget;
    memcpy(k->got + k->len, data, n);
    k->len += n;
    k->budget -= n;
    return (ssize_t)n;
}

static void fill(struct spl_batch *b, const char *const *texts, size_t n, int want)
{
    assert_int_equal(spl_batch_fill(b, &fake_host, NULL, (const sluice_msg *const *)texts, n),
                     want);
}

static void test_batch_resumes_where_it_stopped(void **state)
{
    static const char *const one[] = {"alpha", "beta", "gamma"};
    struct spl_batch b = {0};
    assert_false(spl_batch_pending(&b));
    fill(&b, one, 3, 0);
    assert_int_equal(b.buf.len, 17);
    struct sink k = {.step = 4, .budget = 7, .fail_errno = ENOSPC, .eintr = true};
    assert_int_equal(spl_batch_write(&b, sink_write, &k), -ENOSPC);
    assert_true(spl_batch_pending(&b));
    assert_int_equal(b.off, 7);
    k.budget = 100; /* the disk has room again: the rest, once */
    assert_int_equal(spl_batch_write(&b, sink_write, &k), 0);
    assert_false(spl_batch_pending(&b));
    assert_int_equal(k.len, 17);
    assert_memory_equal(k.got, "alpha\nbeta\ngamma\n", 17);
    spl_batch_free(&b);
    assert_null(b.buf.data);
}

/* abandon(): the kept rest is dropped, and the next batch is written whole. */
static void test_batch_drop(void **state)
{
    static const char *const old[] = {"old-one", "old-two"};
    static const char *const next[] = {"new"};
    struct spl_batch b = {0};
    fill(&b, old, 2, 0);
    struct sink k = {.step = 100, .budget = 3, .fail_errno = EAGAIN};
    assert_int_equal(spl_batch_write(&b, sink_write, &k), -EAGAIN);
    assert_true(spl_batch_pending(&b));
    spl_batch_drop(&b);
    assert_false(spl_batch_pending(&b));
    fill(&b, next, 1, 0);
    k.budget = 100;
    assert_int_equal(spl_batch_write(&b, sink_write, &k), 0);
    assert_int_equal(k.len, 7);
    assert_memory_equal(k.got, "oldnew\n", 7);
    spl_batch_free(&b);
}

/* Takes *left bytes, not keeping them, then fails with ENOSPC. */
static ssize_t takes_some(void *ctx, const void *data, size_t len)
{
    size_t *left = ctx;
    size_t n = len < *left ? len : *left;
    *left -= n;
    errno = ENOSPC;
    return n > 0 ? (ssize_t)n : -1;
}

/* progress(): the messages whose last byte is written, at a message's end
 * and in its middle alike; none when nothing is pending. */
static void test_batch_counts_whole_messages_written(void **state)
{
    static const char *const one[] = {"alpha", "beta", "gamma"}; /* ends 6, 11, 17 */
    static const struct { size_t budget, done; } steps[] = {
        {0, 0}, {5, 0}, {1, 1}, {4, 1}, {1, 2}, {5, 2},
    };
    struct spl_batch b = {0};
    assert_int_equal(spl_batch_done(&b), 0);
    fill(&b, one, 3, 0);
    assert_int_equal(spl_batch_done(&b), 0);
    struct sink k = {.step = 100, .fail_errno = EIO};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        k.budget = steps[i].budget;
        assert_int_equal(spl_batch_write(&b, sink_write, &k), -EIO);
        assert_int_equal(spl_batch_done(&b), steps[i].done);
    }
    assert_int_equal(b.off, 16); /* all but gamma's '\n' */
    k.budget = 100;
    assert_int_equal(spl_batch_write(&b, sink_write, &k), 0);
    assert_int_equal(spl_batch_done(&b), 0); /* written and dropped */

    /* A larger batch grows the ends; abandon() forgets them. */
    static const char *many[300];
    for (size_t i = 0; i < 300; i++)
        many[i] = "0123456"; /* 8 bytes each */
    fill(&b, many, 300, 0);
    size_t left = 8 * 123 + 3;
    assert_int_equal(spl_batch_write(&b, takes_some, &left), -ENOSPC);
    assert_int_equal(spl_batch_done(&b), 123);
    spl_batch_drop(&b);
    assert_int_equal(spl_batch_done(&b), 0);

    static const char *const bad[] = {"fine", "FAIL"};
    fill(&b, bad, 2, -ENOMEM);
    assert_int_equal(spl_batch_done(&b), 0);
    spl_batch_free(&b);
    assert_null(b.ends);
}

static ssize_t takes_nothing(void *ctx, const void *data, size_t len)
{
    errno = 0;
    return 0;
}

static void test_batch_errors(void **state)
{
    static const char *const bad[] = {"fine", "FAIL", "never"};
    struct spl_batch b = {0};
    fill(&b, bad, 3, -ENOMEM);
    assert_false(spl_batch_pending(&b));
    assert_int_equal(b.buf.len, 0);
    static const char *const one[] = {"x"};
    fill(&b, one, 1, 0);
    assert_int_equal(spl_batch_write(&b, takes_nothing, NULL), -EIO); /* no endless loop */
    assert_true(spl_batch_pending(&b));
    fill(&b, one, 1, 0); /* fill replaces */
    assert_int_equal(b.off, 0);
    assert_int_equal(b.buf.len, 2);

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(spl_batch_write_fd(&b, pipefd[1]), 0);
    char got[4] = "";
    assert_int_equal(read(pipefd[0], got, sizeof got), 2);
    assert_memory_equal(got, "x\n", 2);
    close(pipefd[0]);
    close(pipefd[1]);
    fill(&b, one, 1, 0);
    assert_int_equal(spl_batch_write_fd(&b, pipefd[1]), -EBADF);
    spl_batch_free(&b);
    spl_batch_free(&b); /* twice is fine */
}
/* }=== */

/* {=== backoff */
static void test_backoff_doubles_to_cap(void **state)
{
    struct spl_backoff b;
    spl_backoff_init(&b, 10, 1000);
    assert_true(spl_backoff_due(&b, 0));
    static const uint32_t want[] = {10, 20, 40, 80, 160, 320, 640, 1000, 1000};
    int64_t now = 5000;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(spl_backoff_failed(&b, now), want[i]);
        assert_false(spl_backoff_due(&b, now + want[i] - 1));
        assert_true(spl_backoff_due(&b, now + want[i]));
        now += want[i];
    }
    spl_backoff_reset(&b);
    assert_true(spl_backoff_due(&b, now)); /* at once after a success */
    assert_int_equal(spl_backoff_failed(&b, now), 10);

    spl_backoff_init(&b, 500, 100); /* a cap below the first delay: the first */
    assert_int_equal(spl_backoff_failed(&b, 0), 500);
    assert_int_equal(spl_backoff_failed(&b, 0), 500);
    spl_backoff_init(&b, 3000000000u, UINT32_MAX); /* no overflow past the cap */
    assert_int_equal(spl_backoff_failed(&b, 0), 3000000000u);
    assert_int_equal(spl_backoff_failed(&b, 0), UINT32_MAX);
    assert_int_equal(spl_backoff_failed(&b, 0), UINT32_MAX);

    int64_t t0 = spl_now_ms();
    assert_true(t0 > 0);
    assert_true(spl_now_ms() >= t0);
}
/* }=== */

/* {=== errors */
static void test_err_add(void **state)
{
    char err[32] = "";
    spl_err_add(err, sizeof err, "key \"%s\" bad", "mode");
    assert_string_equal(err, "key \"mode\" bad");
    spl_err_add(err, sizeof err, "second");
    assert_string_equal(err, "key \"mode\" bad\nsecond");
    spl_err_add(err, sizeof err, "this one is cut short");
    assert_string_equal(err, "key \"mode\" bad\nsecond\nthis one ");
    assert_int_equal(strlen(err), sizeof err - 1);
    spl_err_add(err, sizeof err, "no room"); /* full: unchanged, no dangling '\n' */
    assert_string_equal(err, "key \"mode\" bad\nsecond\nthis one ");
    spl_err_add(err, 0, "nothing");
    char tiny[3] = "ab";
    spl_err_add(tiny, sizeof tiny, "c");
    assert_string_equal(tiny, "ab");
}
/* }=== */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_mode_and_parents),
        cmocka_unit_test(test_open_errors_name_the_call),
        cmocka_unit_test(test_symlink_refused_unless_allowed),
        cmocka_unit_test(test_foreign_symlink_refused),
        cmocka_unit_test(test_parent_symlink_refused),
        cmocka_unit_test(test_empty_path_refused),
        cmocka_unit_test(test_torn_last_line_found),
        cmocka_unit_test(test_unlinked_file_found),
        cmocka_unit_test(test_owner_and_group),
        cmocka_unit_test(test_owner_refused_removes_file),
        cmocka_unit_test(test_user_and_group_ids),
        cmocka_unit_test(test_batch_resumes_where_it_stopped),
        cmocka_unit_test(test_batch_drop),
        cmocka_unit_test(test_batch_counts_whole_messages_written),
        cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_backoff_doubles_to_cap),
        cmocka_unit_test(test_err_add),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
