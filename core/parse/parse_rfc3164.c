/* SPDX-License-Identifier: MIT */
/*
 * parse_rfc3164.c: RFC 3164 as real senders write it.
 *
 *   <PRI>[TIMESTAMP SP [HOSTNAME SP]][TAG[ "[" PROCID "]" ][":"] [SP]]MSG
 *
 * RFC 3164 describes what relays observed rather than a grammar, so this
 * parser follows what rsyslog and syslog-ng accept:
 * - TIMESTAMP "Mmm dd hh:mm:ss" (also "Mmm  d", "Mmm d", a year before the
 *   time, a fraction, upper-case months, a Cisco "*" / "." marker or
 *   "NN: " sequence number in front, a ":" after it), or RFC 3339, or none.
 * - HOSTNAME is the first word after a TIMESTAMP unless that word looks like
 *   a TAG (ends in ':' or has a '['): glibc's syslog(3) writes no hostname
 *   on /dev/log. Without a TIMESTAMP there is no HOSTNAME either. A message
 *   without one gets ctx->hostname.
 * - TAG is the next word up to '[', ':' or SP. After a TIMESTAMP the word is
 *   the TAG even without a colon (rsyslog, syslog-ng); without one only a
 *   word ending in ':' or "[...]" is, so plain text stays whole.
 * Only a missing or malformed PRI makes the message not RFC 3164.
 */
#include "parse/parse.h"
#include "parse/parse_cursor.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define MAX_HOSTNAME 255
#define MAX_TAG 48

/* {=== TIMESTAMP */

/* A local wall-clock time as sent; year 0 means "not given". */
struct civil {
    int year, mon, day, hour, min, sec;
};

static int month_from_name(const char *p)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    char lc[3];
    for (int i = 0; i < 3; i++)
        lc[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    for (int i = 0; i < 12; i++) {
        if (memcmp(names + 3 * i, lc, 3) == 0)
            return i + 1;
    }
    return 0;
}

/* Seconds may be 60: BSD senders do write leap seconds; the time then
 * reads as the first second of the next minute. */
static bool hms(struct cur *c, struct civil *t)
{
    return digits(c, 2, &t->hour) && eat(c, ':') && digits(c, 2, &t->min) && eat(c, ':') &&
           digits(c, 2, &t->sec) && t->hour <= 23 && t->min <= 59 && t->sec <= 60;
}

/* "." and digits: the first nine make nsec, the rest are read and dropped
 * (syslog-ng has been seen sending far more). A lone "." is tolerated. */
static void fraction(struct cur *c, struct sl_time *ts)
{
    if (!eat(c, '.'))
        return;
    int n = 0;
    int32_t v = 0;
    for (; c->p < c->end && is_digit(*c->p); c->p++, n++) {
        if (n < 9)
            v = v * 10 + (*c->p - '0');
    }
    ts->frac_digits = (uint8_t)(n < 9 ? n : 9);
    for (int i = n; i < 9; i++)
        v *= 10;
    ts->nsec = n > 0 ? v : 0;
}

/* "Mmm dd hh:mm:ss", "Mmm  d ...", "Mmm d ...", "Mmm dd yyyy hh:mm:ss". */
static bool bsd_time(struct cur *c, struct civil *t, struct sl_time *ts)
{
    if (c->end - c->p < 4 || (t->mon = month_from_name(c->p)) == 0 || c->p[3] != ' ')
        return false;
    c->p += 4;
    eat(c, ' ');
    if (!digits(c, 2, &t->day) && !digits(c, 1, &t->day))
        return false;
    if (!eat(c, ' '))
        return false;
    struct cur y = *c;
    if (digits(&y, 4, &t->year) && eat(&y, ' '))
        *c = y;
    else
        t->year = 0;
    if (!hms(c, t))
        return false;
    fraction(c, ts);
    return true;
}

/* RFC 3339, with the "T" also written as "t" or SP, and the offset
 * optional (then it is local time, like a BSD timestamp). */
static bool iso_time(struct cur *c, struct civil *t, struct sl_time *ts)
{
    if (!digits(c, 4, &t->year) || !eat(c, '-') || !digits(c, 2, &t->mon) || !eat(c, '-') ||
        !digits(c, 2, &t->day))
        return false;
    if (!eat(c, 'T') && !eat(c, 't') && !eat(c, ' '))
        return false;
    if (!hms(c, t))
        return false;
    fraction(c, ts);
    if (eat(c, 'Z') || eat(c, 'z')) {
        ts->flags |= SL_TIME_HAS_TZ | SL_TIME_ZULU;
        ts->tzoff_min = 0;
    } else if (at(c, '+') || at(c, '-')) {
        int sign = *c->p++ == '-' ? -1 : 1, h, mi;
        if (!digits(c, 2, &h) || !eat(c, ':') || !digits(c, 2, &mi) || h > 23 || mi > 59)
            return false;
        ts->flags |= SL_TIME_HAS_TZ;
        ts->tzoff_min = (int16_t)(sign * (h * 60 + mi));
    }
    return true;
}

static int64_t to_epoch(const struct civil *t, int year, int tzoff_min)
{
    return sl_parse_days_from_civil(year, t->mon, t->day) * 86400 + t->hour * 3600 +
           t->min * 60 + t->sec - (int64_t)tzoff_min * 60;
}

/* The year that puts a year-less local time nearest to now: a "Dec 31"
 * message read on Jan 1 is last year's, a "Jan 1" one read on Dec 31
 * (a sender's clock slightly ahead) next year's. */
static bool infer_year(struct civil *t, time_t now, int tzoff_min)
{
    struct tm tm;
    time_t local = now + (time_t)tzoff_min * 60;
    if (gmtime_r(&local, &tm) == NULL)
        return false;
    int best = 0;
    int64_t best_dist = 0;
    for (int y = tm.tm_year + 1900 - 1; y <= tm.tm_year + 1900 + 1; y++) {
        if (!sl_parse_valid_date(y, t->mon, t->day))
            continue; /* Feb 29 outside a leap year */
        int64_t d = to_epoch(t, y, tzoff_min) - (int64_t)now;
        d = d < 0 ? -d : d;
        if (best == 0 || d < best_dist) {
            best = y;
            best_dist = d;
        }
    }
    t->year = best;
    return best != 0;
}

/* A TIMESTAMP ends at SP or the end, maybe after a ":" (Cisco). */
static bool ts_end(struct cur *c)
{
    struct cur e = *c;
    eat(&e, ':');
    return e.p == e.end || *e.p == ' ';
}

/* One TIMESTAMP at c; on success c is past it and its SP. */
static bool timestamp_at(struct cur *c, const struct sl_parse_ctx *ctx, struct sl_msg *m)
{
    struct cur t = *c;
    struct civil cv = {0};
    struct sl_time ts = {.tzoff_min = (int16_t)ctx->tzoff_min};
    bool ok = bsd_time(&t, &cv, &ts);
    if (!ok) {
        t = *c;
        ts = (struct sl_time){.tzoff_min = (int16_t)ctx->tzoff_min};
        ok = iso_time(&t, &cv, &ts);
    }
    if (!ok || !ts_end(&t))
        return false;
    if (cv.year == 0 && !infer_year(&cv, ctx->now, ctx->tzoff_min))
        return false;
    if (!sl_parse_valid_date(cv.year, cv.mon, cv.day))
        return false;
    ts.sec = to_epoch(&cv, cv.year, ts.tzoff_min);
    ts.flags |= SL_TIME_VALID;
    m->timestamp = (struct sl_str){c->p, (uint32_t)(t.p - c->p)};
    m->ts = ts;
    eat(&t, ':');
    eat(&t, ' ');
    *c = t;
    return true;
}

/* Cisco IOS may put a sequence number ("91: ") and a clock-state marker
 * ('*' not synchronised, '.' lost sync) before the TIMESTAMP. */
static bool parse_timestamp(struct cur *c, const struct sl_parse_ctx *ctx, struct sl_msg *m)
{
    if (timestamp_at(c, ctx, m))
        return true;
    struct cur t = *c;
    if (t.p < t.end && is_digit(*t.p)) {
        while (t.p < t.end && is_digit(*t.p))
            t.p++;
        if (!eat(&t, ':') || !eat(&t, ' '))
            t = *c;
    }
    if (!eat(&t, '*'))
        eat(&t, '.');
    if (t.p == c->p || !timestamp_at(&t, ctx, m))
        return false;
    *c = t;
    return true;
}
/* }=== */

/* {=== HOSTNAME and TAG */

static const char *word_end(const char *p, const char *end)
{
    while (p < end && *p != ' ')
        p++;
    return p;
}

/* An IPv6 address ends in ':' at times ("fe80::"); it is still a host. */
static bool ipv6ish(const char *p, const char *end)
{
    int colons = 0;
    for (; p < end; p++) {
        char ch = *p;
        if (ch == ':')
            colons++;
        else if (!is_digit(ch) && !(ch >= 'a' && ch <= 'f') && !(ch >= 'A' && ch <= 'F') &&
                 ch != '.')
            return false;
    }
    return colons >= 2;
}

/* The word after a TIMESTAMP is a TAG, not a HOSTNAME, when it ends in ':'
 * or holds a '[' ("prog:" or "prog[123]:" from glibc's syslog(3)). */
static bool tag_shaped(const char *p, const char *end)
{
    if (p == end)
        return false;
    if (memchr(p, '[', (size_t)(end - p)) != NULL)
        return true;
    return end[-1] == ':' && !ipv6ish(p, end);
}

static void parse_hostname(struct cur *c, struct sl_msg *m)
{
    const char *e = word_end(c->p, c->end);
    size_t n = (size_t)(e - c->p);
    if (n == 0 || n > MAX_HOSTNAME || tag_shaped(c->p, e))
        return;
    m->hostname = (struct sl_str){c->p, (uint32_t)n};
    c->p = e;
    eat(c, ' ');
}

/* TAG up to '[', ':' or SP; "[PROCID]" must close before the word ends.
 * strict: only a TAG marked by ':' or "[...]" counts. */
static void parse_tag(struct cur *c, struct sl_msg *m, bool strict)
{
    const char *s = c->p, *p = s;
    while (p < c->end && *p != '[' && *p != ':' && *p != ' ')
        p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || n > MAX_TAG)
        return;
    struct sl_str procid = SL_STR_NIL;
    if (p < c->end && *p == '[') {
        const char *q = p + 1;
        while (q < c->end && *q != ']' && *q != ' ')
            q++;
        if (q == c->end || *q != ']')
            return;
        if (q > p + 1)
            procid = (struct sl_str){p + 1, (uint32_t)(q - p - 1)};
        p = q + 1;
        if (p < c->end && *p == ':')
            p++;
    } else if (p < c->end && *p == ':') {
        p++;
    } else if (strict) {
        return;
    }
    m->app_name = (struct sl_str){s, (uint32_t)n};
    m->procid = procid;
    c->p = p;
    eat(c, ' ');
}
/* }=== */

static void reset(struct sl_msg *m)
{
    m->version = 0;
    m->flags &= (uint8_t)~(SL_MSG_BOM | SL_MSG_PARSE_ERROR);
    m->timestamp = m->hostname = m->app_name = SL_STR_NIL;
    m->procid = m->msgid = m->sd = SL_STR_NIL;
    memset(&m->ts, 0, sizeof m->ts);
}

int sl_parse_rfc3164(struct sl_msg *m, const struct sl_parse_ctx *ctx)
{
    struct sl_parse_ctx clock_ctx;
    if (m->raw.p == NULL)
        return -EINVAL;
    if (ctx == NULL) {
        clock_ctx = (struct sl_parse_ctx){.hostname = SL_STR_NIL};
        sl_parse_ctx_now(&clock_ctx);
        ctx = &clock_ctx;
    }
    struct cur c = {m->raw.p, m->raw.p + m->raw.len};
    reset(m);
    if (parse_pri(&c, m, true) != 0)
        return -EINVAL;
    while (eat(&c, ' ')) /* "<38> Mar  7 ...": stray SP after PRI */
        ;
    bool have_ts = parse_timestamp(&c, ctx, m);
    if (have_ts)
        parse_hostname(&c, m);
    if (m->hostname.p == NULL)
        m->hostname = ctx->hostname;
    parse_tag(&c, m, !have_ts);
    m->msg = (struct sl_str){c.p, (uint32_t)(c.end - c.p)};
    m->format = SL_FMT_RFC3164;
    return 0;
}
