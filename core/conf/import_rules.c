/* SPDX-License-Identifier: MIT */
/*
 * import_rules.c: the rules of an rsyslog.conf (import_impl.h): selectors
 * decoded as rsyslog's DecodePRIFilter() does (see import_rsyslog.c's
 * DESIGN), the routes they make, the files they write and the actions
 * that convert.
 */
#include "config.h"

#include "conf/import_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/msg.h"

/* {=== selectors, as rsyslog's DecodePRIFilter() */
static int facility_num(const char *s, size_t n)
{
    if (sl_imp_word_is(s, n, "mark"))
        return MARK;
    if (sl_imp_word_is(s, n, "solaris-cron"))
        return 15;
    return sl_facility_from_name(s, n);
}

/* The priority of one selector: 0..7, ALLPRI or NOPRI; -1 when unknown. */
static int priority_num(const char *s, size_t n)
{
    if (sl_imp_word_is(s, n, "*"))
        return ALLPRI;
    if (sl_imp_word_is(s, n, "none"))
        return NOPRI;
    if (n == 1 && s[0] >= '0' && s[0] <= '7')
        return s[0] - '0';
    return sl_severity_from_name(s, n);
}

static void apply(uint8_t *m, int pri, bool single, bool ignore)
{
    if (pri == NOPRI)
        *m = ignore ? ALLPRI : 0;
    else if (single)
        *m = ignore ? *m & (uint8_t)~(1u << pri) : *m | (uint8_t)(1u << pri);
    else if (pri == ALLPRI)
        *m = ignore ? 0 : ALLPRI;
    else
        *m = ignore ? *m & (uint8_t)~((2u << pri) - 1) : *m | (uint8_t)((2u << pri) - 1);
}

/* One "fac,fac.pri" of a selector list into m. */
static bool selector(const char *s, size_t n, uint8_t m[NFAC])
{
    const char *dot = memchr(s, '.', n);
    if (dot == NULL)
        return false;
    const char *p = dot + 1;
    size_t pn = (size_t)(s + n - p);
    bool ignore = pn > 0 && *p == '!';
    p += ignore, pn -= ignore;
    bool single = pn > 0 && *p == '=';
    p += single, pn -= single;
    int pri = priority_num(p, pn);
    if (pri < 0 || (single && (pri == ALLPRI || pri == NOPRI)))
        return false;
    for (const char *f = s; f < dot;) {
        size_t fn = 0;
        while (f + fn < dot && f[fn] != ',')
            fn++;
        int fac = sl_imp_word_is(f, fn, "*") ? NFAC : facility_num(f, fn);
        if (fac < 0)
            return false;
        for (int i = fac == NFAC ? 0 : fac; i < (fac == NFAC ? NFAC : fac + 1); i++)
            apply(&m[i], pri, single, ignore);
        f += fn + 1;
    }
    return true;
}

bool sl_imp_selectors(const char *s, size_t n, uint8_t m[NFAC])
{
    memset(m, 0, NFAC);
    for (const char *e = s + n; s <= e;) {
        const char *semi = memchr(s, ';', (size_t)(e - s));
        size_t len = semi ? (size_t)(semi - s) : (size_t)(e - s);
        if (!selector(s, len, m))
            return false;
        s += len + 1;
    }
    return true;
}
/* }=== */

/* {=== routes */
/* facility = ... for the facilities in set (0..23), or nothing for all. */
static void put_facilities(struct conv *c, struct buf *b, uint32_t set)
{
    unsigned in = (unsigned)__builtin_popcount(set);
    if (in == 24)
        return;
    bool neg = in > 12;
    uint32_t list = neg ? ~set & 0x00ffffffu : set;
    unsigned k = (unsigned)__builtin_popcount(list), j = 0;
    sl_imp_puts(c, b, neg ? "facility = { except = " : "facility = ");
    if (k > 1)
        sl_imp_puts(c, b, "{ ");
    for (unsigned f = 0; f < 24; f++) {
        if (list & 1u << f)
            sl_imp_putf(c, b, "%s\"%s\"", j++ ? ", " : "", sl_facility_name(f));
    }
    sl_imp_puts(c, b, k > 1 ? " }" : "");
    sl_imp_puts(c, b, neg ? " }, " : ", ");
}

static void put_severities(struct conv *c, struct buf *b, uint8_t m)
{
    if (m == ALLPRI)
        return;
    int lo = __builtin_ctz(m), hi = 31 - __builtin_clz(m);
    bool run = (unsigned)__builtin_popcount(m) == (unsigned)(hi - lo + 1);
    if (lo == hi)
        sl_imp_putf(c, b, "severity = \"%s\", ", sl_severity_name((unsigned)lo));
    else if (run && lo == 0)
        sl_imp_putf(c, b, "severity = \"<=%s\", ", sl_severity_name((unsigned)hi));
    else if (run && hi == 7)
        sl_imp_putf(c, b, "severity = \">=%s\", ", sl_severity_name((unsigned)lo));
    else if (__builtin_popcount((uint8_t)~m) == 1)
        sl_imp_putf(c, b, "severity = { except = \"%s\" }, ",
             sl_severity_name((unsigned)__builtin_ctz((uint8_t)~m)));
    else {
        sl_imp_puts(c, b, "severity = { ");
        for (unsigned i = 0, j = 0; i < 8; i++) {
            if (m & 1u << i)
                sl_imp_putf(c, b, "%s\"%s\"", j++ ? ", " : "", sl_severity_name(i));
        }
        sl_imp_puts(c, b, " }, ");
    }
}

/* The routes of one rule: a route per group of facilities with one mask,
 * to the output named to, or drop = true for NULL. */
static void emit_routes(struct conv *c, const uint8_t m[NFAC], const char *to)
{
    struct buf *b = &c->routes;
    uint32_t done = 0;
    for (unsigned f = 0; f < 24; f++) {
        if (m[f] == 0 || done & 1u << f)
            continue;
        uint32_t set = 0;
        for (unsigned g = f; g < 24; g++) {
            if (m[g] == m[f])
                set |= 1u << g;
        }
        done |= set;
        sl_imp_puts(c, b, "route { ");
        sl_imp_put(c, b, c->cond.p ? c->cond.p : "", c->cond.n);
        put_facilities(c, b, set);
        put_severities(c, b, m[f]);
        if (to != NULL) {
            sl_imp_puts(c, b, "to = ");
            sl_imp_put_str(c, b, to, strlen(to));
            sl_imp_puts(c, b, " }\n");
        } else {
            sl_imp_puts(c, b, "drop = true }\n");
        }
    }
    if (done == 0)
        sl_imp_putf(c, b, "--   (matches no message%s: no route)\n", m[MARK] ? " sluice has" : "");
}
/* }=== */

/* {=== files */
/* An output name from the file's name: "/var/log/auth.log" is "auth". */
static void file_name(struct conv *c, const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), k = 0;
    if (n > 4 && strcmp(base + n - 4, ".log") == 0)
        n -= 4;
    for (size_t i = 0; i < n && k < MAX_NAME - 4; i++)
        out[k++] = isalnum((unsigned char)base[i]) || sl_imp_in_set("_-.", base[i]) ? base[i] : '_';
    if (k == 0)
        k = (size_t)snprintf(out, len, "file");
    out[k] = '\0';
    for (unsigned dup = 2;; dup++) {
        size_t i = 0;
        while (i < c->nfiles && strcmp(c->files[i].name, out) != 0)
            i++;
        if (i == c->nfiles)
            return;
        snprintf(out + k, len - k, "_%u", dup);
    }
}

/* "*" is "wall"; "root,alice" is "users_root_alice" (cut short, made
 * unique as file names are). */
static void users_name(struct conv *c, const char *spec, char *out, size_t len)
{
    bool all = strcmp(spec, "*") == 0;
    size_t k = (size_t)snprintf(out, len, "%s", all ? "wall" : "users_");
    for (size_t i = 0; !all && spec[i] != '\0' && k < MAX_NAME - 4; i++)
        out[k++] = isalnum((unsigned char)spec[i]) || sl_imp_in_set("_-.", spec[i]) ? spec[i] : '_';
    out[k] = '\0';
    for (unsigned dup = 2;; dup++) {
        size_t i = 0;
        while (i < c->nfiles && strcmp(c->files[i].name, out) != 0)
            i++;
        if (i == c->nfiles)
            return;
        snprintf(out + k, len - k, "_%u", dup);
    }
}

/* The output for path (borrowed), made on first sight; NULL out of memory.
 * users: a users output for the names in path ("*" or "root,alice"). */
static struct file *output_for(struct conv *c, const char *path, enum format f, bool nosync,
                               bool users)
{
    for (size_t i = 0; i < c->nfiles; i++) {
        if (strcmp(c->files[i].path, path) == 0)
            return &c->files[i];
    }
    struct file *v = sl_realloc(c->files, (c->nfiles + 1) * sizeof *v);
    if (v == NULL) {
        c->oom = true;
        return NULL;
    }
    c->files = v;
    struct file *x = &v[c->nfiles];
    char name[MAX_NAME + 1];
    if (users)
        users_name(c, path, name, sizeof name);
    else
        file_name(c, path, name, sizeof name);
    *x = (struct file){.path = sl_strdup(path), .name = sl_strdup(name), .users = users,
                       .format = f, .sync = c->enable_sync && !nosync, .nosync_mark = nosync};
    if (x->path == NULL || x->name == NULL) {
        free(x->path), free(x->name);
        c->oom = true;
        return NULL;
    }
    memcpy(x->owner, c->owner, sizeof x->owner);
    memcpy(x->group, c->group, sizeof x->group);
    memcpy(x->mode, c->mode, sizeof x->mode);
    c->nfiles++;
    return x;
}

static struct file *file_for(struct conv *c, const char *path, enum format f, bool nosync)
{
    return output_for(c, path, f, nosync, false);
}

/* $FileOwnerNum 104: a number, which the file plugin takes as a uid. */
static bool digits(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n < 10 && s[n] == '\0';
}

/* output "wall" { type = "users" }, or with users = { "root", "alice" };
 * the queue as a file's: a users output skips a stuck terminal, but its
 * queue fills while it reads utmp for a flood all the same. */
static void emit_users(struct conv *c, struct buf *b, const struct file *f)
{
    sl_imp_putf(c, b, "output \"%s\" { type = \"users\"", f->name);
    if (strcmp(f->path, "*") != 0) {
        sl_imp_puts(c, b, ", users = { ");
        for (const char *p = f->path, *comma; p != NULL; p = comma ? comma + 1 : NULL) {
            comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            sl_imp_put_str(c, b, p, n);
            sl_imp_puts(c, b, comma ? ", " : " }");
        }
    }
    sl_imp_puts(c, b, ", queue = { block_timeout = \"2s\" } }\n");
}

void sl_imp_emit_files(struct conv *c, struct buf *b)
{
    for (size_t i = 0; i < c->nfiles; i++) {
        const struct file *f = &c->files[i];
        if (f->users) {
            emit_users(c, b, f);
            continue;
        }
        sl_imp_putf(c, b, "output \"%s\" { type = \"file\", path = ", f->name);
        sl_imp_put_str(c, b, f->path, strlen(f->path));
        sl_imp_putf(c, b, ", format = \"%s\"", format_names[f->format]);
        if (f->owner[0])
            sl_imp_putf(c, b, digits(f->owner) ? ", owner = %s" : ", owner = \"%s\"", f->owner);
        if (f->group[0])
            sl_imp_putf(c, b, digits(f->group) ? ", group = %s" : ", group = \"%s\"", f->group);
        if (f->mode[0])
            sl_imp_putf(c, b, ", mode = \"%s\"", f->mode);
        if (f->sync)
            sl_imp_puts(c, b, ", sync = \"batch\"");
        /* rsyslog's main queue, full, waits 2s (queue.timeoutEnqueue) and
         * then drops: a stuck file holds no sender longer */
        sl_imp_puts(c, b, ",\n  queue = { block_timeout = \"2s\" } }\n");
    }
}
/* }=== */

/* {=== actions */
/* The file of an action "-/path;TEMPLATE" into *out, or why not. */
static const char *file_action(struct conv *c, const char *a, size_t an, struct file **out)
{
    bool nosync = a[0] == '-';
    a += nosync, an -= nosync;
    const char *semi = memchr(a, ';', an);
    size_t pn = semi ? (size_t)(semi - a) : an;
    const char *t = semi ? semi + 1 : "";
    size_t tn = semi ? an - pn - 1 : 0;
    int f = (int)c->format;
    sl_imp_trim(&a, &pn);
    sl_imp_trim(&t, &tn);
    if (tn > 0 && (f = sl_imp_template_format(t, tn)) < 0)
        return "only RSYSLOG_FileFormat and RSYSLOG_TraditionalFileFormat convert";
    if (pn > 4000 || memchr(a, '\0', pn) != NULL)
        return "not a file name";
    for (size_t i = 0; i < pn; i++) {
        if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
            return "not a file name";
    }
    const char *brace = memchr(a, '{', pn);
    if (brace != NULL && memchr(brace, '}', pn - (size_t)(brace - a)) != NULL)
        return "a file name with { and } is a template to sluice (see type = \"perproc\")";
    char *path = sl_strndup(a, pn);
    if (path == NULL) {
        c->oom = true;
        return "out of memory";
    }
    *out = file_for(c, path, (enum format)f, nosync);
    free(path);
    return *out ? NULL : "out of memory";
}

/* rsyslog's omusrmsg: ":omusrmsg:*", ":omusrmsg:root,alice", and the
 * legacy forms "*" and "root,alice" (a word that starts with a letter). */
static bool users_action_is(const char *a, size_t an)
{
    if (an > 7 && strncasecmp(a, "action(", 7) == 0)
        return false;
    return a[0] == '*' || (an > 10 && strncasecmp(a, ":omusrmsg:", 10) == 0)
           || isalpha((unsigned char)a[0]);
}

/* The users output of such an action into *out, or why not. The names are
 * held to what the users output accepts (login names), so what converts
 * also loads. */
static const char *users_action(struct conv *c, const char *a, size_t an, struct file **out)
{
    if (an > 10 && strncasecmp(a, ":omusrmsg:", 10) == 0)
        a += 10, an -= 10;
    sl_imp_trim(&a, &an);
    if (memchr(a, ';', an) != NULL)
        return "a template for users' terminals: the users output writes rsyslog's "
               "text, or a format of sluice.lua(5)";
    if (an == 0)
        return "no users";
    if (!(an == 1 && a[0] == '*')) {
        size_t len = 0;
        for (size_t i = 0; i <= an; i++) {
            if (i == an || a[i] == ',') {
                if (len == 0 || len > 32)
                    return "not a list of user names";
                len = 0;
            } else if (isalnum((unsigned char)a[i]) || sl_imp_in_set("._-$", a[i])) {
                if (len++ == 0 && a[i] == '-')
                    return "not a list of user names";
            } else {
                return "not a list of user names";
            }
        }
    }
    char *spec = sl_strndup(a, an);
    if (spec == NULL) {
        c->oom = true;
        return "out of memory";
    }
    *out = output_for(c, spec, F_RSYSLOG, false, true);
    free(spec);
    return *out ? NULL : "out of memory";
}

/* Why an action other than a file, users' terminals or a discard does not
 * convert. */
static const char *action_why(const char *a, size_t an)
{
    if (a[0] == '@')
        return "sluice has no forwarding output yet";
    if (an > 7 && strncasecmp(a, "action(", 7) == 0)
        return "RainerScript action(): write it as an output";
    if (a[0] == '|')
        return "sluice has no named-pipe output";
    if (a[0] == '?' || (an > 1 && a[0] == '-' && a[1] == '?'))
        return "a dynamic file: see type = \"perproc\" in sluice.lua(5)";
    return "an action sluice has no output for";
}

/* One rule: the filter m and the action a (from a selector line or an &
 * line). */
bool sl_imp_rule(struct conv *c, const struct line *l, const uint8_t m[NFAC], const char *a,
                 size_t an, const char **why)
{
    struct file *f = NULL;
    sl_imp_trim(&a, &an);
    bool drop = sl_imp_word_is(a, an, "~") || sl_imp_word_is(a, an, "stop");
    if (an == 0) {
        *why = "no action";
        return false;
    }
    bool users = !drop && users_action_is(a, an);
    if (users && (*why = users_action(c, a, an, &f)) != NULL)
        return false;
    if (!drop && !users && a[0] != '/' && !(an > 1 && a[0] == '-' && a[1] == '/')) {
        *why = action_why(a, an);
        return false;
    }
    if (!drop && !users && (*why = file_action(c, a, an, &f)) != NULL)
        return false;
    sl_imp_puts(c, &c->routes, "-- ");
    sl_imp_put_comment(c, &c->routes, l->p, l->len);
    sl_imp_puts(c, &c->routes, "\n");
    if (f != NULL && a[0] == '-' && !c->dash_noted++)
        sl_imp_puts(c, &c->routes, "--   (the - is rsyslog's no-sync mark: rsyslog syncs no file unless "
                           "$ActionFileEnableSync on)\n");
    emit_routes(c, m, f ? f->name : NULL);
    return true;
}
/* }=== */
