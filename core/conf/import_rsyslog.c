/* SPDX-License-Identifier: MIT */
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
 * except, when shorter) and its severity spec. rsyslog's mark facility
 * (24) has no messages in sluice and is left out.
 *
 * RainerScript statements (module(), input(), if ... then, ruleset() { })
 * may span lines: a statement runs to where its parentheses and braces
 * close, outside quotes and # comments. Of them, module() and input() of
 * the four inputs convert; every line of the others is commented.
 */
#include "config.h"

#include "conf/import_impl.h"

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

/* {=== text */
void sl_imp_put(struct conv *c, struct buf *b, const char *s, size_t n)
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

void sl_imp_puts(struct conv *c, struct buf *b, const char *s)
{
    sl_imp_put(c, b, s, strlen(s));
}

void sl_imp_putf(struct conv *c, struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sl_imp_put(c, b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* s as a Lua string literal: quotes, backslashes and control bytes escaped. */
void sl_imp_put_str(struct conv *c, struct buf *b, const char *s, size_t n)
{
    sl_imp_puts(c, b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            sl_imp_puts(c, b, "\\"), sl_imp_put(c, b, s + i, 1);
        else if (ch < 0x20 || ch == 0x7f)
            sl_imp_putf(c, b, "\\%03u", ch);
        else
            sl_imp_put(c, b, s + i, 1);
    }
    sl_imp_puts(c, b, "\"");
}

/* s in a "-- " comment: a CR or another control byte would end the
 * comment (Lua takes \r as a line end) and make the rest code, so each
 * becomes '?'. */
void sl_imp_put_comment(struct conv *c, struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        sl_imp_put(c, b, ch < 0x20 && ch != '\t' ? "?" : ch == 0x7f ? "?" : s + i, 1);
    }
}

static void skip_line(struct conv *c, struct buf *b, const struct line *l, const char *why)
{
    sl_imp_puts(c, b, "-- not converted: ");
    sl_imp_put_comment(c, b, l->p, l->len);
    sl_imp_puts(c, b, "\n");
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
    sl_imp_putf(c, b, "--   (%s)\n", why);
}
/* }=== */

/* {=== small parsing helpers */
bool sl_imp_word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

void sl_imp_trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Whether ch is one of set; strchr() alone would also find a NUL. */
bool sl_imp_in_set(const char *set, char ch)
{
    return ch != '\0' && strchr(set, ch) != NULL;
}

/* A name safe anywhere: 1..MAX_NAME letters, digits, '_', '-', '.'. */
static bool plain(const char *s, size_t n)
{
    if (n == 0 || n > MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !sl_imp_in_set("_-.", s[i]))
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

int sl_imp_template_format(const char *s, size_t n)
{
    if (sl_imp_word_is(s, n, "RSYSLOG_TraditionalFileFormat"))
        return F_RFC3164;
    if (sl_imp_word_is(s, n, "RSYSLOG_FileFormat"))
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
            sl_imp_putf(c, b, "input \"%s\" { type = \"%s\"", names[k], in->kind);
        else
            sl_imp_putf(c, b, "input \"%s_%u\" { type = \"%s\"", names[k], count[k], in->kind);
        if (k == 0) {
            sl_imp_puts(c, b, ", path = ");
            sl_imp_put_str(c, b, in->where, strlen(in->where));
        } else if (k >= 2) {
            sl_imp_puts(c, b, ", listen = ");
            sl_imp_put_str(c, b, in->where, strlen(in->where));
        }
        sl_imp_puts(c, b, " }\n");
        if (k == 0 && strcmp(in->where, "/dev/log") == 0)
            sl_imp_putf(c, b, "-- Where journald owns /dev/log (systemd), rsyslog reads "
                       "/run/systemd/journal/syslog\n-- (journald's ForwardToSyslog=yes): use "
                       "that path.\n");
        if (k >= 2 && strncmp(in->where, "0.0.0.0:", 8) == 0)
            sl_imp_putf(c, b, "-- rsyslog listens on IPv6 too: add an input on \"[::]:%s\" for it.\n",
                 in->where + 8);
    }
}

/* udp or tcp on port (and address, "" for any). */
static void net_input(struct conv *c, const char *kind, const char *addr, size_t alen,
                      const char *port, size_t plen)
{
    char where[300];
    if (alen == 0 || sl_imp_word_is(addr, alen, "*"))
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
        while (q < e && (isalnum((unsigned char)*q) || sl_imp_in_set("._-", *q)))
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
        if (sl_imp_word_is(p[i].k, p[i].kn, k))
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
            ok = sl_imp_word_is(p[i].k, p[i].kn, known[j]);
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
    if (sl_imp_word_is(m, mn, "imuxsock") && params_known(p, n, uxsock)) {
        const struct param *use = param(p, n, "SysSock.Use");
        const struct param *name = param(p, n, "SysSock.Name");
        if (name != NULL && (name->vn == 0 || name->vn >= sizeof c->sock_name ||
                             memchr(name->v, '\0', name->vn) != NULL))
            return false;
        c->imuxsock = true;
        c->omit_local = use != NULL && sl_imp_word_is(use->v, use->vn, "off");
        if (name != NULL)
            snprintf(c->sock_name, sizeof c->sock_name, "%.*s", (int)name->vn, name->v);
        return true;
    }
    if (sl_imp_word_is(m, mn, "imklog") && params_known(p, n, plain_load)) {
        add_input(c, "kmsg", "");
        return true;
    }
    if ((sl_imp_word_is(m, mn, "imudp") || sl_imp_word_is(m, mn, "imtcp")) && params_known(p, n, plain_load))
        return true; /* the input() lines make the inputs */
    if (sl_imp_word_is(m, mn, "builtin:omfile") && params_known(p, n, omfile)) {
        const struct param *t = param(p, n, "template");
        int f = t != NULL ? sl_imp_template_format(t->v, t->vn) : (int)c->format;
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
    if (sl_imp_word_is(type->v, type->vn, "imuxsock") && params_known(p, np, ux_keys)) {
        const struct param *sock = param(p, np, "socket");
        char path[256];
        if (sock == NULL || sock->vn == 0 || sock->vn >= sizeof path ||
            memchr(sock->v, '\0', sock->vn) != NULL)
            return false;
        snprintf(path, sizeof path, "%.*s", (int)sock->vn, sock->v);
        add_input(c, "unix", path);
        return true;
    }
    bool udp = sl_imp_word_is(type->v, type->vn, "imudp");
    if (!udp && !sl_imp_word_is(type->v, type->vn, "imtcp"))
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
    sl_imp_trim(&arg, &an);
    *why = "no sluice equivalent";
    if (sl_imp_word_is(s, wn, "ModLoad")) {
        struct param p = {"load", arg, 4, an};
        *why = "a module sluice has no input or output for";
        return load_module(c, arg, an, &p, 1);
    }
    if (sl_imp_word_is(s, wn, "FileOwner") || sl_imp_word_is(s, wn, "FileOwnerNum") ||
        sl_imp_word_is(s, wn, "FileGroup") || sl_imp_word_is(s, wn, "FileGroupNum")) {
        bool owner = sl_imp_word_is(s, 5, "FileO");
        *why = "not a user or group name";
        if (!plain(arg, an))
            return false;
        snprintf(owner ? c->owner : c->group, MAX_NAME + 1, "%.*s", (int)an, arg);
        return true;
    }
    if (sl_imp_word_is(s, wn, "FileCreateMode")) {
        *why = "not a mode from 0000 to 0777";
        return octal_mode(arg, an, c->mode);
    }
    if (sl_imp_word_is(s, wn, "DirCreateMode") && sl_imp_word_is(arg, an, "0755"))
        return true; /* what the file plugin does */
    if (sl_imp_word_is(s, wn, "ActionFileEnableSync")) {
        c->enable_sync = sl_imp_word_is(arg, an, "on");
        return c->enable_sync || sl_imp_word_is(arg, an, "off");
    }
    if (sl_imp_word_is(s, wn, "ActionFileDefaultTemplate")) {
        int f = sl_imp_template_format(arg, an);
        *why = "only RSYSLOG_FileFormat and RSYSLOG_TraditionalFileFormat convert";
        if (f >= 0)
            c->format = (enum format)f;
        return f >= 0;
    }
    if (sl_imp_word_is(s, wn, "OmitLocalLogging")) {
        c->omit_local = sl_imp_word_is(arg, an, "on");
        return true;
    }
    if (sl_imp_word_is(s, wn, "SystemLogSocketName") && an > 0 && an < sizeof c->sock_name &&
        memchr(arg, '\0', an) == NULL) {
        snprintf(c->sock_name, sizeof c->sock_name, "%.*s", (int)an, arg);
        return true;
    }
    if (sl_imp_word_is(s, wn, "UDPServerAddress") && plain(arg, an)) {
        snprintf(c->udp_addr, sizeof c->udp_addr, "%.*s", (int)an, arg);
        return true;
    }
    bool udp = sl_imp_word_is(s, wn, "UDPServerRun");
    if ((udp || sl_imp_word_is(s, wn, "InputTCPServerRun")) && port_ok(arg, an)) {
        net_input(c, udp ? "udp" : "tcp", udp ? c->udp_addr : "", udp ? strlen(c->udp_addr) : 0,
                  arg, an);
        return true;
    }
    if (sl_imp_word_is(s, wn, "Umask"))
        *why = "sluiced keeps the umask it is started with; each output has its mode";
    if (sl_imp_word_is(s, wn, "WorkDirectory"))
        *why = "sluice keeps its state in settings.state_dir, needed only by disk queues";
    return false;
}
/* }=== */

/* {=== statements */
static bool blank(const struct line *l)
{
    const char *s = l->p;
    size_t n = l->len;
    sl_imp_trim(&s, &n);
    return n == 0 || s[0] == '#';
}

/* Whether the text of a line, without its comment, ends in word. */
static bool ends_with_word(const char *s, size_t n, const char *w)
{
    size_t wn = strlen(w);
    sl_imp_trim(&s, &n);
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
        sl_imp_put(c, text, s, code < n ? code : n);
        sl_imp_puts(c, text, " ");
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
        sl_imp_trim(&t, &tn);
        if (!(t[0] == '{' || (tn >= 4 && strncasecmp(t, "else", 4) == 0)))
            return i;
        i = j - 1; /* the blank lines between go with it */
    }
}

/* The leading word of s: letters, digits and "_.:-". */
static size_t lead_word(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && (isalnum((unsigned char)s[k]) || sl_imp_in_set("_.:-", s[k])))
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
        if (sl_imp_word_is(s, w, kw[i]) && (w == n || !sl_imp_in_set(".,;", s[w])))
            return true;
    }
    return false;
}

static void include(struct conv *c, const struct line *l, size_t n)
{
    sl_imp_puts(c, &c->routes, "-- Convert the files this includes too (sluiced --import-rsyslog FILE "
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
    sl_imp_trim(&s, &sn);
    c->last_ok = false;
    if (strncasecmp(s, "include", 7) == 0 && lead_word(s, sn) == 7) {
        include(c, l, n);
        return;
    }
    bool obj = (strncasecmp(s, "module", 6) == 0 && lead_word(s, sn) == 6) ||
               (strncasecmp(s, "input", 5) == 0 && lead_word(s, sn) == 5);
    if (obj && rainer_object(c, s, sn)) {
        for (size_t i = 0; i < n; i++) {
            sl_imp_puts(c, &c->head, "-- ");
            sl_imp_put_comment(c, &c->head, l[i].p, l[i].len);
            sl_imp_puts(c, &c->head, "\n");
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
    c->cond.n = 0;
    c->last_ok = sl_imp_selectors(s, k, c->last);
    if (!c->last_ok)
        why = "a selector with an unknown facility or priority";
    if (c->last_ok && sl_imp_rule(c, l, c->last, s + k, n - k, &why))
        return;
    skip(c, &c->routes, l, 1, why);
}

/* The route key for a property filter ":PROP, OP, " that converts: the
 * same test in sluice. rsyslog's msg starts with the space after the tag,
 * so only contains is the same for it. */
static const char *property_key(const char *p, size_t pn, const char *op, size_t on)
{
    if (sl_imp_word_is(p, pn, "msg") && sl_imp_word_is(op, on, "contains"))
        return "msg_contains";
    if (sl_imp_word_is(p, pn, "programname") && sl_imp_word_is(op, on, "isequal"))
        return "app_name";
    if (sl_imp_word_is(p, pn, "hostname") && sl_imp_word_is(op, on, "isequal"))
        return "hostname";
    return NULL;
}

/* ":PROP, OP, \"VALUE\" ACTION": every facility and severity, and the
 * condition. */
static void property_line(struct conv *c, const struct line *l, const char *s, size_t n)
{
    const char *e = s + n, *p = s + 1, *c1 = memchr(p, ',', n - 1), *c2, *why = NULL;
    c->last_ok = false;
    c2 = c1 ? memchr(c1 + 1, ',', (size_t)(e - c1 - 1)) : NULL;
    const char *op = c1 ? c1 + 1 : NULL, *q = c2 ? c2 + 1 : e;
    size_t pn = c1 ? (size_t)(c1 - p) : 0, on = c2 ? (size_t)(c2 - op) : 0;
    sl_imp_trim(&p, &pn);
    if (op != NULL)
        sl_imp_trim(&op, &on);
    while (q < e && isspace((unsigned char)*q))
        q++;
    const char *key = c2 ? property_key(p, pn, op, on) : NULL;
    struct buf v = {0};
    if (key != NULL && q < e && *q == '"') {
        for (q++; q < e && *q != '"'; q++) {
            if (*q == '\\' && q + 1 < e)
                q++; /* \" and \\ */
            sl_imp_put(c, &v, q, 1);
        }
    }
    if (key == NULL || q >= e || v.n == 0 || memchr(v.p, '\0', v.n) != NULL) {
        free(v.p);
        skip(c, &c->routes, l, 1, "a property filter other than msg contains, programname "
                                  "isequal, hostname isequal: write it as a route with where");
        return;
    }
    c->cond.n = 0;
    sl_imp_putf(c, &c->cond, "%s = ", key);
    sl_imp_put_str(c, &c->cond, v.p, v.n);
    sl_imp_puts(c, &c->cond, ", ");
    free(v.p);
    memset(c->last, 0xff, sizeof c->last);
    c->last_ok = !c->oom;
    if (c->last_ok && !sl_imp_rule(c, l, c->last, q + 1, (size_t)(e - q - 1), &why))
        skip(c, &c->routes, l, 1, why);
}

static void one_line(struct conv *c, const struct line *l, const char *s, size_t n)
{
    const char *why = NULL;
    if (s[0] == '$') {
        if (lead_word(s + 1, n - 1) == 13 && strncasecmp(s + 1, "IncludeConfig", 13) == 0) {
            include(c, l, 1);
        } else if (directive(c, l, &why)) {
            sl_imp_puts(c, &c->head, "-- ");
            sl_imp_put_comment(c, &c->head, l->p, l->len);
            sl_imp_puts(c, &c->head, ": converted\n");
        } else {
            skip(c, &c->head, l, 1, why);
        }
    } else if (s[0] == '&') {
        if (!c->last_ok)
            skip(c, &c->routes, l, 1, "it follows a line that was not converted");
        else if (!sl_imp_rule(c, l, c->last, s + 1, n - 1, &why))
            skip(c, &c->routes, l, 1, why);
    } else if (s[0] == ':') {
        property_line(c, l, s, n);
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
        sl_imp_put(c, j, s, more ? n - 1 : n);
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
        sl_imp_trim(&s, &n);
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
                sl_imp_trim(&js, &jn);
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
    sl_imp_puts(c, out, "-- sluice.lua converted from ");
    sl_imp_put_comment(c, out, source, strlen(source));
    sl_imp_puts(c, out, " by sluiced --import-rsyslog.\n-- Check it with sluiced --check -c FILE; "
                "see sluice.lua(5).\n\n");
    emit_inputs(c, out);
    sl_imp_put(c, out, c->head.p ? c->head.p : "", c->head.n);
    sl_imp_puts(c, out, "\n-- One output per file (in rsyslog's format) or users' terminals\n");
    sl_imp_emit_files(c, out);
    sl_imp_puts(c, out, "\n-- The rules, in their order\n");
    sl_imp_put(c, out, c->routes.p ? c->routes.p : "", c->routes.n);
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
    free(c.cond.p);
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
