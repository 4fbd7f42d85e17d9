/* SPDX-License-Identifier: MIT */
/*
 * tpl.c: perproc's name template (tpl.h).
 *
 * The rules checked at compile time, each for a way a name could go wrong:
 *  - no component of the template is empty (a leading '/' would make the
 *    name absolute, "a//b" is not what anyone means), "." or "..";
 *  - a template needs a field: without one it names a single file, which
 *    type = "file" writes;
 *  - two fields in one component need literal text between them, and it
 *    must not start with a letter, a digit, '%' or '~': its first byte is
 *    then escaped in the value before it, so where one value ends and the
 *    next begins stays clear and the whole name stays injective
 *    ("{app_name}-{procid}": a '-' in app_name is written %2D);
 *  - each component fits NAME_MAX (255): the fields of a component share
 *    what its text leaves, at most SPL_NAME_MAX (200) each, at least
 *    SPL_NAME_MIN_ROOM (48);
 *  - with rotation the name ends in literal text whose last byte is no
 *    digit, so no live name can look like an old one ("x.log.1").
 */
#include "perproc/tpl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/name_enc.h"

#define NAME_MAX_COMPONENT 255
#define EXTRA_PREFIX "fields."
#define EXTRA_KEY_MAX 64

enum part_kind { P_LIT, P_TEXT, P_NUMBER, P_PID, P_EXTRA };

struct pp_part {
    enum part_kind kind;
    enum sluice_field field;
    size_t off, len; /* a literal's, or an extra field's key's, span in text */
    size_t room;     /* a field's: the most bytes its encoding may take */
    char extra[2];   /* a field's: the separator byte escaped in it, or "" */
};

/* {=== the fields */
static const struct {
    const char *name;
    enum part_kind kind;
    enum sluice_field field;
} fields[] = {
    {"pri", P_NUMBER, SLUICE_FIELD_PRI},          {"facility", P_TEXT, SLUICE_FIELD_FACILITY},
    {"severity", P_TEXT, SLUICE_FIELD_SEVERITY},  {"version", P_NUMBER, SLUICE_FIELD_VERSION},
    {"timestamp", P_TEXT, SLUICE_FIELD_TIMESTAMP}, {"hostname", P_TEXT, SLUICE_FIELD_HOSTNAME},
    {"app_name", P_TEXT, SLUICE_FIELD_APP_NAME},  {"procid", P_TEXT, SLUICE_FIELD_PROCID},
    {"msgid", P_TEXT, SLUICE_FIELD_MSGID},        {"sd", P_TEXT, SLUICE_FIELD_SD},
    {"msg", P_TEXT, SLUICE_FIELD_MSG},            {"raw", P_TEXT, SLUICE_FIELD_RAW},
    {"input", P_TEXT, SLUICE_FIELD_INPUT},        {"peer", P_TEXT, SLUICE_FIELD_PEER},
    {"pid", P_PID, SLUICE_FIELD_PID},             {"uid", P_NUMBER, SLUICE_FIELD_UID},
    {"gid", P_NUMBER, SLUICE_FIELD_GID},
};
#define NFIELDS (sizeof fields / sizeof *fields)

/* Edit distance of a[0..n) and b, for "did you mean"; names are short.
 * The daemon's own is core/common/util.c's, which a plugin cannot link:
 * plugins include nothing of the daemon (sluice-plugin.h). */
static size_t distance(const char *a, size_t n, const char *b)
{
    size_t m = strlen(b), row[32];
    if (n >= 31 || m >= 31)
        return 99;
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

static int unknown_field(const char *name, size_t len, char *err, size_t errlen)
{
    const char *near = NULL;
    size_t best = 3; /* at most two edits away */
    for (size_t i = 0; i < NFIELDS; i++) {
        size_t d = distance(name, len, fields[i].name);
        if (d < best) {
            best = d;
            near = fields[i].name;
        }
    }
    if (near != NULL)
        snprintf(err, errlen, "key \"name\": unknown field {%.*s}, did you mean {%s}?",
                 (int)len, name, near);
    else
        snprintf(err, errlen, "key \"name\": unknown field {%.*s} (fields: pri facility "
                 "severity version timestamp hostname app_name procid msgid sd msg raw input "
                 "peer pid uid gid fields.KEY)", (int)len, name);
    return -EINVAL;
}

static bool key_ok(const char *k, size_t n)
{
    if (n == 0 || n > EXTRA_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}
/* }=== */

/* {=== compiling */
static int add_part(struct pp_tpl *t, struct pp_part p)
{
    if (p.kind == P_LIT && p.len == 0)
        return 0;
    if (p.kind == P_LIT && t->n > 0 && t->parts[t->n - 1].kind == P_LIT &&
        t->parts[t->n - 1].off + t->parts[t->n - 1].len == p.off) {
        t->parts[t->n - 1].len += p.len; /* one run */
        return 0;
    }
    struct pp_part *np = realloc(t->parts, (t->n + 1) * sizeof *np);
    if (np == NULL)
        return -ENOMEM;
    t->parts = np;
    t->parts[t->n++] = p;
    return 0;
}

/* The field named name[0..len) as a part (its key copied into text). */
static int field_part(struct pp_tpl *t, size_t *tlen, const char *name, size_t len,
                      struct pp_part *out, char *err, size_t errlen)
{
    size_t plen = sizeof EXTRA_PREFIX - 1;
    *out = (struct pp_part){.kind = P_EXTRA};
    if (len > plen && memcmp(name, EXTRA_PREFIX, plen) == 0) {
        if (!key_ok(name + plen, len - plen)) {
            snprintf(err, errlen, "key \"name\": {%.*s} can never be set: a field key is 1 to "
                     "%d letters, digits, '_', '-' or '.'", (int)len, name, EXTRA_KEY_MAX);
            return -EINVAL;
        }
        out->off = *tlen;
        out->len = len - plen;
        memcpy(t->text + *tlen, name + plen, len - plen);
        *tlen += len - plen;
        return 0;
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strlen(fields[i].name) == len && memcmp(fields[i].name, name, len) == 0) {
            *out = (struct pp_part){.kind = fields[i].kind, .field = fields[i].field};
            return 0;
        }
    }
    return unknown_field(name, len, err, errlen);
}

/* Parses one component c[0..len) (no '/') into parts from t->n on. */
static int parse_component(struct pp_tpl *t, size_t *tlen, const char *c, size_t len, char *err,
                           size_t errlen)
{
    for (size_t i = 0; i < len; i++) {
        int rc;
        if ((c[i] == '{' || c[i] == '}') && i + 1 < len && c[i + 1] == c[i]) {
            t->text[*tlen] = c[i++];
            rc = add_part(t, (struct pp_part){.kind = P_LIT, .off = (*tlen)++, .len = 1});
        } else if (c[i] == '}') {
            snprintf(err, errlen, "key \"name\": unmatched } (write }} for a literal brace)");
            return -EINVAL;
        } else if (c[i] == '{') {
            const char *close = memchr(c + i + 1, '}', len - i - 1);
            if (close == NULL) {
                snprintf(err, errlen, "key \"name\": unterminated { (write {{ for a literal "
                         "brace; a field name has no '/')");
                return -EINVAL;
            }
            struct pp_part p;
            size_t n = (size_t)(close - c) - i - 1;
            if ((rc = field_part(t, tlen, c + i + 1, n, &p, err, errlen)) < 0)
                return rc;
            if (t->n > 0 && t->parts[t->n - 1].kind != P_LIT && i > 0 && c[i - 1] == '}') {
                snprintf(err, errlen, "key \"name\": two fields with nothing between them "
                         "(\"%.*s\"): put a separator such as '-' or '_' between them", (int)len,
                         c);
                return -EINVAL;
            }
            rc = add_part(t, p);
            i += n + 1;
        } else {
            t->text[*tlen] = c[i];
            rc = add_part(t, (struct pp_part){.kind = P_LIT, .off = (*tlen)++, .len = 1});
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The checks of one component, parts [first, t->n): see the top. Sets
 * each field's room and separator; returns the component's longest
 * length, or a negative errno. */
static long check_component(struct pp_tpl *t, size_t first, const char *c, size_t len,
                            bool last, bool rotate, char *err, size_t errlen)
{
    size_t lit = 0, nf = 0;
    for (size_t k = first; k < t->n; k++) {
        const struct pp_part *p = &t->parts[k];
        if (p->kind == P_LIT)
            lit += p->len;
        else
            nf++;
    }
    if (len == 0 || (nf == 0 && ((lit == 1 && c[0] == '.') || (lit == 2 && !memcmp(c, "..", 2))))) {
        snprintf(err, errlen, "key \"name\": a component is empty, \".\" or \"..\" (a '/' at "
                 "the start or the end, or \"//\"): the name is relative to dir, and stays in it");
        return -EINVAL;
    }
    size_t room = nf == 0 ? 0 : (NAME_MAX_COMPONENT - (lit < 255 ? lit : 255)) / nf;
    if (room > SPL_NAME_MAX)
        room = SPL_NAME_MAX;
    if (lit > NAME_MAX_COMPONENT || (nf > 0 && room < SPL_NAME_MIN_ROOM)) {
        snprintf(err, errlen, "key \"name\": \"%.*s\" leaves its fields %zu bytes each of a "
                 "file name's 255, fewer than %d", (int)len, c, room, SPL_NAME_MIN_ROOM);
        return -EINVAL;
    }
    for (size_t k = first; k < t->n; k++) {
        struct pp_part *p = &t->parts[k];
        if (p->kind == P_LIT)
            continue;
        p->room = room;
        if (k + 2 < t->n && t->parts[k + 1].kind == P_LIT && t->parts[k + 2].kind != P_LIT) {
            char sep = t->text[t->parts[k + 1].off];
            if ((sep >= 'a' && sep <= 'z') || (sep >= 'A' && sep <= 'Z') ||
                (sep >= '0' && sep <= '9') || sep == '%' || sep == '~') {
                snprintf(err, errlen, "key \"name\": the text between two fields in \"%.*s\" "
                         "starts with '%c': start it with a byte such as '-', '_', '.', ',' "
                         "or '=', so where one value ends stays clear", (int)len, c, sep);
                return -EINVAL;
            }
            p->extra[0] = sep;
        }
    }
    const struct pp_part *end = &t->parts[t->n - 1];
    char lastc = end->kind == P_LIT ? t->text[end->off + end->len - 1] : '0';
    if (last && rotate && (lastc >= '0' && lastc <= '9')) {
        snprintf(err, errlen, "key \"name\": with rotate, the name must end in text that does "
                 "not end in a digit, such as \".log\", so that no file is named like "
                 "another's old one (NAME.1)");
        return -EINVAL;
    }
    return (long)(lit + nf * room);
}

int pp_tpl_compile(struct pp_tpl *t, const char *spec, bool rotate, char *err, size_t errlen)
{
    size_t n = strlen(spec), tlen = 0, total = 0;
    bool any_field = false;
    *t = (struct pp_tpl){0};
    if ((t->text = malloc(n + 1)) == NULL)
        goto nomem;
    for (size_t start = 0; start <= n;) {
        size_t len = strcspn(spec + start, "/");
        size_t first = t->n;
        int rc = parse_component(t, &tlen, spec + start, len, err, errlen);
        if (rc == -ENOMEM)
            goto nomem;
        long clen = rc < 0 ? rc : check_component(t, first, spec + start, len,
                                                  start + len == n, rotate, err, errlen);
        if (clen < 0) {
            pp_tpl_free(t);
            return -EINVAL;
        }
        for (size_t k = first; k < t->n; k++)
            any_field |= t->parts[k].kind != P_LIT;
        total += (size_t)clen + 1;
        start += len + 1;
        if (start <= n) { /* the '/' between components */
            t->text[tlen] = '/';
            if (add_part(t, (struct pp_part){.kind = P_LIT, .off = tlen++, .len = 1}) < 0)
                goto nomem;
        }
    }
    if (!any_field || total - 1 > PP_NAME_MAX) {
        snprintf(err, errlen, any_field ? "key \"name\": longer than %d bytes once its fields "
                 "are filled in" : "key \"name\" has no {field}: it would name one file, "
                 "which type = \"file\" writes", PP_NAME_MAX);
        pp_tpl_free(t);
        return -EINVAL;
    }
    return 0;
nomem:
    pp_tpl_free(t);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

void pp_tpl_free(struct pp_tpl *t)
{
    free(t->parts);
    free(t->text);
    *t = (struct pp_tpl){0};
}
/* }=== */

/* {=== rendering */
/* The value of a field part: text, or digits into num. *data NULL and
 * *len 0: absent. */
static void value_of(const struct pp_tpl *t, const struct pp_part *p, const struct sluice_host *h,
                     const sluice_msg *m, char num[24], const char **data, size_t *len)
{
    long long v;
    *data = NULL;
    *len = 0;
    switch (p->kind) {
    case P_PID:
        if (h->msg_number(m, SLUICE_FIELD_PID, &v) == 0)
            goto number;
        if (h->msg_text(m, SLUICE_FIELD_PROCID, data, len) < 0)
            *data = NULL, *len = 0;
        return;
    case P_NUMBER:
        if (h->msg_number(m, p->field, &v) == 0)
            goto number;
        return;
    case P_EXTRA:
        if (SLUICE_HOST_HAS(h, msg_extra))
            if (h->msg_extra(m, t->text + p->off, p->len, data, len) < 0)
                *data = NULL, *len = 0;
        return;
    default:
        if (h->msg_text(m, p->field, data, len) < 0)
            *data = NULL, *len = 0;
        return;
    }
number:
    *len = (size_t)snprintf(num, 24, "%lld", v);
    *data = num;
}

size_t pp_tpl_render(const struct pp_tpl *t, const struct sluice_host *h, const sluice_msg *m,
                     char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct pp_part *p = &t->parts[i];
        if (p->kind == P_LIT) {
            memcpy(out + w, t->text + p->off, p->len);
            w += p->len;
            continue;
        }
        char num[24];
        const char *data;
        size_t len;
        value_of(t, p, h, m, num, &data, &len);
        w += spl_name_encode(data, len, p->room, p->extra[0] != '\0' ? p->extra : NULL, out + w);
    }
    out[w] = '\0';
    return w;
}
/* }=== */
