/* SPDX-License-Identifier: MIT */
/*
 * parse_native.c: the journal's native protocol (parse_native.h).
 *
 * One pass over m->raw. Values are spans of m->raw, so the mapped header
 * fields (msg, app_name, ...) point into the message's own bytes and move
 * with it when sl_msg_build_field() moves it (msg.h): hence b->m is read
 * again after every field and offsets, not pointers, are kept across calls.
 * A malformed entry stops the walk; what was added is thrown away by the
 * caller's abort, so no half entry is ever delivered.
 */
#include "parse/parse_native.h"

#include <errno.h>
#include <string.h>

#define NATIVE_MAX_KEY 64
_Static_assert(NATIVE_MAX_KEY <= SL_MSG_MAX_FIELD_KEY, "a journal key is a field key");

bool sl_native_key_ok(const char *key, size_t len)
{
    if (len == 0 || len > NATIVE_MAX_KEY || (key[0] >= '0' && key[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = key[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

/* A decimal number 0..max in v[0..len), else -1. */
static int small_number(const char *v, size_t len, int max)
{
    if (len == 0 || len > 3)
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n <= max ? n : -1;
}

/* Sets the header field a journal key maps to; the first value wins, as
 * for the extra fields (msg.h: a key given twice keeps its first). */
void sl_native_map_field(struct sl_msg *m, const char *k, size_t klen, const char *v, size_t vlen)
{
    struct sl_str s = {v, (uint32_t)vlen};
    int n;
    if (key_is(k, klen, "MESSAGE") && m->msg.p == NULL)
        m->msg = s;
    else if (key_is(k, klen, "SYSLOG_IDENTIFIER") && m->app_name.p == NULL)
        m->app_name = s;
    else if (key_is(k, klen, "SYSLOG_PID") && m->procid.p == NULL)
        m->procid = s;
    else if (key_is(k, klen, "SYSLOG_TIMESTAMP") && m->timestamp.p == NULL)
        m->timestamp = s;
    else if (key_is(k, klen, "PRIORITY") && (n = small_number(v, vlen, 7)) >= 0)
        m->severity = (uint8_t)n;
    else if (key_is(k, klen, "SYSLOG_FACILITY") && (n = small_number(v, vlen, 23)) >= 0)
        m->facility = (uint8_t)n;
    m->pri = (uint8_t)(m->facility * 8 + m->severity);
}

/* One field at raw offset *at: sets key/value offsets and moves *at past
 * it. -EBADMSG when malformed. */
int sl_native_next_field(const char *p, size_t len, size_t *at, size_t *k, size_t *klen,
                         size_t *v, size_t *vlen)
{
    size_t i = *at;
    const char *nl = memchr(p + i, '\n', len - i);
    if (nl == NULL)
        return -EBADMSG; /* no trailing '\n' */
    size_t line_end = (size_t)(nl - p);
    const char *eq = memchr(p + i, '=', line_end - i);
    *k = i;
    if (eq != NULL) { /* KEY=VALUE\n */
        *klen = (size_t)(eq - p) - i;
        *v = (size_t)(eq - p) + 1;
        *vlen = line_end - *v;
        *at = line_end + 1;
    } else { /* KEY\n, 64-bit LE length, bytes, \n */
        *klen = line_end - i;
        size_t rest = len - (line_end + 1);
        if (rest < 9) /* the length and at least the closing newline */
            return -EBADMSG;
        uint64_t n = 0;
        for (int j = 7; j >= 0; j--)
            n = n << 8 | (unsigned char)p[line_end + 1 + j];
        if (n > rest - 8 - 1 || n > UINT32_MAX)
            return -EBADMSG; /* past the end, or no room for its '\n' */
        *v = line_end + 1 + 8;
        *vlen = (size_t)n;
        if (p[*v + *vlen] != '\n')
            return -EBADMSG;
        *at = *v + *vlen + 1;
    }
    return sl_native_key_ok(p + *k, *klen) ? 0 : -EBADMSG;
}

void sl_native_entry_begin(struct sl_msg *m)
{
    m->format = SL_FMT_UNPARSED;
    m->facility = 1; /* user.info: journald's default for an entry without PRIORITY */
    m->severity = 6;
    m->pri = 14;
    m->msg = SL_STR_NIL; /* sl_msg_new's default is the whole raw; MESSAGE sets it */
}

void sl_native_entry_end(struct sl_msg *m)
{
    if (m->msg.p == NULL) /* no MESSAGE: an empty msg, not the entry's bytes */
        m->msg = (struct sl_str){m->raw.p, 0};
}

int sl_parse_native(struct sl_msg_builder *b, struct sl_native_counts *c)
{
    struct sl_native_counts dummy;
    if (c == NULL)
        c = &dummy;
    *c = (struct sl_native_counts){0};
    sl_native_entry_begin(b->m);
    size_t len = b->m->raw.len, at = 0, nfields = 0;
    while (at < len) {
        size_t k, klen, v, vlen;
        int rc = sl_native_next_field(b->m->raw.p, len, &at, &k, &klen, &v, &vlen);
        if (rc < 0)
            return rc;
        if (++nfields > SL_NATIVE_MAX_FIELDS)
            return -EBADMSG;
        const char *p = b->m->raw.p;
        if (p[k] == '_') { /* trusted fields come from the kernel's credentials */
            c->forged++;
            continue;
        }
        sl_native_map_field(b->m, p + k, klen, p + v, vlen);
        /* A journal key is a field key too ([A-Z0-9_], 1..64 bytes: see
         * the assert at the top), which sl_msg_build_field checks anyway. */
        rc = sl_msg_build_field(b, p + k, klen, p + v, vlen);
        if (rc == -E2BIG || rc == -EINVAL || rc == -ENOMEM)
            c->dropped++; /* -EEXIST: a repeated key, the first value stays */
    }
    if (nfields == 0)
        return -EBADMSG;
    sl_native_entry_end(b->m);
    return 0;
}
