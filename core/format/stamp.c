/* SPDX-License-Identifier: MIT */
/*
 * stamp.c: RFC 3339 and RFC 3164 time stamps (stamp.h).
 *
 * The civil date comes from arithmetic, not from gmtime_r(), which may look
 * up locale or TZ data; only the local offset asks localtime_r(), once per
 * second written thanks to the cache.
 */
#include "format/stamp.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "format/format.h"

enum tmode { TM_LOCAL = 1, TM_OFFSET, TM_ZULU, TM_BSD, TM_BSD_SENT };

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

static void fill_rfc3339(struct sl_stamp_cache *c, const struct sl_time *t, uint8_t mode)
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

char *sl_stamp_rfc3339(struct sl_stamp_cache *c, const struct sl_time *t, char *w)
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
    struct sl_stamp_cache c = {0};
    char *end = sl_stamp_rfc3339(&c, t, out);
    *end = '\0';
    return (size_t)(end - out);
}

char *sl_stamp_bsd(struct sl_stamp_cache *c, const struct sl_time *t, char *w)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    /* A time sent with an offset is written in that offset, as rsyslog's
     * date-rfc3164 does: "10:00:03Z" is "10:00:03" whatever TZ says. */
    bool sent_tz = (t->flags & SL_TIME_HAS_TZ) != 0;
    int16_t tzoff = sent_tz ? t->tzoff_min : 0;
    uint8_t mode = sent_tz ? TM_BSD_SENT : TM_BSD;
    if (c->mode != mode || c->sec != t->sec || c->tzoff != tzoff) {
        struct civil cv;
        civil_from_wall(t->sec + (sent_tz ? tzoff * 60 : local_offset(t->sec)), &cv);
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
        c->tzoff = tzoff;
        c->mode = mode;
    }
    memcpy(w, c->text, 15);
    return w + 15;
}

