/*
 * format.c: turning a message into one line of output.
 *
 * This is the hot path of every output: millions of lines a second. So a line
 * costs one bounds computation, one sl_buf_reserve() for the worst case, and
 * then plain stores through a cursor; field text is copied in runs with
 * memcpy() and only bytes that need escaping are touched one by one. The
 * date and time of the last second formatted is cached in the format object,
 * so consecutive messages from the same second pay a 19-byte memcpy for it.
 *
 * Every renderer below writes at most line_bound() bytes; sl_format_append()
 * asserts that invariant after each line.
 */
#include "format/format.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse/parse.h"
#include "common/util.h"
#include "common/alloc.h"

enum kind { K_RAW, K_RFC3164, K_RFC5424, K_JSON, K_TEMPLATE };

/* One piece of a template: literal text (field == 0), a field, or an extra
 * field {fields.KEY} (field == F_EXTRA). */
struct part {
    int field;       /* enum sluice_field, 0 for a literal, or F_EXTRA */
    size_t off, len; /* a literal's, or an extra field's key's, span in sl_format.lit */
};

#define F_EXTRA (-1)
#define EXTRA_PREFIX "fields."

/* The text of the last second formatted. mode 0 means empty. */
struct tcache {
    int64_t sec;
    int16_t tzoff;
    uint8_t mode;
    uint8_t sfxlen;
    char text[20]; /* "YYYY-MM-DDThh:mm:ss", or "Mmm dd hh:mm:ss" */
    char sfx[8];   /* "Z" or "+hh:mm" */
};

enum tmode { TM_LOCAL = 1, TM_OFFSET, TM_ZULU, TM_BSD };

/*
 * A set of byte strings, for finding repeated SD-IDs and PARAM-NAMEs in
 * linear time: a hostile 64 KiB message can carry thousands of them. Open
 * addressing; entries of older generations count as empty, so clearing is
 * O(1) and the table is reused from message to message.
 */
struct seen_slot {
    const char *p;
    uint32_t len;
    uint32_t gen;
};

struct seen {
    struct seen_slot *v;
    size_t cap, n; /* cap: a power of two, or 0 */
    uint32_t gen;
};

static void seen_clear(struct seen *s)
{
    s->n = 0;
    if (++s->gen == 0) {
        memset(s->v, 0, s->cap * sizeof *s->v);
        s->gen = 1;
    }
}

static size_t seen_hash(const char *p, uint32_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return (size_t)h;
}

/* Finds k, or the empty slot where it belongs. */
static struct seen_slot *seen_find(struct seen *s, const char *p, uint32_t len)
{
    size_t mask = s->cap - 1;
    for (size_t i = seen_hash(p, len) & mask;; i = (i + 1) & mask) {
        struct seen_slot *e = &s->v[i];
        if (e->gen != s->gen || (e->len == len && memcmp(e->p, p, len) == 0))
            return e;
    }
}

static int seen_grow(struct seen *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct seen_slot *old = s->v;
    size_t oldcap = s->cap;
    s->v = sl_calloc(cap, sizeof *s->v);
    if (s->v == NULL) {
        s->v = old;
        return -ENOMEM;
    }
    s->cap = cap;
    uint32_t gen = s->gen;
    s->gen = 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].gen == gen)
            *seen_find(s, old[i].p, old[i].len) = (struct seen_slot){old[i].p, old[i].len, 1};
    }
    free(old);
    return 0;
}

/* True when p[0..len) was added before (since the last clear); adds it.
 * Out of memory, it answers "not seen": a repeated key beats a lost line. */
static bool seen_add(struct seen *s, struct sl_str k)
{
    if ((s->n + 1) * 2 > s->cap && seen_grow(s) < 0)
        return false;
    struct seen_slot *e = seen_find(s, k.p, k.len);
    if (e->gen == s->gen)
        return true;
    *e = (struct seen_slot){k.p, k.len, s->gen};
    s->n++;
    return false;
}

struct sl_format {
    enum kind kind;
    struct part *parts; /* K_TEMPLATE */
    size_t nparts;
    char *lit;          /* literal text of the template, unescaped */
    size_t litlen;
    struct tcache ts_cache, rcv_cache, bsd_cache;
    struct sluice_buf scratch; /* an SD value without its escapes; reused */
    struct seen ids, names;    /* SD-IDs of a message, PARAM-NAMEs of an element */
};

#define TIME_MAX_LEN 40 /* sl_time_rfc3339's bound */
#define NUM_MAX_LEN 20  /* digits of a 64-bit number */

/* {=== buffers */
int sl_buf_reserve(struct sluice_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    if (more > SIZE_MAX / 4 - b->len)
        return -ENOMEM;
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap - b->len < more)
        cap *= 2; /* geometric, so n appends cost O(n) copying in all */
    char *p = sl_realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sl_buf_append(struct sluice_buf *b, const void *data, size_t len)
{
    if (sl_buf_reserve(b, len) < 0)
        return -ENOMEM;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}
/* }=== */

/* {=== field names */
static const char *const field_names[] = {
    [SLUICE_FIELD_PRI] = "pri",           [SLUICE_FIELD_FACILITY] = "facility",
    [SLUICE_FIELD_SEVERITY] = "severity", [SLUICE_FIELD_VERSION] = "version",
    [SLUICE_FIELD_TIMESTAMP] = "timestamp", [SLUICE_FIELD_RECEIVED] = "received",
    [SLUICE_FIELD_HOSTNAME] = "hostname", [SLUICE_FIELD_APP_NAME] = "app_name",
    [SLUICE_FIELD_PROCID] = "procid",     [SLUICE_FIELD_MSGID] = "msgid",
    [SLUICE_FIELD_SD] = "sd",             [SLUICE_FIELD_MSG] = "msg",
    [SLUICE_FIELD_RAW] = "raw",           [SLUICE_FIELD_INPUT] = "input",
    [SLUICE_FIELD_PEER] = "peer",         [SLUICE_FIELD_PID] = "pid",
    [SLUICE_FIELD_UID] = "uid",           [SLUICE_FIELD_GID] = "gid",
};
#define NFIELDS ((int)(sizeof field_names / sizeof field_names[0]))

int sl_field_from_name(const char *name, size_t len)
{
    for (int i = 1; i < NFIELDS; i++) {
        if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0)
            return i;
    }
    return -1;
}

static const char *closest_field(const char *name, size_t len)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (int i = 1; i < NFIELDS; i++) {
        size_t flen = strlen(field_names[i]);
        size_t d = sl_edit_distance(name, len, field_names[i], flen);
        if (d < bestd && d < flen) { /* "{}" is not a near miss of {sd} */
            bestd = d;
            best = field_names[i];
        }
    }
    return best;
}
/* }=== */

/* {=== time */
/* The civil date and time of a wall-clock second count (H. Hinnant's
 * days-to-civil algorithm: exact over the whole range, no tables, and no
 * locale or TZ look-up as gmtime_r() may do). */
struct civil {
    int64_t year;
    unsigned mon, day, hour, min, sec;
};

static void civil_from_wall(int64_t wall, struct civil *c)
{
    int64_t z = (wall >= 0 ? wall : wall - 86399) / 86400;
    unsigned secs = (unsigned)(wall - z * 86400);
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    c->day = doy - (153 * mp + 2) / 5 + 1;
    c->mon = mp < 10 ? mp + 3 : mp - 9;
    c->year = (int64_t)yoe + era * 400 + (c->mon <= 2);
    c->hour = secs / 3600;
    c->min = secs / 60 % 60;
    c->sec = secs % 60;
}

/* Seconds east of UTC of local time at `sec`, as the TZ rules say, in
 * whole minutes as RFC 3339 can write them (old zones had odd seconds). */
static int32_t local_offset(int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    return localtime_r(&t, &tm) != NULL ? (int32_t)(tm.tm_gmtoff / 60 * 60) : 0;
}

static char *put2(char *w, unsigned v)
{
    w[0] = (char)('0' + v / 10 % 10);
    w[1] = (char)('0' + v % 10);
    return w + 2;
}

static void fill_rfc3339(struct tcache *c, const struct sl_time *t, uint8_t mode)
{
    int32_t off = mode == TM_LOCAL ? local_offset(t->sec)
                  : mode == TM_OFFSET ? t->tzoff_min * 60 : 0;
    struct civil cv;
    civil_from_wall(t->sec + off, &cv);
    /* Our parsers only accept four-digit years, and clocks are not that far
     * off, so clamping only guards the fixed width. */
    unsigned y = cv.year < 0 ? 0 : cv.year > 9999 ? 9999 : (unsigned)cv.year;
    char *w = c->text;
    w = put2(w, y / 100);
    w = put2(w, y % 100);
    *w++ = '-';
    w = put2(w, cv.mon);
    *w++ = '-';
    w = put2(w, cv.day);
    *w++ = 'T';
    w = put2(w, cv.hour);
    *w++ = ':';
    w = put2(w, cv.min);
    *w++ = ':';
    put2(w, cv.sec);
    if (mode == TM_ZULU) {
        c->sfx[0] = 'Z';
        c->sfxlen = 1;
    } else {
        unsigned a = (unsigned)(off < 0 ? -off : off) / 60;
        c->sfx[0] = off < 0 ? '-' : '+';
        put2(c->sfx + 1, a / 60 % 100);
        c->sfx[3] = ':';
        put2(c->sfx + 4, a % 60);
        c->sfxlen = 6;
    }
    c->sec = t->sec;
    c->tzoff = t->tzoff_min;
    c->mode = mode;
}

/* Writes t as RFC 3339 through the cache: at most TIME_MAX_LEN bytes. */
static char *put_rfc3339(struct tcache *c, const struct sl_time *t, char *w)
{
    uint8_t mode = !(t->flags & SL_TIME_HAS_TZ) ? TM_LOCAL
                   : (t->flags & SL_TIME_ZULU) ? TM_ZULU : TM_OFFSET;
    if (c->mode != mode || c->sec != t->sec || (mode == TM_OFFSET && c->tzoff != t->tzoff_min))
        fill_rfc3339(c, t, mode);
    memcpy(w, c->text, 19);
    w += 19;
    unsigned digits = t->frac_digits > 9 ? 9 : t->frac_digits;
    if (digits > 0) {
        unsigned v = (unsigned)t->nsec;
        for (unsigned i = digits; i < 9; i++)
            v /= 10;
        *w++ = '.';
        for (unsigned i = digits; i > 0; i--, v /= 10)
            w[i - 1] = (char)('0' + v % 10);
        w += digits;
    }
    memcpy(w, c->sfx, c->sfxlen);
    return w + c->sfxlen;
}

size_t sl_time_rfc3339(const struct sl_time *t, char *out)
{
    struct tcache c = {0};
    char *end = put_rfc3339(&c, t, out);
    *end = '\0';
    return (size_t)(end - out);
}

/* "Mmm dd hh:mm:ss" in local time, as RFC 3164 and rsyslog write it. */
static char *put_bsd_time(struct tcache *c, const struct sl_time *t, char *w)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (c->mode != TM_BSD || c->sec != t->sec) {
        struct civil cv;
        civil_from_wall(t->sec + local_offset(t->sec), &cv);
        memcpy(c->text, months + 3 * (cv.mon - 1), 3);
        c->text[3] = ' ';
        put2(c->text + 4, cv.day);
        if (cv.day < 10)
            c->text[4] = ' ';
        c->text[6] = ' ';
        put2(c->text + 7, cv.hour);
        c->text[9] = ':';
        put2(c->text + 10, cv.min);
        c->text[12] = ':';
        put2(c->text + 13, cv.sec);
        c->sec = t->sec;
        c->mode = TM_BSD;
    }
    memcpy(w, c->text, 15);
    return w + 15;
}

/* The message's own time, or when it was received if it has none. */
static const struct sl_time *msg_time(const struct sl_msg *m)
{
    return (m->ts.flags & SL_TIME_VALID) ? &m->ts : &m->received;
}
/* }=== */

/* {=== writers: each returns the advanced cursor; callers reserved room */
static char *put(char *w, const char *p, size_t n)
{
    memcpy(w, p, n);
    return w + n;
}

#define PUT_LIT(w, s) put((w), (s), sizeof(s) - 1)

static char *put_uint(char *w, unsigned long long v)
{
    char tmp[NUM_MAX_LEN];
    size_t n = 0;
    do {
        tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return put(w, tmp + sizeof tmp - n, n);
}

static bool is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* True when none of the 8 bytes of x is a control byte (< 0x20 or 0x7f).
 * The classic "has a byte less than n" test (exact for n <= 0x80) and "has
 * a zero byte" on x ^ 0x7f..; TAB also fails it and is sorted out byte by
 * byte, which is rare. */
static bool word_clean(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t below = (x - ones * 0x20) & ~x & highs;
    uint64_t y = x ^ (ones * 0x7f);
    uint64_t del = (y - ones) & ~y & highs;
    return (below | del) == 0;
}

/* The first control byte in [p, end), or end: a word at a time, since
 * almost every byte of a log line is clean. */
static const char *skip_clean(const char *p, const char *end)
{
    for (;;) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, sizeof x);
            if (!word_clean(x))
                break;
            p += 8;
        }
        const char *stop = end - p >= 8 ? p + 8 : end;
        while (p < stop && !is_ctl((unsigned char)*p))
            p++;
        if (p < stop || p == end)
            return p;
    }
}

/* Text with control bytes as "#ooo" (rsyslog's escaping): at most 4n bytes. */
static char *put_text(char *w, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *run = p;
        p = skip_clean(p, end);
        w = put(w, run, (size_t)(p - run));
        if (p == end)
            break;
        unsigned char c = (unsigned char)*p++;
        w[0] = '#';
        w[1] = (char)('0' + (c >> 6));
        w[2] = (char)('0' + ((c >> 3) & 7));
        w[3] = (char)('0' + (c & 7));
        w += 4;
    }
    return w;
}

/* A text field, "-" when NIL: at most 4 * len + 1 bytes. */
static char *put_field(char *w, struct sl_str s)
{
    if (s.p == NULL || s.len == 0)
        return PUT_LIT(w, "-");
    return put_text(w, s.p, s.len);
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0: no
 * overlongs, no surrogates, nothing past U+10FFFF (Unicode table 3-7). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (len == 0 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

/* The body of a JSON string: at most 6n bytes. */
static char *put_json_body(char *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        w = put(w, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p == '"' || *p == '\\') {
            *w++ = '\\';
            *w++ = (char)*p++;
        } else if (*p < 0x80) {
            w = PUT_LIT(w, "\\u00");
            *w++ = hex[*p >> 4];
            *w++ = hex[*p++ & 15];
        } else {
            size_t len = utf8_len(p, (size_t)(end - p));
            if (len > 0) {
                w = put(w, (const char *)p, len);
                p += len;
            } else {
                w = PUT_LIT(w, "\xef\xbf\xbd"); /* U+FFFD for each bad byte */
                p++;
            }
        }
    }
    return w;
}

static char *put_json_str(char *w, const char *s, size_t n)
{
    *w++ = '"';
    w = put_json_body(w, s, n);
    *w++ = '"';
    return w;
}

/* A JSON string, or null when NIL: at most 6n + 4 bytes. */
static char *put_json_field(char *w, struct sl_str s)
{
    if (s.p == NULL)
        return PUT_LIT(w, "null");
    return put_json_str(w, s.p, s.len);
}

static char *put_name(char *w, const char *name)
{
    return name != NULL ? put(w, name, strlen(name)) : PUT_LIT(w, "-");
}

/* The raw bytes without the line end a sender may have left on them, which
 * would otherwise show up as "#012" at the end of every line. */
static struct sl_str raw_line(const struct sl_msg *m)
{
    struct sl_str s = m->raw;
    while (s.len > 0 && memchr("\n\r", s.p[s.len - 1], 3) != NULL) /* LF, CR or NUL */
        s.len--;
    return s;
}
/* }=== */

/* {=== the fixed formats */
static char *render_raw(const struct sl_msg *m, char *w)
{
    struct sl_str raw = raw_line(m);
    return put_text(w, raw.p, raw.len);
}

/* rsyslog's RSYSLOG_TraditionalFileFormat: "Mmm dd hh:mm:ss host tag[pid]: msg". */
static char *render_rfc3164(struct sl_format *f, const struct sl_msg *m, char *w)
{
    w = put_bsd_time(&f->bsd_cache, msg_time(m), w);
    *w++ = ' ';
    w = put_field(w, m->hostname);
    if (m->app_name.p != NULL && m->app_name.len > 0) {
        *w++ = ' ';
        w = put_text(w, m->app_name.p, m->app_name.len);
        if (m->procid.p != NULL && m->procid.len > 0) {
            *w++ = '[';
            w = put_text(w, m->procid.p, m->procid.len);
            *w++ = ']';
        }
        *w++ = ':';
    }
    if (m->msg.p != NULL && m->msg.len > 0) {
        *w++ = ' ';
        w = put_text(w, m->msg.p, m->msg.len);
    }
    return w;
}

/* RFC 5424 section 6. The BOM is not written back: MSG-ANY is legal, and a
 * BOM in the middle of a text file only confuses tools that read it. */
static char *render_rfc5424(struct sl_format *f, const struct sl_msg *m, char *w)
{
    *w++ = '<';
    w = put_uint(w, m->pri);
    w = PUT_LIT(w, ">1 ");
    w = put_rfc3339(&f->ts_cache, msg_time(m), w);
    *w++ = ' ';
    w = put_field(w, m->hostname);
    *w++ = ' ';
    w = put_field(w, m->app_name);
    *w++ = ' ';
    w = put_field(w, m->procid);
    *w++ = ' ';
    w = put_field(w, m->msgid);
    *w++ = ' ';
    w = put_field(w, m->sd);
    if (m->msg.p != NULL && m->msg.len > 0) {
        *w++ = ' ';
        w = put_text(w, m->msg.p, m->msg.len);
    }
    return w;
}

/* True when an earlier SD-ELEMENT of sd (before `at`) has the SD-ID id. */
/*
 * STRUCTURED-DATA as an object of objects with unescaped values. JSON
 * objects should not repeat keys, and RFC 5424 allows a PARAM-NAME more than
 * once in an element: the first occurrence wins (a repeated SD-ID, which the
 * RFC forbids, likewise), found with the seen sets in linear time.
 * At most 6 * sd.len + 16.
 */
static char *put_json_sd(struct sl_format *f, const struct sl_msg *m, char *w)
{
    if (m->sd.p == NULL || m->format != SL_FMT_RFC5424)
        return PUT_LIT(w, "null");
    struct sl_sd_iter it;
    struct sl_str id, name, value;
    bool first_el = true;
    *w++ = '{';
    sl_sd_iter_init(&it, m->sd);
    seen_clear(&f->ids);
    while (sl_sd_next_element(&it, &id)) {
        bool skip = seen_add(&f->ids, id);
        if (!skip) {
            if (!first_el)
                *w++ = ',';
            first_el = false;
            w = put_json_str(w, id.p, id.len);
            w = PUT_LIT(w, ":{");
        }
        bool first = true;
        seen_clear(&f->names);
        while (sl_sd_next_param(&it, &name, &value)) {
            if (skip || seen_add(&f->names, name))
                continue;
            if (!first)
                *w++ = ',';
            first = false;
            w = put_json_str(w, name.p, name.len);
            *w++ = ':';
            size_t n = sl_sd_unescape(value, f->scratch.data);
            w = put_json_str(w, f->scratch.data, n);
        }
        if (!skip)
            *w++ = '}';
    }
    *w++ = '}';
    return w;
}

static char *render_json(struct sl_format *f, const struct sl_msg *m, char *w)
{
    w = PUT_LIT(w, "{\"pri\":");
    w = put_uint(w, m->pri);
    w = PUT_LIT(w, ",\"facility\":\"");
    w = put_name(w, sl_facility_name(m->facility));
    w = PUT_LIT(w, "\",\"severity\":\"");
    w = put_name(w, sl_severity_name(m->severity));
    w = PUT_LIT(w, "\",\"version\":");
    w = put_uint(w, m->version);
    w = PUT_LIT(w, ",\"timestamp\":\"");
    w = put_rfc3339(&f->ts_cache, msg_time(m), w);
    w = PUT_LIT(w, "\",\"hostname\":");
    w = put_json_field(w, m->hostname);
    w = PUT_LIT(w, ",\"app_name\":");
    w = put_json_field(w, m->app_name);
    w = PUT_LIT(w, ",\"procid\":");
    w = put_json_field(w, m->procid);
    w = PUT_LIT(w, ",\"msgid\":");
    w = put_json_field(w, m->msgid);
    w = PUT_LIT(w, ",\"sd\":");
    w = put_json_sd(f, m, w);
    w = PUT_LIT(w, ",\"msg\":");
    w = put_json_field(w, m->msg);
    w = PUT_LIT(w, ",\"input\":");
    w = put_json_field(w, m->input);
    if (m->flags & SL_MSG_HAS_CRED) {
        w = PUT_LIT(w, ",\"pid\":");
        w = put_uint(w, (unsigned long long)m->pid);
        w = PUT_LIT(w, ",\"uid\":");
        w = put_uint(w, (unsigned long long)m->uid);
        w = PUT_LIT(w, ",\"gid\":");
        w = put_uint(w, (unsigned long long)m->gid);
    }
    if (m->nfields > 0) {
        w = PUT_LIT(w, ",\"fields\":{");
        for (uint32_t i = 0; i < m->nfields; i++) {
            if (i > 0)
                *w++ = ',';
            w = put_json_str(w, m->fields[i].key.p, m->fields[i].key.len);
            *w++ = ':';
            struct sl_str v = m->fields[i].value;
            w = put_json_str(w, v.p != NULL ? v.p : "", v.len);
        }
        *w++ = '}';
    }
    *w++ = '}';
    return w;
}
/* }=== */

/* {=== a rewrite's raw text (rewrite.c): measured exactly, then written */
/* The length put_text() writes for p[0..n): 4 bytes per control byte. */
static size_t text_len(const char *p, size_t n)
{
    const char *end = p + n;
    size_t len = n;
    while ((p = skip_clean(p, end)) < end) {
        len += 3;
        p++;
    }
    return len;
}

/* The length put_field() writes. */
static size_t field_len(struct sl_str s)
{
    return s.p == NULL || s.len == 0 ? 1 : text_len(s.p, s.len);
}

static size_t uint_len(unsigned long long v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Mirrors render_rfc5424() and "<PRI>" + render_rfc3164() byte for byte;
 * sl_format_origin() asserts that the two agree. */
size_t sl_format_origin_len(const struct sl_msg *m)
{
    size_t n = 2 + uint_len(m->pri); /* "<PRI>" */
    if (m->format == SL_FMT_RFC5424) {
        char t[TIME_MAX_LEN + 1];
        n += 2 + sl_time_rfc3339(msg_time(m), t) + 5; /* "1 " TIME and five spaces */
        n += field_len(m->hostname) + field_len(m->app_name) + field_len(m->procid)
             + field_len(m->msgid) + field_len(m->sd);
    } else {
        n += 15 + 1 + field_len(m->hostname); /* "Mmm dd hh:mm:ss HOST" */
        if (m->app_name.p != NULL && m->app_name.len > 0) {
            n += 1 + text_len(m->app_name.p, m->app_name.len) + 1; /* " TAG" ":" */
            if (m->procid.p != NULL && m->procid.len > 0)
                n += 2 + text_len(m->procid.p, m->procid.len);
        }
    }
    if (m->msg.p != NULL && m->msg.len > 0)
        n += 1 + text_len(m->msg.p, m->msg.len);
    return n;
}

size_t sl_format_origin(const struct sl_msg *m, char *out)
{
    struct sl_format f = {.kind = K_RFC5424}; /* only for its time caches */
    char *w = out;
    if (m->format == SL_FMT_RFC5424) {
        w = render_rfc5424(&f, m, w);
    } else {
        *w++ = '<';
        w = put_uint(w, m->pri);
        *w++ = '>';
        w = render_rfc3164(&f, m, w);
    }
    assert((size_t)(w - out) == sl_format_origin_len(m));
    return (size_t)(w - out);
}
/* }=== */

/* {=== templates */
/* The text of a text field; NIL for the others. */
static struct sl_str text_of(const struct sl_msg *m, int field)
{
    switch (field) {
    case SLUICE_FIELD_HOSTNAME: return m->hostname;
    case SLUICE_FIELD_APP_NAME: return m->app_name;
    case SLUICE_FIELD_PROCID: return m->procid;
    case SLUICE_FIELD_MSGID: return m->msgid;
    case SLUICE_FIELD_SD: return m->sd;
    case SLUICE_FIELD_MSG: return m->msg;
    case SLUICE_FIELD_RAW: return raw_line(m);
    case SLUICE_FIELD_INPUT: return m->input;
    case SLUICE_FIELD_PEER: return m->peer;
    default: return SL_STR_NIL;
    }
}

/* The value of the extra field a part names; NIL when the message lacks it. */
static struct sl_str extra_of(const struct sl_format *f, const struct sl_msg *m,
                              const struct part *pt)
{
    const struct sl_field *x = sl_msg_extra(m, f->lit + pt->off, pt->len);
    return x != NULL ? x->value : SL_STR_NIL;
}

static char *put_cred(char *w, const struct sl_msg *m, unsigned long long v)
{
    return (m->flags & SL_MSG_HAS_CRED) ? put_uint(w, v) : w;
}

static char *render_field(struct sl_format *f, const struct sl_msg *m, int field, char *w)
{
    switch (field) {
    case SLUICE_FIELD_PRI: return put_uint(w, m->pri);
    case SLUICE_FIELD_FACILITY: return put_name(w, sl_facility_name(m->facility));
    case SLUICE_FIELD_SEVERITY: return put_name(w, sl_severity_name(m->severity));
    case SLUICE_FIELD_VERSION: return put_uint(w, m->version);
    case SLUICE_FIELD_TIMESTAMP: return put_rfc3339(&f->ts_cache, msg_time(m), w);
    case SLUICE_FIELD_RECEIVED: return put_rfc3339(&f->rcv_cache, &m->received, w);
    case SLUICE_FIELD_PID: return put_cred(w, m, (unsigned long long)m->pid);
    case SLUICE_FIELD_UID: return put_cred(w, m, (unsigned long long)m->uid);
    case SLUICE_FIELD_GID: return put_cred(w, m, (unsigned long long)m->gid);
    default: return put_field(w, text_of(m, field));
    }
}

static char *render_template(struct sl_format *f, const struct sl_msg *m, char *w)
{
    for (size_t i = 0; i < f->nparts; i++) {
        const struct part *pt = &f->parts[i];
        if (pt->field == 0)
            w = put(w, f->lit + pt->off, pt->len);
        else if (pt->field == F_EXTRA)
            w = put_field(w, extra_of(f, m, pt));
        else
            w = render_field(f, m, pt->field, w);
    }
    return w;
}

static int add_part(struct sl_format *f, int field, size_t off, size_t len)
{
    if (field == 0 && len == 0)
        return 0; /* an empty literal run */
    struct part *p = sl_realloc(f->parts, (f->nparts + 1) * sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    f->parts = p;
    f->parts[f->nparts++] = (struct part){field, off, len};
    return 0;
}

static int unknown_field(const char *name, size_t len, char *err, size_t errlen)
{
    const char *near = closest_field(name, len);
    if (near != NULL)
        snprintf(err, errlen, "unknown field {%.*s} in template, did you mean {%s}?", (int)len,
                 name, near);
    else
        snprintf(err, errlen, "unknown field {%.*s} in template (fields: pri facility severity "
                 "version timestamp received hostname app_name procid msgid sd msg raw input "
                 "peer pid uid gid fields.KEY)", (int)len, name);
    return -EINVAL;
}

/* Splits spec into literal runs and {field}s; "{{" and "}}" are braces.
 * A lone "}" is an error rather than a literal, so that "{msg}}" (a typo)
 * does not silently write a brace. The line's '\n' is added after the last
 * part, so a template never spans lines. */
static int compile_template(struct sl_format *f, const char *spec, char *err, size_t errlen)
{
    size_t n = strlen(spec), start = 0;
    f->lit = sl_malloc(n + 1);
    if (f->lit == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = spec[i];
        if ((c == '{' || c == '}') && spec[i + 1] == c) {
            f->lit[f->litlen++] = c;
            i++;
        } else if (c == '}') {
            snprintf(err, errlen, "unmatched } in template (write }} for a literal brace)");
            return -EINVAL;
        } else if (c == '{') {
            const char *close = strchr(spec + i + 1, '}');
            if (close == NULL) {
                snprintf(err, errlen, "unterminated { in template (write {{ for a literal brace)");
                return -EINVAL;
            }
            size_t len = (size_t)(close - spec) - i - 1;
            const char *name = spec + i + 1;
            size_t plen = sizeof EXTRA_PREFIX - 1;
            if (len >= plen && memcmp(name, EXTRA_PREFIX, plen) == 0) {
                /* {fields.KEY}: the key goes into lit after the literal
                 * run before it, and is not part of any literal. */
                if (len == plen) {
                    snprintf(err, errlen, "{fields.} in template needs a key, as in "
                             "{fields.user}");
                    return -EINVAL;
                }
                size_t key = f->litlen;
                memcpy(f->lit + key, name + plen, len - plen);
                f->litlen += len - plen;
                if (add_part(f, 0, start, key - start) < 0 ||
                    add_part(f, F_EXTRA, key, len - plen) < 0)
                    return -ENOMEM;
            } else {
                int field = sl_field_from_name(name, len);
                if (field < 0)
                    return unknown_field(name, len, err, errlen);
                if (add_part(f, 0, start, f->litlen - start) < 0 ||
                    add_part(f, field, 0, 0) < 0)
                    return -ENOMEM;
            }
            start = f->litlen;
            i += len + 1;
        } else {
            f->lit[f->litlen++] = c;
        }
    }
    return add_part(f, 0, start, f->litlen - start) < 0 ? -ENOMEM : 0;
}

static int unknown_format(const char *spec, char *err, size_t errlen)
{
    static const char *const names[] = {"raw", "rfc3164", "rfc5424", "json"};
    for (size_t i = 0; i < 4; i++) {
        size_t len = strlen(names[i]);
        if (sl_edit_distance(spec, strlen(spec), names[i], len) <= (len > 3 ? 2 : 1)) {
            snprintf(err, errlen, "unknown format '%s', did you mean '%s'?", spec, names[i]);
            return -EINVAL;
        }
    }
    snprintf(err, errlen, "unknown format \"%s\": use raw, rfc3164, rfc5424, json or a "
             "template with {field} placeholders", spec);
    return -EINVAL;
}
/* }=== */

int sl_format_new(const char *spec, struct sl_format **out, char *err, size_t errlen)
{
    static const struct { const char *name; enum kind kind; } fixed[] = {
        {"raw", K_RAW}, {"rfc3164", K_RFC3164}, {"rfc5424", K_RFC5424}, {"json", K_JSON},
    };
    struct sl_format *f = sl_calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    f->kind = K_TEMPLATE;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(spec, fixed[i].name) == 0)
            f->kind = fixed[i].kind;
    }
    int rc = 0;
    if (f->kind == K_TEMPLATE) {
        /* Text without a placeholder is far more likely a misspelt format
         * name than a template meant to write the same line every time. */
        rc = strchr(spec, '{') == NULL ? unknown_format(spec, err, errlen)
                                       : compile_template(f, spec, err, errlen);
    }
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "out of memory");
        sl_format_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void sl_format_free(struct sl_format *f)
{
    if (f == NULL)
        return;
    free(f->parts);
    free(f->lit);
    free(f->scratch.data);
    free(f->ids.v);
    free(f->names.v);
    free(f);
}

static size_t text_total(const struct sl_msg *m)
{
    return (size_t)m->hostname.len + m->app_name.len + m->procid.len + m->msgid.len
           + m->sd.len + m->msg.len + m->input.len;
}

/* JSON bytes of the "fields" object: quotes, colon and comma around each. */
static size_t fields_bound(const struct sl_msg *m)
{
    size_t n = m->nfields > 0 ? sizeof ",\"fields\":{}" : 0;
    for (uint32_t i = 0; i < m->nfields; i++)
        n += 6 * ((size_t)m->fields[i].key.len + m->fields[i].value.len) + 6;
    return n;
}

/* The most bytes the line for m can take, newline included. */
static size_t line_bound(const struct sl_format *f, const struct sl_msg *m)
{
    switch (f->kind) {
    case K_RAW: return 4 * (size_t)m->raw.len + 1;
    case K_RFC3164:
    case K_RFC5424: return 4 * text_total(m) + 2 * TIME_MAX_LEN + 64;
    case K_JSON: return 6 * text_total(m) + 16 + 512 + fields_bound(m);
    case K_TEMPLATE: break;
    }
    size_t n = 1;
    for (size_t i = 0; i < f->nparts; i++) {
        const struct part *pt = &f->parts[i];
        if (pt->field == 0)
            n += pt->len;
        else if (pt->field == F_EXTRA)
            n += 4 * (size_t)extra_of(f, m, pt).len + 1;
        else
            n += 4 * (size_t)text_of(m, pt->field).len + TIME_MAX_LEN;
    }
    return n;
}

int sl_format_append(struct sl_format *f, const struct sl_msg *m, struct sluice_buf *buf)
{
    size_t bound = line_bound(f, m);
    if (sl_buf_reserve(buf, bound) < 0)
        return -ENOMEM;
    if (f->kind == K_JSON && m->sd.p != NULL && sl_buf_reserve(&f->scratch, m->sd.len) < 0)
        return -ENOMEM;
    char *start = buf->data + buf->len, *w = start;
    switch (f->kind) {
    case K_RAW: w = render_raw(m, w); break;
    case K_RFC3164: w = render_rfc3164(f, m, w); break;
    case K_RFC5424: w = render_rfc5424(f, m, w); break;
    case K_JSON: w = render_json(f, m, w); break;
    case K_TEMPLATE: w = render_template(f, m, w); break;
    }
    *w++ = '\n';
    assert((size_t)(w - start) <= bound);
    buf->len += (size_t)(w - start);
    return 0;
}
