/* SPDX-License-Identifier: MIT */
/*
 * lua_include.c: naming and reading the files an include asks for.
 *
 * Choices, where rsyslog ($IncludeConfig, include()) and systemd (*.conf.d)
 * agree: a relative pattern is taken from the including file's directory,
 * so a config moved with its sluice.d/ keeps working; matches run in byte
 * order (strcmp, not the locale's collation, so "10-a" runs before "9-b"
 * on every machine); a glob matching nothing is no error (an empty
 * sluice.d/ is the normal case), a plain name that is missing is.
 *
 * Symlinks are followed: the config directory is root's, and pointing a
 * drop-in at a shared file (Debian's conf-available / conf-enabled) is what
 * symlinks there are for. Anything but a regular file (a FIFO, a device, a
 * directory named x.lua) is refused: reading it could block the loader or
 * never end. The open is non-blocking for the same reason.
 */
#include "config.h"

#include "conf/lua_include.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "common/alloc.h"
#include "conf/lua_decl.h"

bool sl_include_is_glob(const char *path)
{
    return strpbrk(path, "*?[") != NULL;
}

/* A directory of the pattern that is not there matches nothing, as a
 * missing sluice.d/ does; any other failure to read one stops the glob. */
static int glob_error(const char *path, int err)
{
    (void)path;
    return err != ENOENT && err != ENOTDIR;
}

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sl_include_expand(const char *path, struct sl_strlist *out, char *err, size_t errlen)
{
    glob_t g = {0};
    /* GLOB_NOSORT: glob sorts by the locale's collation; we sort bytes. */
    errno = 0;
    int rc = glob(path, GLOB_NOSORT, glob_error, &g);
    if (rc == GLOB_NOMATCH) {
        globfree(&g);
        return 0;
    }
    if (rc != 0) {
        int e = rc == GLOB_NOSPACE ? ENOMEM : errno != 0 ? errno : EIO;
        snprintf(err, errlen, "glob() \"%s\" failed (%d: %s)", path, e, strerror(e));
        globfree(&g);
        return -e;
    }
    qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, cmp_bytes);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (sl_strlist_push(out, g.gl_pathv[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            globfree(&g);
            return -ENOMEM;
        }
    }
    globfree(&g);
    return 0;
}

/* Reads fd (a regular file of st_size bytes, which may grow while read)
 * up to max bytes. */
static int read_fd(int fd, size_t max, char **text, size_t *len, char *err, size_t errlen)
{
    size_t cap = 16384, n = 0;
    char *buf = sl_malloc(cap + 1);
    while (buf != NULL) {
        if (n == cap) {
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nbuf = ncap > cap ? sl_realloc(buf, ncap + 1) : NULL;
            if (nbuf == NULL)
                break;
            buf = nbuf;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            snprintf(err, errlen, "read() failed (%d: %s)", e, strerror(e));
            free(buf);
            return -e;
        }
        if (got == 0) {
            buf[n] = '\0';
            *text = buf;
            *len = n;
            return 0;
        }
        n += (size_t)got;
        if (n > max) {
            snprintf(err, errlen, "file is larger than %zu MiB", max >> 20);
            free(buf);
            return -EFBIG;
        }
    }
    free(buf);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

int sl_include_read(const char *path, size_t max, bool any_kind, char **text, size_t *len,
                    struct sl_include_id *id, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (any_kind ? 0 : O_NONBLOCK));
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "open() failed (%d: %s)", e, strerror(e));
        return -e;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "fstat() failed (%d: %s)", -rc, strerror(-rc));
    } else if (!any_kind && !S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        snprintf(err, errlen, "not a regular file");
    } else if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
        rc = -EFBIG;
        snprintf(err, errlen, "file is larger than %zu MiB", max >> 20);
    } else {
        *id = (struct sl_include_id){st.st_dev, st.st_ino};
        rc = read_fd(fd, max, text, len, err, errlen);
    }
    close(fd);
    return rc;
}

/* {=== running what was read, in the config's state */
/* Feeds the config's text to lua_load as luaL_loadfilex() would read the
 * file: without a UTF-8 BOM, and with a first line starting with '#' (a
 * "#!" line) left out but its newline kept, so line numbers stay right. */
struct source_reader {
    const char *p;
    size_t n;
    bool newline; /* give "\n" first */
};

static const char *read_source(lua_State *L, void *ud, size_t *size)
{
    struct source_reader *r = ud;
    if (r->newline) {
        r->newline = false;
        *size = 1;
        return "\n";
    }
    *size = r->n;
    r->n = 0;
    return *size > 0 ? r->p : NULL;
}

int sl_include_load_text(lua_State *L, const char *text, size_t len, const char *file)
{
    struct source_reader r = {text, len, false};
    if (r.n >= 3 && memcmp(r.p, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3, r.n -= 3;
    if (r.n > 0 && r.p[0] == '#') {
        const char *eol = memchr(r.p, '\n', r.n);
        size_t skip = eol != NULL ? (size_t)(eol - r.p) + 1 : r.n;
        r.p += skip, r.n -= skip;
        r.newline = true;
    }
    lua_pushfstring(L, "@%s", file);
    int status = lua_load(L, read_source, &r, lua_tostring(L, -1), "t");
    lua_remove(L, -2);
    return status;
}

/* "a -> b -> path" from the n running files v. */
void sl_include_chain(char *buf, size_t len, const char *const *v, int n, const char *path)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s -> ", v[i]);
    if (k < len)
        snprintf(buf + k, len - k, "%s", path);
}

/* Runs an included text in the config's state, inside its pcall, as if it
 * stood at the include: same globals, same budget; its own locals. A
 * syntax error ("FILE:LINE: ...") is raised as it is: report_lua_error()
 * finds the included file in it. */
static void run_text(lua_State *L, const char *text, size_t len, const char *file)
{
    if (sl_include_load_text(L, text, len, file) != LUA_OK)
        lua_error(L);
    lua_call(L, 0, 0);
}

/* Load mode: reads each file the include names into the config (kept for
 * the input threads' reruns) and runs it. m is the loader's list for this
 * depth; v the n files running now, for cycles. */
static void include_files(lua_State *L, struct sl_include_state *st, const struct sl_decl *d,
                          const char *path, size_t call, const char *const *v, int n)
{
    struct sl_config *c = d->ctx->c;
    struct sl_strlist *m = &st->matches[n];
    char err[256], chain[1024];
    sl_strlist_clear(m);
    int rc = sl_include_is_glob(path) ? sl_include_expand(path, m, err, sizeof err)
                                      : sl_strlist_push(m, path);
    if (rc == -ENOMEM)
        d->ctx->oom = true;
    else if (rc < 0)
        sl_decl_error(d, "%s", err);
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        struct sl_config_text t = {.call = call};
        struct sl_include_id id;
        if (sl_include_read(m->v[i], SL_INCLUDE_MAX_SIZE, false, &t.source, &t.source_len, &id, err,
                            sizeof err) < 0) {
            sl_decl_error(d, "%s: %s", m->v[i], err);
            continue;
        }
        bool cycle = false;
        for (int k = 0; k < n; k++)
            cycle = cycle || (st->ids[k].dev == id.dev && st->ids[k].ino == id.ino);
        if (cycle) {
            sl_include_chain(chain, sizeof chain, v, n, m->v[i]);
            sl_decl_error(d, "include cycle: %s", chain);
            free(t.source);
            continue;
        }
        struct sl_config_text *x = sl_decl_grow(d->ctx, c->includes, c->nincludes, sizeof *x);
        if (x == NULL || (t.file = sl_decl_strdup(d->ctx, m->v[i])) == NULL) {
            free(t.source);
            c->includes = x != NULL ? x : c->includes;
            return;
        }
        c->includes = x;
        c->includes[c->nincludes++] = t;
        st->ids[n] = id;
        run_text(L, t.source, t.source_len, t.file);
    }
    sl_strlist_clear(m);
}

/* Keep mode: runs the texts that include call k read at load, never the
 * files again, after checking that it is the same call. */
static void include_kept(lua_State *L, const struct sl_config *kc, const struct sl_decl *d,
                         const char *path, size_t k)
{
    if (k >= kc->include_calls.n || strcmp(kc->include_calls.v[k], path) != 0) {
        sl_decl_error(d, "not the include made when the config loaded");
        return;
    }
    for (size_t i = 0; i < kc->nincludes; i++) {
        const struct sl_config_text *t = &kc->includes[i];
        if (t->call == k)
            run_text(L, t->source, t->source_len, t->file);
    }
}

void sl_include_run(lua_State *L, struct sl_include_state *st, const struct sl_decl *d,
                    const char *path, size_t call, const char *const *running, int n)
{
    if (st->kept != NULL)
        include_kept(L, st->kept, d, path, call);
    else
        include_files(L, st, d, path, call, running, n);
}

void sl_include_state_free(struct sl_include_state *st)
{
    for (size_t i = 0; i <= SL_INCLUDE_MAX_DEPTH; i++)
        sl_strlist_clear(&st->matches[i]);
}
/* }=== */
