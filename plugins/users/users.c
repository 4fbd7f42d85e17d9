/* SPDX-License-Identifier: MIT */
/*
 * users.c: the `users` output plugin: writes each message to the terminals
 * of logged-in users, as rsyslog's omusrmsg (`*.emerg :omusrmsg:*`) and
 * syslog-ng's usertty() do.
 *
 *     output "wall" { type = "users" }                      -- everyone logged in
 *     output "ops"  { type = "users", users = { "root", "alice" } } -- those only
 *     route { severity = "emerg", to = "wall" }
 *
 * For each batch the utmp file (utmp = "/path", default _PATH_UTMP) is read
 * anew, its USER_PROCESS records whose user matches are kept, and each
 * terminal is opened once beneath a descriptor of /dev taken at open()
 * (tty.h: the name must be a terminal's, nothing is followed, only a
 * character device that isatty() accepts is kept), written the batch, and
 * closed. The text is rsyslog's: with users = "*" its WallFmt,
 *
 *     "\r\n\aMessage from syslogd@HOST at Dec  4 13:05:40 ...\r\n app[42]: text\n\r"
 *
 * and for named users its StdUsrMsgFmt, " app[42]: text\n\r"; a format key
 * replaces the "app[42]: text" part. What the sender wrote has its control
 * bytes replaced (tty_append_safe), since a terminal obeys them.
 *
 * Nothing here waits on a terminal: the fd is O_NONBLOCK, and a terminal
 * whose reader stopped (a paused ssh session, ^S) answers EAGAIN, so the
 * rest of the batch skips it (counted busy) where rsyslog arms alarm().
 * Writing to terminals is a notice, not a store: a batch is never retried
 * (write() answers SLUICE_OK whatever a terminal did), so a late login does
 * not receive an hour of queued emergencies. Each terminal skipped is
 * counted by its reason, and said in the log at most once a minute.
 *
 * dev = "/path" (default "/dev") is for tests and chroots: the directory
 * terminals are opened beneath.
 */

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice-plugin.h"
#include "lib/plugin_lib.h"
#include "users/tty.h"

#define MAX_USERS 64     /* names in users: more is a config better kept as a group */
#define MAX_TERMINALS 256 /* terminals written per batch: one per login line */
#define LOG_EVERY_MS 60000 /* a skipped terminal is said at most this often */

enum counter { C_WRITTEN, C_BAD_LINE, C_NOT_TTY, C_BUSY, C_FAILED, C_UTMP_ERRORS, C_N };

static const char *const users_counters[] = {"written",  "bad_line",    "not_tty", "busy",
                                             "failed",   "utmp_errors", NULL};

static const char *const users_keys[] = {"users", "users[]", "utmp", "dev", "format", NULL};

struct users_out {
    const struct sluice_host *host;
    const sluice_config *cfg;
    const char *utmp; /* borrowed from the config until close() */
    const char *dev;  /* borrowed, likewise */
    const char *users[MAX_USERS]; /* borrowed; nusers 0: everyone (users = "*") */
    size_t nusers;
    sluice_format *fmt; /* owned; NULL: the tag and the text, as rsyslog */
    int devfd;
    char host_name[256]; /* ours, for a message that names no host */
    struct tty_login logins[MAX_TERMINALS];
    struct sluice_buf text; /* owned: the batch, formatted once */
    struct sluice_buf one;  /* owned: one message's format_append() output */
    size_t *ends;           /* owned: where message i ends in text */
    size_t ends_cap;
    unsigned long long c[C_N];
    bool utmp_failing;
    int64_t next_log_ms;
};

/* {=== reading the config */
/* A login name as utmp holds it (at most 32 bytes), of the characters
 * useradd allows: a typo or a list written as one string is refused. */
static bool user_name_ok(const char *p)
{
    size_t len = strlen(p);
    return len > 0 && len <= 32 && p[0] != '-'
           && strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-$")
                  == len;
}

static void add_user(struct users_out *s, const char *name, char *err, size_t errlen)
{
    if (strchr(name, ',') != NULL)
        spl_err_add(err, errlen, "key \"users\": \"%s\" is one string; write a list, "
                    "users = { \"root\", \"alice\" }", name);
    else if (!user_name_ok(name))
        spl_err_add(err, errlen, "key \"users\": \"%s\" is not a user name", name);
    else if (s->nusers == MAX_USERS)
        spl_err_add(err, errlen, "key \"users\": more than %d names", MAX_USERS);
    else
        s->users[s->nusers++] = name;
}

/* users = "*" (or absent): everyone, as rsyslog's :omusrmsg:*; a name, or
 * a list of names (users.1, users.2, ...): those, as :omusrmsg:root,alice. */
static void read_users(struct users_out *s, char *err, size_t errlen)
{
    const char *v = "*";
    char key[32];
    int rc = s->host->config_string(s->cfg, "users", &v);
    if (rc == -EINVAL) {
        spl_err_add(err, errlen, "key \"users\" must be \"*\", a user name or a list of them");
        return;
    }
    if (rc == 0 && strcmp(v, "*") != 0) {
        add_user(s, v, err, errlen);
        return;
    }
    for (int i = 1; i <= MAX_USERS + 1; i++) {
        snprintf(key, sizeof key, "users.%d", i);
        if ((rc = s->host->config_string(s->cfg, key, &v)) == -ENOENT)
            break;
        if (rc < 0)
            spl_err_add(err, errlen, "key \"users\": item %d is not a string", i);
        else if (strcmp(v, "*") == 0)
            spl_err_add(err, errlen, "key \"users\": \"*\" is everyone, alone, not in a list");
        else
            add_user(s, v, err, errlen);
    }
}

static int read_config(struct users_out *s, char *err, size_t errlen)
{
    const struct sluice_host *h = s->host;
    const char *format = NULL;
    err[0] = '\0';
    read_users(s, err, errlen);
    s->utmp = _PATH_UTMP;
    if (h->config_string(s->cfg, "utmp", &s->utmp) == -EINVAL || s->utmp[0] != '/')
        spl_err_add(err, errlen, "key \"utmp\" must be an absolute path");
    s->dev = "/dev";
    if (h->config_string(s->cfg, "dev", &s->dev) == -EINVAL || s->dev[0] != '/')
        spl_err_add(err, errlen, "key \"dev\" must be an absolute path");
    if (h->config_string(s->cfg, "format", &format) == -EINVAL) {
        spl_err_add(err, errlen, "key \"format\" must be a string");
    } else if (format != NULL) {
        char ferr[256] = "";
        if (h->format_new(format, &s->fmt, ferr, sizeof ferr) < 0)
            spl_err_add(err, errlen, "%s", ferr[0] != '\0' ? ferr : "bad format");
        else if (SLUICE_HOST_HAS(h, format_set))
            h->format_set(s->fmt, SLUICE_FORMAT_NEWLINE, 0);
    }
    return err[0] != '\0' ? -EINVAL : 0;
}
/* }=== */

/* {=== opening */
static void users_close(void *state)
{
    struct users_out *s = state;
    if (s == NULL)
        return;
    if (s->devfd >= 0)
        close(s->devfd);
    s->host->format_free(s->fmt);
    free(s->text.data);
    free(s->one.data);
    free(s->ends);
    free(s);
}

static struct users_out *users_new(const struct sluice_host *host, const sluice_config *cfg)
{
    struct users_out *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->host = host;
    s->cfg = cfg;
    s->devfd = -1;
    return s;
}

static int users_check(const struct sluice_host *host, const sluice_config *cfg, char *err,
                       size_t errlen)
{
    struct users_out *s = users_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    users_close(s);
    return rc;
}

static int users_open(const struct sluice_host *host, const sluice_config *cfg, void **state,
                      char *err, size_t errlen)
{
    struct users_out *s = users_new(host, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = read_config(s, err, errlen);
    if (rc < 0) {
        err[strcspn(err, "\n")] = '\0';
        users_close(s);
        return rc;
    }
    /* The administrator's directory: the one path here we resolve as the
     * kernel does. Every terminal is opened beneath it. */
    s->devfd = open(s->dev, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->devfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", s->dev, -rc, strerror(-rc));
        users_close(s);
        return rc;
    }
    if (gethostname(s->host_name, sizeof s->host_name - 1) < 0 || s->host_name[0] == '\0')
        snprintf(s->host_name, sizeof s->host_name, "localhost");
    *state = s;
    return 0;
}
/* }=== */

/* {=== formatting */
static void text_of(const struct users_out *s, const sluice_msg *m, enum sluice_field f,
                    const char **p, size_t *len)
{
    if (s->host->msg_text(m, f, p, len) < 0) {
        *p = NULL;
        *len = 0;
    }
}

/* "app[42]: text", or the format's line, with control bytes replaced. */
static int append_body(struct users_out *s, const sluice_msg *m)
{
    const char *p;
    size_t len;
    int rc = 0;
    if (s->fmt != NULL) {
        s->one.len = 0;
        if (s->host->format_append(s->fmt, m, &s->one) < 0)
            return -ENOMEM;
        len = s->one.len;
        if (len > 0 && s->one.data[len - 1] == '\n')
            len--; /* a daemon without format_set() */
        return tty_append_safe(&s->text, s->one.data, len);
    }
    text_of(s, m, SLUICE_FIELD_APP_NAME, &p, &len);
    if (p != NULL) {
        rc |= tty_append_safe(&s->text, p, len);
        text_of(s, m, SLUICE_FIELD_PROCID, &p, &len);
        if (p != NULL) {
            rc |= tty_append(&s->text, "[", 1);
            rc |= tty_append_safe(&s->text, p, len);
            rc |= tty_append(&s->text, "]", 1);
        }
        rc |= tty_append(&s->text, ": ", 2);
    }
    text_of(s, m, SLUICE_FIELD_MSG, &p, &len);
    if (p != NULL)
        rc |= tty_append_safe(&s->text, p, len);
    return rc < 0 ? -ENOMEM : 0;
}

/* rsyslog's banner for users = "*": who and when, in the local time the
 * message was received (its %timegenerated%). */
static int append_banner(struct users_out *s, const sluice_msg *m)
{
    const char *host;
    size_t hlen;
    struct sluice_time t;
    struct tm tm;
    char when[32] = "";
    text_of(s, m, SLUICE_FIELD_HOSTNAME, &host, &hlen);
    if (host == NULL) {
        host = s->host_name;
        hlen = strlen(host);
    }
    if (s->host->msg_time(m, SLUICE_FIELD_RECEIVED, &t) == 0) {
        time_t sec = (time_t)t.sec;
        if (localtime_r(&sec, &tm) != NULL)
            strftime(when, sizeof when, "%b %e %H:%M:%S", &tm);
    }
    int rc = tty_append(&s->text, "\r\n\aMessage from syslogd@", 24);
    rc |= tty_append_safe(&s->text, host, hlen);
    rc |= tty_append(&s->text, " at ", 4);
    rc |= tty_append(&s->text, when, strlen(when));
    rc |= tty_append(&s->text, " ...\r\n", 6);
    return rc < 0 ? -ENOMEM : 0;
}

/* The batch into s->text, message i ending at s->ends[i]. */
static int format_batch(struct users_out *s, const sluice_msg *const *msgs, size_t n)
{
    if (n > s->ends_cap) {
        size_t *e = realloc(s->ends, n * sizeof *e);
        if (e == NULL)
            return -ENOMEM;
        s->ends = e;
        s->ends_cap = n;
    }
    s->text.len = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = s->nusers == 0 ? append_banner(s, msgs[i]) : 0;
        rc |= tty_append(&s->text, " ", 1);
        rc |= append_body(s, msgs[i]);
        rc |= tty_append(&s->text, "\n\r", 2);
        if (rc < 0)
            return -ENOMEM;
        s->ends[i] = s->text.len;
    }
    return 0;
}
/* }=== */

/* {=== writing */
static const char *reason_text(enum tty_refusal why)
{
    switch (why) {
    case TTY_BAD_NAME: return "not a terminal's name";
    case TTY_NOT_TTY: return "not a terminal device";
    case TTY_BUSY: return "it would block";
    default: return "failed";
    }
}

/* A terminal skipped (line NULL: count records whose ut_line was refused
 * by name): counted, and said at most once a minute (anyone in
 * the utmp group can make every message skip one). */
static void skipped(struct users_out *s, const char *line, enum tty_refusal why, int e,
                    unsigned long long count)
{
    static const enum counter of[] = {[TTY_BAD_NAME] = C_BAD_LINE, [TTY_NOT_TTY] = C_NOT_TTY,
                                      [TTY_BUSY] = C_BUSY, [TTY_FAILED] = C_FAILED};
    s->c[of[why]] += count;
    int64_t now = spl_now_ms();
    if (now < s->next_log_ms)
        return;
    s->next_log_ms = now + LOG_EVERY_MS;
    if (line == NULL)
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "%llu records of \"%s\" skipped: their "
                     "ut_line is not a terminal's name (such as \"pts/3\" or \"tty1\")", count,
                     s->utmp);
    else if (e != 0)
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "terminal \"%s/%s\" skipped: %s (%d: %s)",
                     s->dev, line, reason_text(why), e, strerror(e));
    else
        s->host->log(s->cfg, SLUICE_LOG_WARNING, "terminal \"%s/%s\" skipped: %s", s->dev, line,
                     reason_text(why));
}

/* The whole batch to one terminal; a terminal that would block or fails
 * gets nothing more of this batch. */
static void write_terminal(struct users_out *s, const char *line, size_t n)
{
    enum tty_refusal why;
    int e;
    int fd = tty_open(s->devfd, line, &why, &e);
    if (fd < 0) {
        skipped(s, line, why, e, n);
        return;
    }
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        why = tty_write(fd, s->text.data + start, s->ends[i] - start, &e);
        if (why != TTY_OK) {
            skipped(s, line, why, e, n - i);
            break;
        }
        s->c[C_WRITTEN]++;
        start = s->ends[i];
    }
    close(fd);
}

static int read_logins(struct users_out *s)
{
    unsigned long long bad = 0;
    int n = tty_read_utmp(s->utmp, s->users, s->nusers, s->logins, MAX_TERMINALS, &bad);
    if (bad > 0)
        skipped(s, NULL, TTY_BAD_NAME, 0, bad);
    if (n < 0) {
        s->c[C_UTMP_ERRORS]++;
        if (!s->utmp_failing)
            s->host->log(s->cfg, SLUICE_LOG_ERR, "open() or read() \"%s\" failed (%d: %s): "
                         "messages are not written to any terminal", s->utmp, -n, strerror(-n));
        s->utmp_failing = true;
        return n;
    }
    if (s->utmp_failing)
        s->host->log(s->cfg, SLUICE_LOG_NOTICE, "reading \"%s\" works again", s->utmp);
    s->utmp_failing = false;
    return n;
}

static int users_write(void *state, const sluice_msg *const *msgs, size_t n)
{
    struct users_out *s = state;
    int logins = read_logins(s);
    if (logins <= 0)
        return SLUICE_OK; /* nobody to tell: a notice is not kept for later */
    if (format_batch(s, msgs, n) < 0) {
        s->host->log(s->cfg, SLUICE_LOG_ERR, "out of memory formatting %zu messages", n);
        return SLUICE_RETRY;
    }
    for (int i = 0; i < logins; i++)
        write_terminal(s, s->logins[i].line, n);
    return SLUICE_OK;
}
/* }=== */

static void users_stats(void *state, unsigned long long *v)
{
    const struct users_out *s = state;
    memcpy(v, s->c, sizeof s->c);
}

static const struct sluice_output_plugin users_plugin = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_output_plugin),
    .name = "users",
    .description = "writes each message to the terminals of logged-in users (utmp)",
    .keys = users_keys,
    .open = users_open,
    .write = users_write,
    .close = users_close,
    .check = users_check,
    .counters = users_counters,
    .stats = users_stats,
};

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void);

SLUICE_EXPORT const struct sluice_output_plugin *sluice_output_plugin_v1(void)
{
    return &users_plugin;
}
