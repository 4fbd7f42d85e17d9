/* SPDX-License-Identifier: MIT */
/*
 * parse_rfc5424.c: RFC 5424 section 6, strictly.
 *
 *   SYSLOG-MSG = PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID
 *                SP MSGID SP STRUCTURED-DATA [SP MSG]
 *
 * A cursor walks m->raw, which is not NUL-terminated: every read checks the
 * cursor against the end first. Fields become spans into raw; nothing is
 * allocated or written outside m.
 */
#include "parse/parse.h"
#include "parse/parse_cursor.h"

#include <errno.h>
#include <string.h>

/* PRINTUSASCII = %d33-126 */
static bool is_print(char ch)
{
    return ch >= 33 && ch <= 126;
}

/* {=== header */

/* VERSION = NONZERO-DIGIT 0*2DIGIT: 1..999, all that the ABNF allows. */
static int parse_version(struct cur *c, struct sl_msg *m)
{
    if (c->p >= c->end || *c->p < '1' || *c->p > '9')
        return -EINVAL;
    unsigned v = (unsigned)(*c->p++ - '0');
    for (int i = 0; i < 2 && c->p < c->end && is_digit(*c->p); i++)
        v = v * 10 + (unsigned)(*c->p++ - '0');
    m->version = (uint16_t)v;
    return eat(c, ' ') ? 0 : -EINVAL;
}

/* A header field: NILVALUE, or 1..max PRINTUSASCII; then SP. */
static int parse_field(struct cur *c, uint32_t max, struct sl_str *out)
{
    const char *s = c->p;
    while (c->p < c->end && is_print(*c->p) && (uint32_t)(c->p - s) <= max)
        c->p++;
    uint32_t n = (uint32_t)(c->p - s);
    if (n == 0 || n > max || !eat(c, ' '))
        return -EINVAL;
    *out = (n == 1 && *s == '-') ? SL_STR_NIL : (struct sl_str){s, n};
    return 0;
}
/* }=== */

/* {=== TIMESTAMP: FULL-DATE "T" FULL-TIME (RFC 3339 profile of 6.2.3) */

/* TIME-SECFRAC = "." 1*6DIGIT; we accept up to 9 (nanoseconds), which some
 * senders write and which m->ts holds without loss. */
static int parse_frac(struct cur *c, struct sl_time *ts)
{
    if (!eat(c, '.'))
        return 0;
    int32_t v = 0;
    int n = 0;
    while (c->p < c->end && is_digit(*c->p)) {
        if (++n > 9)
            return -EINVAL;
        v = v * 10 + (*c->p++ - '0');
    }
    if (n == 0)
        return -EINVAL;
    ts->frac_digits = (uint8_t)n;
    for (int i = n; i < 9; i++)
        v *= 10;
    ts->nsec = v;
    return 0;
}

/* TIME-OFFSET = "Z" / ("+" / "-") TIME-HOUR ":" TIME-MINUTE; upper-case Z
 * only, as 6.2.3 requires. */
static int parse_offset(struct cur *c, struct sl_time *ts)
{
    if (eat(c, 'Z')) {
        ts->tzoff_min = 0;
        ts->flags |= SL_TIME_ZULU;
        return 0;
    }
    if (c->p >= c->end || (*c->p != '+' && *c->p != '-'))
        return -EINVAL;
    int sign = *c->p++ == '-' ? -1 : 1;
    int h, mi;
    if (!digits(c, 2, &h) || !eat(c, ':') || !digits(c, 2, &mi) || h > 23 || mi > 59)
        return -EINVAL;
    ts->tzoff_min = (int16_t)(sign * (h * 60 + mi));
    return 0;
}

static int parse_timestamp(struct cur *c, struct sl_msg *m)
{
    const char *s = c->p;
    if (at(c, '-')) {
        c->p++;
        m->timestamp = SL_STR_NIL;
        return eat(c, ' ') ? 0 : -EINVAL;
    }
    struct sl_time ts = {0};
    int y, mon, d, h, mi, sec;
    if (!digits(c, 4, &y) || !eat(c, '-') || !digits(c, 2, &mon) || !eat(c, '-') ||
        !digits(c, 2, &d) || !eat(c, 'T') || !digits(c, 2, &h) || !eat(c, ':') ||
        !digits(c, 2, &mi) || !eat(c, ':') || !digits(c, 2, &sec))
        return -EINVAL;
    /* "Leap seconds MUST NOT be used" (6.2.3), so seconds stop at 59. */
    if (!sl_parse_valid_date(y, mon, d) || h > 23 || mi > 59 || sec > 59)
        return -EINVAL;
    if (parse_frac(c, &ts) != 0 || parse_offset(c, &ts) != 0)
        return -EINVAL;
    ts.sec = sl_parse_days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + sec -
             (int64_t)ts.tzoff_min * 60;
    ts.flags |= SL_TIME_VALID | SL_TIME_HAS_TZ;
    m->timestamp = (struct sl_str){s, (uint32_t)(c->p - s)};
    m->ts = ts;
    return eat(c, ' ') ? 0 : -EINVAL;
}
/* }=== */

/* {=== STRUCTURED-DATA */

/* SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"' */
static bool sd_name(struct cur *c)
{
    const char *s = c->p;
    while (c->p < c->end && is_print(*c->p) && *c->p != '=' && *c->p != ']' && *c->p != '"') {
        if (c->p - s == 32)
            return false;
        c->p++;
    }
    return c->p > s;
}

/* PARAM-VALUE between quotes: '"', '\' and ']' MUST be escaped (6.3.3), so
 * an unescaped ']' is an error rather than guessed at. A backslash before
 * any other octet is an ordinary character. */
static bool sd_value(struct cur *c)
{
    if (!eat(c, '"'))
        return false;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"')
            return true;
        if (ch == ']')
            return false;
        if (ch == '\\' && c->p < c->end &&
            (*c->p == '"' || *c->p == '\\' || *c->p == ']'))
            c->p++;
    }
    return false;
}

/* SD-ELEMENT = "[" SD-ID *(SP SD-PARAM) "]", SD-PARAM = PARAM-NAME "=" %d34
 * PARAM-VALUE %d34. Duplicate SD-IDs are not looked for: that would cost
 * quadratic time on hostile input, and the iterator copes with them. */
static bool sd_element(struct cur *c)
{
    if (!eat(c, '[') || !sd_name(c))
        return false;
    while (eat(c, ' ')) {
        if (!sd_name(c) || !eat(c, '=') || !sd_value(c))
            return false;
    }
    return eat(c, ']');
}

static int parse_sd(struct cur *c, struct sl_msg *m)
{
    if (eat(c, '-')) {
        m->sd = SL_STR_NIL;
        return 0;
    }
    const char *s = c->p;
    if (!at(c, '['))
        return -EINVAL;
    while (at(c, '[')) {
        if (!sd_element(c))
            return -EINVAL;
    }
    m->sd = (struct sl_str){s, (uint32_t)(c->p - s)};
    return 0;
}
/* }=== */

/* MSG: whatever follows the SP after STRUCTURED-DATA, octets as sent. No
 * SP at all means no MSG (NIL); a lone SP means an empty one. A leading
 * BOM marks MSG-UTF8 and is dropped from msg. */
static int parse_msg(struct cur *c, struct sl_msg *m)
{
    if (c->p == c->end) {
        m->msg = SL_STR_NIL;
        return 0;
    }
    if (!eat(c, ' '))
        return -EINVAL;
    if (c->end - c->p >= 3 && memcmp(c->p, "\xEF\xBB\xBF", 3) == 0) {
        c->p += 3;
        m->flags |= SL_MSG_BOM;
    }
    m->msg = (struct sl_str){c->p, (uint32_t)(c->end - c->p)};
    return 0;
}

static void reset(struct sl_msg *m)
{
    m->version = 0;
    m->flags &= (uint8_t)~(SL_MSG_BOM | SL_MSG_PARSE_ERROR);
    m->timestamp = m->hostname = m->app_name = SL_STR_NIL;
    m->procid = m->msgid = m->sd = SL_STR_NIL;
    memset(&m->ts, 0, sizeof m->ts);
}

int sl_parse_rfc5424(struct sl_msg *m)
{
    if (m->raw.p == NULL)
        return -EINVAL;
    struct cur c = {m->raw.p, m->raw.p + m->raw.len};
    reset(m);
    if (parse_pri(&c, m, false) != 0 || parse_version(&c, m) != 0 || parse_timestamp(&c, m) != 0 ||
        parse_field(&c, 255, &m->hostname) != 0 || parse_field(&c, 48, &m->app_name) != 0 ||
        parse_field(&c, 128, &m->procid) != 0 || parse_field(&c, 32, &m->msgid) != 0 ||
        parse_sd(&c, m) != 0 || parse_msg(&c, m) != 0)
        return -EINVAL;
    m->format = SL_FMT_RFC5424;
    return 0;
}
