/*
 * import_rsyslog.c: an rsyslog.conf into a sluice.lua (import_rsyslog.h).
 *
 * DESIGN. The input is read line by line, in order, because rsyslog's
 * $-directives apply to the actions after them. Three texts grow as it
 * goes: the head (inputs, and comments about directives), the routes (in
 * the order of the rules, since a rule's ~ or stop ends routing for what
 * it matched) and, at the end, one output per distinct file between them.
 *
 * A selector is decoded exactly as rsyslog's DecodePRIFilter() does it:
 * one 8-bit severity mask per facility, each selector of a ';' list
 * changing the masks the ones before it left ("*.*;auth,authpriv.none"
 * clears auth's and authpriv's). The facilities are then grouped by mask,
 * and each group is one route: its facility list (or its complement,
 * ["not"], when shorter) and its severity spec. rsyslog's mark facility
 * (24) has no messages in sluice and is left out.
 *
 * RainerScript statements (module(), input(), if ... then, ruleset() { })
 * may span lines: a statement runs to where its parentheses and braces
 * close, outside quotes and # comments. Of them, module() and input() of
 * the four inputs convert; every line of the others is commented.
 */
#include "config.h"

#include "conf/import_rsyslog.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/msg.h"

#define NFAC 25    /* rsyslog's: sluice's 24 and mark */
#define MARK 24
#define ALLPRI 0xff
#define NOPRI 0x10 /* rsyslog's INTERNAL_NOPRI: "none" */
#define MAX_NAME 32

enum format { F_RSYSLOG, F_RFC3164 }; /* RSYSLOG_FileFormat, ..._TraditionalFileFormat */
static const char *const format_names[] = {"rsyslog", "rfc3164"};

struct buf {
    char *p;
    size_t n, cap;
};

struct line {
    const char *p;
    size_t len;
    unsigned no;
};

struct file {
    char *path, *name;
    enum format format;
    bool sync, nosync_mark;
    char owner[MAX_NAME + 1], group[MAX_NAME + 1], mode[8];
};

struct input {
    char kind[8];      /* unix, kmsg, udp, tcp */
    char where[300];   /* the path or HOST:PORT; "" for kmsg */
};

struct conv {
    struct buf head, routes;
    struct file *files;
    size_t nfiles;
    struct input inputs[16];
    size_t ninputs;
    struct sl_import *im;
    bool oom;
    /* what the $-directives have set so far */
    char owner[MAX_NAME + 1], group[MAX_NAME + 1], mode[8];
    bool enable_sync;
    enum format format;
    bool imuxsock, omit_local;
    char sock_name[256];
    char udp_addr[64];
    /* the filter of the last selector line, for & lines */
    uint8_t last[NFAC];
    bool last_ok;
    unsigned dash_noted;
};

/* {=== text */
static void put(struct conv *c, struct buf *b, const char *s, size_t n)
{
    if (c->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = sl_realloc(b->p, cap);
        if (p == NULL) {
            c->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct conv *c, struct buf *b, const char *s)
{
    put(c, b, s, strlen(s));
}

static void __attribute__((format(printf, 3, 4))) putf(struct conv *c, struct buf *b,
                                                       const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(c, b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* s as a Lua string literal: quotes, backslashes and control bytes escaped. */
static void put_str(struct conv *c, struct buf *b, const char *s, size_t n)
{
    puts_(c, b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            puts_(c, b, "\\"), put(c, b, s + i, 1);
        else if (ch < 0x20 || ch == 0x7f)
            putf(c, b, "\\%03u", ch);
        else
            put(c, b, s + i, 1);
    }
    puts_(c, b, "\"");
}

/* s in a "-- " comment: a CR or another control byte would end the
 * comment (Lua takes \r as a line end) and make the rest code, so each
 * becomes '?'. */
static void put_comment(struct conv *c, struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        put(c, b, ch < 0x20 && ch != '\t' ? "?" : ch == 0x7f ? "?" : s + i, 1);
    }
}

static void skip_line(struct conv *c, struct buf *b, const struct line *l, const char *why)
{
    puts_(c, b, "-- not converted: ");
    put_comment(c, b, l->p, l->len);
    puts_(c, b, "\n");
    if (c->oom)
        return;
    struct sl_import *im = c->im;
    struct sl_import_skip *v = sl_realloc(im->skipped, (im->nskipped + 1) * sizeof *v);
    if (v == NULL) {
        c->oom = true;
        return;
    }
    im->skipped = v;
    struct sl_import_skip *s = &v[im->nskipped];
    s->line = l->no;
    s->text = sl_strndup(l->p, l->len);
    s->why = sl_strdup(why);
    if (s->text == NULL || s->why == NULL) {
        free(s->text), free(s->why);
        c->oom = true;
        return;
    }
    im->nskipped++;
}

/* Lines first..last not converted, with the reason once after them. */
static void skip(struct conv *c, struct buf *b, const struct line *l, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++)
        skip_line(c, b, &l[i], why);
    putf(c, b, "--   (%s)\n", why);
}
/* }=== */

/* {=== small parsing helpers */
static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Whether ch is one of set; strchr() alone would also find a NUL. */
static bool in_set(const char *set, char ch)
{
    return ch != '\0' && strchr(set, ch) != NULL;
}

/* A name safe anywhere: 1..MAX_NAME letters, digits, '_', '-', '.'. */
static bool plain(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !in_set("_-.", s[i]))
            return false;
    }
    return true;
}

/* An octal mode "0640" or "640" into out ("0640"); false past 0777. */
static bool octal_mode(const char *s, size_t n, char out[8])
{
    unsigned v = 0;
    if (n == 0 || n > 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '7')
            return false;
        v = v * 8 + (unsigned)(s[i] - '0');
    }
    if (v > 0777)
        return false;
    snprintf(out, 8, "%04o", v);
    return true;
}

static bool port_ok(const char *s, size_t n)
{
    unsigned v = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v > 0 && v < 65536;
}

static int template_format(const char *s, size_t n)
{
    if (word_is(s, n, "RSYSLOG_TraditionalFileFormat"))
        return F_RFC3164;
    if (word_is(s, n, "RSYSLOG_FileFormat"))
        return F_RSYSLOG;
    return -1;
}
/* }=== */

/* {=== inputs */
/* Records an input; one already there on the same place is not added
 * twice (two would be a config error). */
static void add_input(struct conv *c, const char *kind, const char *where)
{
    for (size_t i = 0; i < c->ninputs; i++) {
        if (strcmp(c->inputs[i].kind, kind) == 0 && strcmp(c->inputs[i].where, where) == 0)
            return;
        if (strcmp(kind, "unix") == 0 && strcmp(c->inputs[i].where, where) == 0)
            return;
    }
    if (c->ninputs == sizeof c->inputs / sizeof c->inputs[0])
        return;
    struct input *in = &c->inputs[c->ninputs++];
    snprintf(in->kind, sizeof in->kind, "%s", kind);
    snprintf(in->where, sizeof in->where, "%s", where);
}

static void emit_inputs(struct conv *c, struct buf *b)
{
    if (c->imuxsock && !c->omit_local)
        add_input(c, "unix", c->sock_name[0] ? c->sock_name : "/dev/log");
    unsigned count[4] = {0};
    static const char *const kinds[] = {"unix", "kmsg", "udp", "tcp"};
    static const char *const names[] = {"unix", "kernel", "udp", "tcp"};
    for (size_t i = 0; i < c->ninputs; i++) {
        const struct input *in = &c->inputs[i];
        unsigned k = 0;
        while (k < 3 && strcmp(kinds[k], in->kind) != 0)
            k++;
        if (count[k]++ == 0)
            putf(c, b, "input \"%s\" { type = \"%s\"", names[k], in->kind);
        else
            putf(c, b, "input \"%s_%u\" { type = \"%s\"", names[k], count[k], in->kind);
        if (k == 0) {
            puts_(c, b, ", path = ");
            put_str(c, b, in->where, strlen(in->where));
        } else if (k >= 2) {
            puts_(c, b, ", listen = ");
            put_str(c, b, in->where, strlen(in->where));
        }
        puts_(c, b, " }\n");
        if (k == 0 && strcmp(in->where, "/dev/log") == 0)
            putf(c, b, "-- Where journald owns /dev/log (systemd), rsyslog reads "
                       "/run/systemd/journal/syslog\n-- (journald's ForwardToSyslog=yes): use "
                       "that path.\n");
        if (k >= 2 && strncmp(in->where, "0.0.0.0:", 8) == 0)
            putf(c, b, "-- rsyslog listens on IPv6 too: add an input on \"[::]:%s\" for it.\n",
                 in->where + 8);
    }
}

/* udp or tcp on port (and address, "" for any). */
static void net_input(struct conv *c, const char *kind, const char *addr, size_t alen,
                      const char *port, size_t plen)
{
    char where[300];
    if (alen == 0 || word_is(addr, alen, "*"))
        snprintf(where, sizeof where, "0.0.0.0:%.*s", (int)plen, port);
    else
        snprintf(where, sizeof where, "%.*s:%.*s", (int)alen, addr, (int)plen, port);
    add_input(c, kind, where);
}
/* }=== */

/* {=== RainerScript: module() and input() */
struct param {
    const char *k, *v;
    size_t kn, vn;
};

/* The NAME="value" pairs between the parentheses of text, at most max;
 * -1 when something else is there (an array, no quotes). */
static int params(const char *s, size_t n, struct param *p, int max)
{
    const char *e = s + n, *q = memchr(s, '(', n);
    int count = 0;
    if (q == NULL)
        return -1;
    for (q++;;) {
        while (q < e && (isspace((unsigned char)*q) || *q == ','))
            q++;
        if (q < e && *q == ')')
            return count;
        const char *k = q;
        while (q < e && (isalnum((unsigned char)*q) || in_set("._-", *q)))
            q++;
        size_t kn = (size_t)(q - k);
        while (q < e && isspace((unsigned char)*q))
            q++;
        if (kn == 0 || q >= e || *q != '=' || count == max)
            return -1;
        for (q++; q < e && isspace((unsigned char)*q);)
            q++;
        if (q >= e || (*q != '"' && *q != '\''))
            return -1;
        char quote = *q++;
        const char *v = q;
        while (q < e && *q != quote && *q != '\\')
            q++;
        if (q >= e || *q != quote)
            return -1; /* escapes are left to a person */
        p[count++] = (struct param){k, v, kn, (size_t)(q - v)};
        q++;
    }
}

static const struct param *param(const struct param *p, int n, const char *k)
{
    for (int i = 0; i < n; i++) {
        if (word_is(p[i].k, p[i].kn, k))
            return &p[i];
    }
    return NULL;
}

/* Whether every parameter is one of the NULL-ended known. */
static bool params_known(const struct param *p, int n, const char *const *known)
{
    for (int i = 0; i < n; i++) {
        bool ok = false;
        for (size_t j = 0; known[j] != NULL && !ok; j++)
            ok = word_is(p[i].k, p[i].kn, known[j]);
        if (!ok)
            return false;
    }
    return true;
}

static bool load_module(struct conv *c, const char *m, size_t mn, const struct param *p, int n)
{
    static const char *const plain_load[] = {"load", NULL};
    static const char *const uxsock[] = {"load", "SysSock.Use", "SysSock.Name", NULL};
    static const char *const omfile[] = {"load", "template", NULL};
    if (word_is(m, mn, "imuxsock") && params_known(p, n, uxsock)) {
        const struct param *use = param(p, n, "SysSock.Use");
        const struct param *name = param(p, n, "SysSock.Name");
        if (name != NULL && (name->vn == 0 || name->vn >= sizeof c->sock_name ||
                             memchr(name->v, '\0', name->vn) != NULL))
            return false;
        c->imuxsock = true;
        c->omit_local = use != NULL && word_is(use->v, use->vn, "off");
        if (name != NULL)
            snprintf(c->sock_name, sizeof c->sock_name, "%.*s", (int)name->vn, name->v);
        return true;
    }
    if (word_is(m, mn, "imklog") && params_known(p, n, plain_load)) {
        add_input(c, "kmsg", "");
        return true;
    }
    if ((word_is(m, mn, "imudp") || word_is(m, mn, "imtcp")) && params_known(p, n, plain_load))
        return true; /* the input() lines make the inputs */
    if (word_is(m, mn, "builtin:omfile") && params_known(p, n, omfile)) {
        const struct param *t = param(p, n, "template");
        int f = t != NULL ? template_format(t->v, t->vn) : (int)c->format;
        if (f < 0)
            return false;
        c->format = (enum format)f;
        return true;
    }
    return false;
}

/* module(...) or input(...) in s (one statement, maybe several lines);
 * false: not converted. */
static bool rainer_object(struct conv *c, const char *s, size_t n)
{
    static const char *const in_keys[] = {"type", "port", "address", NULL};
    static const char *const ux_keys[] = {"type", "socket", NULL};
    struct param p[16];
    int np = params(s, n, p, 16);
    if (np < 0)
        return false;
    if (strncasecmp(s, "module", 6) == 0) {
        const struct param *load = param(p, np, "load");
        return load != NULL && load_module(c, load->v, load->vn, p, np);
    }
    const struct param *type = param(p, np, "type");
    if (type == NULL)
        return false;
    if (word_is(type->v, type->vn, "imuxsock") && params_known(p, np, ux_keys)) {
        const struct param *sock = param(p, np, "socket");
        char path[256];
        if (sock == NULL || sock->vn == 0 || sock->vn >= sizeof path ||
            memchr(sock->v, '\0', sock->vn) != NULL)
            return false;
        snprintf(path, sizeof path, "%.*s", (int)sock->vn, sock->v);
        add_input(c, "unix", path);
        return true;
    }
    bool udp = word_is(type->v, type->vn, "imudp");
    if (!udp && !word_is(type->v, type->vn, "imtcp"))
        return false;
    const struct param *port = param(p, np, "port"), *addr = param(p, np, "address");
    if (!params_known(p, np, in_keys) || port == NULL || !port_ok(port->v, port->vn) ||
        (addr != NULL && !plain(addr->v, addr->vn)))
        return false;
    net_input(c, udp ? "udp" : "tcp", addr ? addr->v : "", addr ? addr->vn : 0, port->v,
              port->vn);
    return true;
}
/* }=== */

/* {=== $-directives */
/* One $Directive line; false: not converted (why says why). */
static bool directive(struct conv *c, const struct line *l, const char **why)
{
    const char *s = l->p + 1, *arg;
    size_t n = l->len - 1, wn = 0, an;
    while (wn < n && !isspace((unsigned char)s[wn]))
        wn++;
    arg = s + wn, an = n - wn;
    trim(&arg, &an);
    *why = "no sluice equivalent";
    if (word_is(s, wn, "ModLoad")) {
        struct param p = {"load", arg, 4, an};
        *why = "a module sluice has no input or output for";
        return load_module(c, arg, an, &p, 1);
    }
    if (word_is(s, wn, "FileOwner") || word_is(s, wn, "FileOwnerNum") ||
        word_is(s, wn, "FileGroup") || word_is(s, wn, "FileGroupNum")) {
        bool owner = word_is(s, 5, "FileO");
        *why = "not a user or group name";
        if (!plain(arg, an))
            return false;
        snprintf(owner ? c->owner : c->group, MAX_NAME + 1, "%.*s", (int)an, arg);
        return true;
    }
    if (word_is(s, wn, "FileCreateMode")) {
        *why = "not a mode from 0000 to 0777";
        return octal_mode(arg, an, c->mode);
    }
    if (word_is(s, wn, "DirCreateMode") && word_is(arg, an, "0755"))
        return true; /* what the file plugin does */
    if (word_is(s, wn, "ActionFileEnableSync")) {
        c->enable_sync = word_is(arg, an, "on");
        return c->enable_sync || word_is(arg, an, "off");
    }
    if (word_is(s, wn, "ActionFileDefaultTemplate")) {
        int f = template_format(arg, an);
        *why = "only RSYSLOG_FileFormat and RSYSLOG_TraditionalFileFormat convert";
        if (f >= 0)
            c->format = (enum format)f;
        return f >= 0;
    }
    if (word_is(s, wn, "OmitLocalLogging")) {
        c->omit_local = word_is(arg, an, "on");
        return true;
    }
    if (word_is(s, wn, "SystemLogSocketName") && an > 0 && an < sizeof c->sock_name &&
        memchr(arg, '\0', an) == NULL) {
        snprintf(c->sock_name, sizeof c->sock_name, "%.*s", (int)an, arg);
        return true;
    }
    if (word_is(s, wn, "UDPServerAddress") && plain(arg, an)) {
        snprintf(c->udp_addr, sizeof c->udp_addr, "%.*s", (int)an, arg);
        return true;
    }
    bool udp = word_is(s, wn, "UDPServerRun");
    if ((udp || word_is(s, wn, "InputTCPServerRun")) && port_ok(arg, an)) {
        net_input(c, udp ? "udp" : "tcp", udp ? c->udp_addr : "", udp ? strlen(c->udp_addr) : 0,
                  arg, an);
        return true;
    }
    if (word_is(s, wn, "Umask"))
        *why = "sluiced keeps the umask it is started with; each output has its mode";
    if (word_is(s, wn, "WorkDirectory"))
        *why = "sluice keeps its state in settings.state_dir, needed only by disk queues";
    return false;
}
/* }=== */

/* {=== selectors, as rsyslog's DecodePRIFilter() */
static int facility_num(const char *s, size_t n)
{
    if (word_is(s, n, "mark"))
        return MARK;
    if (word_is(s, n, "solaris-cron"))
        return 15;
    return sl_facility_from_name(s, n);
}

/* The priority of one selector: 0..7, ALLPRI or NOPRI; -1 when unknown. */
static int priority_num(const char *s, size_t n)
{
    if (word_is(s, n, "*"))
        return ALLPRI;
    if (word_is(s, n, "none"))
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
        int fac = word_is(f, fn, "*") ? NFAC : facility_num(f, fn);
        if (fac < 0)
            return false;
        for (int i = fac == NFAC ? 0 : fac; i < (fac == NFAC ? NFAC : fac + 1); i++)
            apply(&m[i], pri, single, ignore);
        f += fn + 1;
    }
    return true;
}

static bool selectors(const char *s, size_t n, uint8_t m[NFAC])
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
    puts_(c, b, neg ? "facility = { [\"not\"] = " : "facility = ");
    if (k > 1)
        puts_(c, b, "{ ");
    for (unsigned f = 0; f < 24; f++) {
        if (list & 1u << f)
            putf(c, b, "%s\"%s\"", j++ ? ", " : "", sl_facility_name(f));
    }
    puts_(c, b, k > 1 ? " }" : "");
    puts_(c, b, neg ? " }, " : ", ");
}

static void put_severities(struct conv *c, struct buf *b, uint8_t m)
{
    if (m == ALLPRI)
        return;
    int lo = __builtin_ctz(m), hi = 31 - __builtin_clz(m);
    bool run = (unsigned)__builtin_popcount(m) == (unsigned)(hi - lo + 1);
    if (lo == hi)
        putf(c, b, "severity = \"%s\", ", sl_severity_name((unsigned)lo));
    else if (run && lo == 0)
        putf(c, b, "severity = \"<=%s\", ", sl_severity_name((unsigned)hi));
    else if (run && hi == 7)
        putf(c, b, "severity = \">=%s\", ", sl_severity_name((unsigned)lo));
    else if (__builtin_popcount((uint8_t)~m) == 1)
        putf(c, b, "severity = { [\"not\"] = \"%s\" }, ",
             sl_severity_name((unsigned)__builtin_ctz((uint8_t)~m)));
    else {
        puts_(c, b, "severity = { ");
        for (unsigned i = 0, j = 0; i < 8; i++) {
            if (m & 1u << i)
                putf(c, b, "%s\"%s\"", j++ ? ", " : "", sl_severity_name(i));
        }
        puts_(c, b, " }, ");
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
        puts_(c, b, "route { ");
        put_facilities(c, b, set);
        put_severities(c, b, m[f]);
        if (to != NULL) {
            puts_(c, b, "to = ");
            put_str(c, b, to, strlen(to));
            puts_(c, b, " }\n");
        } else {
            puts_(c, b, "drop = true }\n");
        }
    }
    if (done == 0)
        putf(c, b, "--   (matches no message%s: no route)\n", m[MARK] ? " sluice has" : "");
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
        out[k++] = isalnum((unsigned char)base[i]) || in_set("_-.", base[i]) ? base[i] : '_';
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

/* The output for path (borrowed), made on first sight; NULL out of memory. */
static struct file *file_for(struct conv *c, const char *path, enum format f, bool nosync)
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
    file_name(c, path, name, sizeof name);
    *x = (struct file){.path = sl_strdup(path), .name = sl_strdup(name), .format = f,
                       .sync = c->enable_sync && !nosync, .nosync_mark = nosync};
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

static void emit_files(struct conv *c, struct buf *b)
{
    for (size_t i = 0; i < c->nfiles; i++) {
        const struct file *f = &c->files[i];
        putf(c, b, "output \"%s\" { type = \"file\", path = ", f->name);
        put_str(c, b, f->path, strlen(f->path));
        putf(c, b, ", format = \"%s\"", format_names[f->format]);
        if (f->owner[0])
            putf(c, b, ", owner = \"%s\"", f->owner);
        if (f->group[0])
            putf(c, b, ", group = \"%s\"", f->group);
        if (f->mode[0])
            putf(c, b, ", mode = \"%s\"", f->mode);
        if (f->sync)
            puts_(c, b, ", sync = \"batch\"");
        /* rsyslog's main queue, full, waits 2s (queue.timeoutEnqueue) and
         * then drops: a stuck file holds no sender longer */
        puts_(c, b, ",\n  queue = { block_timeout = \"2s\" } }\n");
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
    trim(&a, &pn);
    trim(&t, &tn);
    if (tn > 0 && (f = template_format(t, tn)) < 0)
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

/* Why an action other than a file or a discard does not convert. */
static const char *action_why(const char *a, size_t an)
{
    if (a[0] == '@')
        return "sluice has no forwarding output yet";
    if (a[0] == '*' || (an > 10 && strncasecmp(a, ":omusrmsg:", 10) == 0) ||
        isalpha((unsigned char)a[0]))
        return "sluice has no output that writes to users' terminals yet";
    if (a[0] == '|')
        return "sluice has no named-pipe output";
    if (a[0] == '?' || (an > 1 && a[0] == '-' && a[1] == '?'))
        return "a dynamic file: see type = \"perproc\" in sluice.lua(5)";
    return "an action sluice has no output for";
}

/* One rule: the filter m and the action a (from a selector line or an &
 * line). */
static bool rule(struct conv *c, const struct line *l, const uint8_t m[NFAC], const char *a,
                 size_t an, const char **why)
{
    struct file *f = NULL;
    trim(&a, &an);
    bool drop = word_is(a, an, "~") || word_is(a, an, "stop");
    if (an == 0) {
        *why = "no action";
        return false;
    }
    if (!drop && a[0] != '/' && !(an > 1 && a[0] == '-' && a[1] == '/')) {
        *why = action_why(a, an);
        return false;
    }
    if (!drop && (*why = file_action(c, a, an, &f)) != NULL)
        return false;
    puts_(c, &c->routes, "-- ");
    put_comment(c, &c->routes, l->p, l->len);
    puts_(c, &c->routes, "\n");
    if (f != NULL && a[0] == '-' && !c->dash_noted++)
        puts_(c, &c->routes, "--   (the - is rsyslog's no-sync mark: rsyslog syncs no file unless "
                           "$ActionFileEnableSync on)\n");
    emit_routes(c, m, f ? f->name : NULL);
    return true;
}
/* }=== */

/* {=== statements */
static bool blank(const struct line *l)
{
    const char *s = l->p;
    size_t n = l->len;
    trim(&s, &n);
    return n == 0 || s[0] == '#';
}

/* Whether the text of a line, without its comment, ends in word. */
static bool ends_with_word(const char *s, size_t n, const char *w)
{
    size_t wn = strlen(w);
    trim(&s, &n);
    return n >= wn && strncasecmp(s + n - wn, w, wn) == 0 &&
           (n == wn || !isalnum((unsigned char)s[n - wn - 1]));
}

/* The last line of the RainerScript statement that starts at line i: where
 * its parentheses and braces close (outside quotes and # comments), unless
 * it ends in "then" or the next line opens a block or says "else". Its
 * text without comments is appended to *text. */
static size_t statement(struct conv *c, const struct line *l, size_t nl, size_t i,
                        struct buf *text)
{
    int depth = 0;
    char quote = 0;
    for (;; i++) {
        const char *s = l[i].p;
        size_t n = l[i].len, code = n;
        for (size_t k = 0; k < n; k++) {
            if (quote) {
                if (s[k] == '\\')
                    k++;
                else if (s[k] == quote)
                    quote = 0;
            } else if (s[k] == '"' || s[k] == '\'') {
                quote = s[k];
            } else if (s[k] == '#') {
                code = k;
                break;
            } else {
                depth += (s[k] == '(' || s[k] == '{' || s[k] == '[') -
                         (s[k] == ')' || s[k] == '}' || s[k] == ']');
            }
        }
        put(c, text, s, code < n ? code : n);
        puts_(c, text, " ");
        if (i + 1 >= nl)
            return i;
        if (depth > 0 || quote || ends_with_word(s, code, "then") ||
            ends_with_word(s, code, "else"))
            continue;
        size_t j = i + 1;
        while (j < nl && blank(&l[j]))
            j++;
        if (j == nl)
            return i;
        const char *t = l[j].p;
        size_t tn = l[j].len;
        trim(&t, &tn);
        if (!(t[0] == '{' || (tn >= 4 && strncasecmp(t, "else", 4) == 0)))
            return i;
        i = j - 1; /* the blank lines between go with it */
    }
}

/* The leading word of s: letters, digits and "_.:-". */
static size_t lead_word(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && (isalnum((unsigned char)s[k]) || in_set("_.:-", s[k])))
        k++;
    return k;
}

static bool rainer_start(const char *s, size_t n)
{
    static const char *const kw[] = {"if", "ruleset", "set", "unset", "call", "foreach",
                                     "reset", "else", "stop", "continue", NULL};
    size_t w = lead_word(s, n), k = w;
    while (k < n && isspace((unsigned char)s[k]))
        k++;
    if (w > 0 && k < n && s[k] == '(' && memchr(s, '.', w) == NULL)
        return true;
    for (size_t i = 0; kw[i] != NULL; i++) {
        if (word_is(s, w, kw[i]) && (w == n || !in_set(".,;", s[w])))
            return true;
    }
    return false;
}

static void include(struct conv *c, const struct line *l, size_t n)
{
    puts_(c, &c->routes, "-- Convert the files this includes too (sluiced --import-rsyslog FILE "
                       "> sluice.d/NAME.lua,\n-- keeping their outputs and routes, as their "
                       "inputs are here) and include them\n-- at this place: include "
                       "\"sluice.d/*.lua\" (see sluice.lua(5)).\n");
    skip(c, &c->routes, l, n, "convert the included files too and include them");
}

/* A RainerScript statement, lines l[0..n). */
static void rainer(struct conv *c, const struct line *l, size_t n, struct buf *text)
{
    const char *s = text->p;
    size_t sn = text->n;
    trim(&s, &sn);
    c->last_ok = false;
    if (strncasecmp(s, "include", 7) == 0 && lead_word(s, sn) == 7) {
        include(c, l, n);
        return;
    }
    bool obj = (strncasecmp(s, "module", 6) == 0 && lead_word(s, sn) == 6) ||
               (strncasecmp(s, "input", 5) == 0 && lead_word(s, sn) == 5);
    if (obj && rainer_object(c, s, sn)) {
        for (size_t i = 0; i < n; i++) {
            puts_(c, &c->head, "-- ");
            put_comment(c, &c->head, l[i].p, l[i].len);
            puts_(c, &c->head, "\n");
        }
        return;
    }
    skip(c, obj ? &c->head : &c->routes, l, n,
         obj ? "a module or parameter sluice has no equivalent for"
             : "RainerScript: write it as a route, with where = function(m) ... end if needed");
}

/* A selector line: "SELECTORS ACTION". */
static void selector_line(struct conv *c, const struct line *l, const char *s, size_t n)
{
    size_t k = 0;
    const char *why = "not a selector line rsyslog would read";
    while (k < n && !isspace((unsigned char)s[k]))
        k++;
    c->last_ok = selectors(s, k, c->last);
    if (!c->last_ok)
        why = "a selector with an unknown facility or priority";
    if (c->last_ok && rule(c, l, c->last, s + k, n - k, &why))
        return;
    skip(c, &c->routes, l, 1, why);
}

static void one_line(struct conv *c, const struct line *l, const char *s, size_t n)
{
    const char *why = NULL;
    if (s[0] == '$') {
        if (lead_word(s + 1, n - 1) == 13 && strncasecmp(s + 1, "IncludeConfig", 13) == 0) {
            include(c, l, 1);
        } else if (directive(c, l, &why)) {
            puts_(c, &c->head, "-- ");
            put_comment(c, &c->head, l->p, l->len);
            puts_(c, &c->head, ": converted\n");
        } else {
            skip(c, &c->head, l, 1, why);
        }
    } else if (s[0] == '&') {
        if (!c->last_ok)
            skip(c, &c->routes, l, 1, "it follows a line that was not converted");
        else if (!rule(c, l, c->last, s + 1, n - 1, &why))
            skip(c, &c->routes, l, 1, why);
    } else if (s[0] == ':') {
        c->last_ok = false;
        skip(c, &c->routes, l, 1, "a property filter: write it as a route with msg_contains, "
                                  "app_name, ... or where");
    } else {
        selector_line(c, l, s, n);
    }
}
/* }=== */

static size_t split_lines(const char *text, size_t len, struct line *v)
{
    size_t n = 0;
    for (size_t i = 0; i < len || (i == len && n == 0 && len > 0);) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len, ln = end - i;
        if (v != NULL) {
            v[n] = (struct line){text + i, ln, (unsigned)n + 1};
            if (ln > 0 && text[end - 1] == '\r')
                v[n].len--;
        }
        n++;
        i = end + 1;
        if (nl == NULL)
            break;
    }
    return n;
}

/* Lines l[i..] ending in a backslash are one selector line, joined in *j. */
static size_t continued(struct conv *c, const struct line *l, size_t nl, size_t i, struct buf *j)
{
    for (size_t first = i;; i++) {
        const char *s = l[i].p;
        size_t n = l[i].len;
        bool more = n > 0 && s[n - 1] == '\\' && i + 1 < nl;
        while (i > first && n > 0 && isspace((unsigned char)*s))
            s++, n--; /* as sysklogd: a continuation's indent is not kept */
        put(c, j, s, more ? n - 1 : n);
        if (!more)
            return i;
    }
}

static void convert(struct conv *c, const struct line *l, size_t nl)
{
    struct buf text = {0};
    for (size_t i = 0; i < nl && !c->oom; i++) {
        const char *s = l[i].p;
        size_t n = l[i].len;
        trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        text.n = 0;
        if (n >= 2 && s[0] == '/' && s[1] == '*') {
            while (i + 1 < nl && !memmem(l[i].p, l[i].len, "*/", 2))
                i++; /* a comment */
        } else if (rainer_start(s, n)) {
            size_t end = statement(c, l, nl, i, &text);
            if (!c->oom)
                rainer(c, &l[i], end - i + 1, &text);
            i = end;
        } else if (s[n - 1] == '\\' && s[0] != '$') {
            size_t end = continued(c, l, nl, i, &text);
            if (!c->oom) {
                struct line joined = {text.p, text.n, l[i].no};
                const char *js = text.p;
                size_t jn = text.n;
                trim(&js, &jn);
                one_line(c, &joined, js, jn);
            }
            i = end;
        } else {
            one_line(c, &l[i], s, n);
        }
    }
    free(text.p);
}

static void assemble(struct conv *c, const char *source, struct buf *out)
{
    puts_(c, out, "-- sluice.lua converted from ");
    put_comment(c, out, source, strlen(source));
    puts_(c, out, " by sluiced --import-rsyslog.\n-- Check it with sluiced --check -c FILE; "
                "see sluice.lua(5).\n\n");
    emit_inputs(c, out);
    put(c, out, c->head.p ? c->head.p : "", c->head.n);
    puts_(c, out, "\n-- One output per file, in rsyslog's format\n");
    emit_files(c, out);
    puts_(c, out, "\n-- The rules, in their order\n");
    put(c, out, c->routes.p ? c->routes.p : "", c->routes.n);
}

void sl_import_free(struct sl_import *im)
{
    for (size_t i = 0; i < im->nskipped; i++)
        free(im->skipped[i].text), free(im->skipped[i].why);
    free(im->skipped);
    free(im->lua);
    *im = (struct sl_import){0};
}

int sl_import_rsyslog(const char *text, size_t len, const char *source, struct sl_import *out)
{
    *out = (struct sl_import){0};
    struct conv c = {.im = out, .format = F_RSYSLOG};
    size_t nl = split_lines(text, len, NULL);
    struct line *l = sl_calloc(nl + 1, sizeof *l);
    struct buf lua = {0};
    if (l == NULL)
        return -ENOMEM;
    split_lines(text, len, l);
    convert(&c, l, nl);
    assemble(&c, source, &lua);
    free(l);
    free(c.head.p);
    free(c.routes.p);
    for (size_t i = 0; i < c.nfiles; i++)
        free(c.files[i].path), free(c.files[i].name);
    free(c.files);
    if (c.oom) {
        free(lua.p);
        sl_import_free(out);
        return -ENOMEM;
    }
    out->lua = lua.p;
    out->len = lua.n;
    return 0;
}
