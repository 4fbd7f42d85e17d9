/* SPDX-License-Identifier: MIT */
/*
 * tty.c: login records, terminal names and terminal-safe text for the
 * `users` output (tty.h says why each rule is as strict as it is).
 */

#include "users/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>

/* {=== names */
static bool all_digits(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static bool word_chars(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_'))
            return false;
    }
    return true;
}

bool tty_line_ok(const char *line, size_t len)
{
    if (len > 4 && memcmp(line, "pts/", 4) == 0)
        return all_digits(line + 4, len - 4);
    if (len == 7 && memcmp(line, "console", 7) == 0)
        return true;
    if (len > 3 && (memcmp(line, "tty", 3) == 0 || memcmp(line, "hvc", 3) == 0))
        return word_chars(line + 3, len - 3);
    return false;
}
/* }=== */

/* {=== utmp */
static bool user_wanted(const struct utmpx *u, const char *const *users, size_t nusers)
{
    size_t len = strnlen(u->ut_user, sizeof u->ut_user);
    if (nusers == 0)
        return len > 0;
    for (size_t i = 0; i < nusers; i++) {
        if (strlen(users[i]) == len && memcmp(users[i], u->ut_user, len) == 0)
            return true;
    }
    return false;
}

static bool have_line(const struct tty_login *out, size_t n, const char *line)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(out[i].line, line) == 0)
            return true;
    }
    return false;
}

/* Reads whole records; a short read at the end is a record being written
 * (or a torn file) and is ignored, as getutxent() does. */
static ssize_t read_record(int fd, struct utmpx *u)
{
    size_t got = 0;
    while (got < sizeof *u) {
        ssize_t r = read(fd, (char *)u + got, sizeof *u - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

int tty_read_utmp(const char *path, const char *const *users, size_t nusers,
                  struct tty_login *out, size_t max, unsigned long long *bad)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct utmpx u;
    size_t n = 0;
    ssize_t r;
    while ((r = read_record(fd, &u)) > 0) {
        if (u.ut_type != USER_PROCESS || !user_wanted(&u, users, nusers))
            continue;
        size_t len = strnlen(u.ut_line, sizeof u.ut_line);
        if (!tty_line_ok(u.ut_line, len)) {
            (*bad)++;
            continue;
        }
        char line[sizeof out->line];
        memcpy(line, u.ut_line, len);
        line[len] = '\0';
        if (n < max && !have_line(out, n, line))
            memcpy(out[n++].line, line, len + 1);
    }
    close(fd);
    return r < 0 ? (int)r : (int)n;
}
/* }=== */

/* {=== terminals */
/* Opens name in dir only if it is a character device now, and never
 * through a symlink: fstatat() first, so nothing else is ever opened, and
 * O_NOFOLLOW for the open itself. /dev is root's: nobody else can swap the
 * name between the two calls. */
static int open_device(int dir, const char *name, enum tty_refusal *why, int *err)
{
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        *err = errno;
        *why = TTY_NOT_TTY;
        return -1;
    }
    if (!S_ISCHR(st.st_mode)) {
        *err = S_ISLNK(st.st_mode) ? ELOOP : 0;
        *why = TTY_NOT_TTY;
        return -1;
    }
    int fd = openat(dir, name, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        *why = errno == ELOOP || errno == ENXIO || errno == ENODEV ? TTY_NOT_TTY : TTY_FAILED;
        return -1;
    }
    if (!isatty(fd)) {
        *err = ENOTTY;
        *why = TTY_NOT_TTY;
        close(fd);
        return -1;
    }
    return fd;
}

int tty_open(int devfd, const char *line, enum tty_refusal *why, int *err)
{
    *err = 0;
    *why = TTY_OK;
    const char *slash = strchr(line, '/');
    if (slash == NULL)
        return open_device(devfd, line, why, err);
    /* Only "pts/N" has a slash (tty_line_ok). */
    int pts = openat(devfd, "pts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pts < 0) {
        struct stat st;
        /* O_DIRECTORY answers ENOTDIR for a symlink: say what it is. */
        *err = errno == ENOTDIR && fstatat(devfd, "pts", &st, AT_SYMLINK_NOFOLLOW) == 0
                       && S_ISLNK(st.st_mode) ? ELOOP : errno;
        *why = errno == ELOOP || errno == ENOTDIR || errno == ENOENT ? TTY_NOT_TTY : TTY_FAILED;
        return -1;
    }
    int fd = open_device(pts, slash + 1, why, err);
    close(pts);
    return fd;
}

enum tty_refusal tty_write(int fd, const char *data, size_t len, int *err)
{
    *err = 0;
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return TTY_BUSY;
        if (w < 0) {
            *err = errno;
            return TTY_FAILED;
        }
        data += w;
        len -= (size_t)w;
    }
    return TTY_OK;
}
/* }=== */

/* {=== text */
static int reserve(struct sluice_buf *buf, size_t more)
{
    if (buf->cap - buf->len >= more)
        return 0;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap - buf->len < more) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    char *p = realloc(buf->data, cap);
    if (p == NULL)
        return -ENOMEM;
    buf->data = p;
    buf->cap = cap;
    return 0;
}

int tty_append(struct sluice_buf *buf, const char *s, size_t len)
{
    if (reserve(buf, len) < 0)
        return -ENOMEM;
    memcpy(buf->data + buf->len, s, len);
    buf->len += len;
    return 0;
}

/* The length of the valid UTF-8 sequence at s[0..len) (2 to 4), or 0:
 * overlong forms, surrogates and stray continuation bytes are not one. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf5 || n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)
        || (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

int tty_append_safe(struct sluice_buf *buf, const char *text, size_t len)
{
    if (reserve(buf, len) < 0)
        return -ENOMEM;
    const unsigned char *t = (const unsigned char *)text;
    char *o = buf->data + buf->len;
    for (size_t i = 0; i < len;) {
        size_t n = t[i] < 0x80 ? 1 : utf8_len(t + i, len - i);
        /* C0 and DEL; U+0080..U+009F (C1, "\xc2\x80".."\xc2\x9f"); and a byte
         * that is no UTF-8, which a terminal in an 8-bit locale may take
         * for a C1 control: each becomes one '?'. */
        if ((n == 1 && (t[i] < 0x20 || t[i] == 0x7f)) || n == 0
            || (n == 2 && t[i] == 0xc2 && t[i + 1] <= 0x9f)) {
            *o++ = '?';
            i += n ? n : 1;
            continue;
        }
        memcpy(o, t + i, n);
        o += n;
        i += n;
    }
    buf->len = (size_t)(o - buf->data);
    return 0;
}
/* }=== */
