/* SPDX-License-Identifier: MIT */
/* parse.c: format detection, the unparsed fallback, and the SD iterator. */
#include "parse/parse.h"

#include <errno.h>
#include <string.h>

/* {=== detection */

/* "<PRI>VERSION SP" with PRI 1-3 digits and VERSION a nonzero digit and at
 * most two more digits: the RFC 5424 HEADER's start. An RFC 3164 message
 * cannot look like this, since its TIMESTAMP starts with a letter (or, for
 * the RFC 3339 variant, four digits) and its HOSTNAME is not followed by a
 * space right after one or two digits in practice. */
static bool looks_rfc5424(const char *p, size_t len)
{
    size_t i = 0;
    if (len < 4 || p[i++] != '<')
        return false;
    size_t d = 0;
    while (i < len && d < 3 && p[i] >= '0' && p[i] <= '9') {
        i++;
        d++;
    }
    if (d == 0 || i >= len || p[i++] != '>')
        return false;
    if (i >= len || p[i] < '1' || p[i] > '9')
        return false;
    i++;
    for (int k = 0; k < 2 && i < len && p[i] >= '0' && p[i] <= '9'; k++)
        i++; /* VERSION = NONZERO-DIGIT 0*2DIGIT */
    return i < len && p[i] == ' ';
}

/* Neither RFC: keep every byte as the message text, user.notice, and keep
 * what the input learned (raw, input, peer, received, credentials). */
static void fallback(struct sl_msg *m)
{
    m->pri = 13;
    m->facility = 1;
    m->severity = 5;
    m->version = 0;
    m->format = SL_FMT_UNPARSED;
    m->flags = (uint8_t)((m->flags & (SL_MSG_HAS_CRED | SL_MSG_TRUNCATED)) | SL_MSG_PARSE_ERROR);
    m->timestamp = SL_STR_NIL;
    m->hostname = SL_STR_NIL;
    m->app_name = SL_STR_NIL;
    m->procid = SL_STR_NIL;
    m->msgid = SL_STR_NIL;
    m->sd = SL_STR_NIL;
    m->msg = m->raw;
    memset(&m->ts, 0, sizeof m->ts);
}

/* A message that starts like RFC 5424 but breaks its grammar is not handed
 * to the lenient RFC 3164 parser: that would turn "1" into a hostname or a
 * TAG and hide a broken sender. It falls back, and the input counts it. */
int sl_parse(struct sl_msg *m, const struct sl_parse_ctx *ctx)
{
    int rc;
    if (looks_rfc5424(m->raw.p, m->raw.len))
        rc = sl_parse_rfc5424(m);
    else
        rc = sl_parse_rfc3164(m, ctx);
    if (rc == 0)
        return 0;
    fallback(m);
    return -EINVAL;
}

void sl_parse_ctx_now(struct sl_parse_ctx *ctx)
{
    struct tm tm;
    ctx->now = time(NULL);
    if (localtime_r(&ctx->now, &tm) != NULL)
        ctx->tzoff_min = (int)(tm.tm_gmtoff / 60);
    else
        ctx->tzoff_min = 0;
}
/* }=== */

/* {=== STRUCTURED-DATA iterator
 *
 * The cursor is at a '[' between elements, inside an element (after its
 * SD-ID or after a parameter), or at the end. Every step is bounded by
 * it->end, so a text that was not validated cannot make it read past the
 * span; it just ends early. */

void sl_sd_iter_init(struct sl_sd_iter *it, struct sl_str sd)
{
    it->p = sd.p;
    it->end = sd.p != NULL ? sd.p + sd.len : NULL;
}

/* Skips a quoted PARAM-VALUE starting after its opening quote; returns the
 * position of the closing quote (or end). */
static const char *skip_value(const char *p, const char *end)
{
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end)
            p++;
        p++;
    }
    return p;
}

bool sl_sd_next_param(struct sl_sd_iter *it, struct sl_str *name, struct sl_str *value)
{
    const char *p = it->p, *end = it->end;
    if (p == NULL || p >= end || *p == '[')
        return false;
    if (*p == ']') {
        it->p = p + 1;
        return false;
    }
    while (p < end && *p == ' ')
        p++;
    const char *n = p;
    while (p < end && *p != '=' && *p != ' ' && *p != ']')
        p++;
    if (p == n || p + 1 >= end || p[0] != '=' || p[1] != '"') {
        it->p = end; /* not SD as validated: stop */
        return false;
    }
    *name = (struct sl_str){n, (uint32_t)(p - n)};
    const char *v = p + 2;
    p = skip_value(v, end);
    *value = (struct sl_str){v, (uint32_t)(p - v)};
    it->p = p < end ? p + 1 : end;
    return true;
}

bool sl_sd_next_element(struct sl_sd_iter *it, struct sl_str *id)
{
    struct sl_str name, value;
    /* Finish the current element, whatever the caller left unread. */
    while (sl_sd_next_param(it, &name, &value))
        ;
    const char *p = it->p, *end = it->end;
    if (p == NULL || p >= end || *p != '[')
        return false;
    const char *s = ++p;
    while (p < end && *p != ' ' && *p != ']')
        p++;
    *id = (struct sl_str){s, (uint32_t)(p - s)};
    it->p = p;
    return true;
}

size_t sl_sd_unescape(struct sl_str value, char *out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < value.len; i++) {
        char c = value.p[i];
        if (c == '\\' && i + 1 < value.len) {
            char e = value.p[i + 1];
            if (e == '"' || e == '\\' || e == ']') {
                out[n++] = e;
                i++;
                continue;
            }
        }
        out[n++] = c;
    }
    return n;
}
/* }=== */

/* {=== calendar helpers */

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool sl_parse_valid_date(int y, int mon, int day)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 1 || mon > 12 || day < 1)
        return false;
    return day <= (mon == 2 && leap_year(y) ? 29 : days[mon - 1]);
}

/* Howard Hinnant's days_from_civil: eras of 400 years, March-based years so
 * that the leap day falls at the end. */
int64_t sl_parse_days_from_civil(int64_t y, int mon, int day)
{
    y -= mon <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
/* }=== */
