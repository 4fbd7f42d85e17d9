/* SPDX-License-Identifier: MIT */
/*
 * parse_export.c: an entry of the journal export format (parse_export.h).
 *
 * The walk over the fields and the syslog mapping are the native
 * protocol's (parse_native.h: the encoding is the same); what differs is
 * whose word a field is. A native datagram comes from a local process, so
 * the native parser drops its '_' keys: only journald sets those. An
 * export entry was written by a journal, '_' fields and all, so they are
 * kept, and the "__" metadata that only an export carries (the cursor, the
 * journal's own clock) too: they say where the entry came from.
 */
#include "parse/parse_export.h"

#include <errno.h>
#include <string.h>

#include "parse/parse_native.h"

/* 9999-12-31T23:59:59.999999Z, the last time RFC 3339 can write. */
#define REALTIME_MAX 253402300799999999ull

/* The credentials an entry gave (trusted inputs only). */
struct creds {
    uint64_t pid, uid, gid;
    unsigned have; /* bits: 1 pid, 2 uid, 4 gid */
};

static bool key_is(const char *k, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

/* A decimal number 0..max in v[0..len) into *out; false otherwise. */
static bool number(const char *v, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        unsigned d = (unsigned)(v[i] - '0');
        if (n > (max - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

static void set_realtime(struct sl_msg *m, const char *v, size_t vlen)
{
    uint64_t us;
    if (m->ts.flags != 0 || !number(v, vlen, REALTIME_MAX, &us))
        return;
    /* The journal's clock is UTC; like the received time it is written in
     * local time (HAS_TZ clear), as journalctl shows it. */
    m->ts = (struct sl_time){.sec = (int64_t)(us / 1000000), .nsec = (int32_t)(us % 1000000) * 1000,
                             .frac_digits = 6, .flags = SL_TIME_VALID};
}

/* A credential field, the first of each: pid 1..INT32_MAX, uid and gid
 * 0..UINT32_MAX - 1 ((uid_t)-1 is "none"). */
static void set_cred(struct creds *cr, unsigned bit, uint64_t *dst, const char *v, size_t vlen,
                     uint64_t min, uint64_t max)
{
    uint64_t n;
    if (!(cr->have & bit) && number(v, vlen, max, &n) && n >= min) {
        *dst = n;
        cr->have |= bit;
    }
}

/* What only an export entry maps (see the top); cr is NULL when the input
 * does not believe the sender. */
static void map_export(struct sl_msg *m, const char *k, size_t klen, const char *v, size_t vlen,
                       struct creds *cr)
{
    if (k[0] != '_')
        return;
    if (key_is(k, klen, "__REALTIME_TIMESTAMP"))
        set_realtime(m, v, vlen);
    else if (key_is(k, klen, "_HOSTNAME") && m->hostname.p == NULL)
        m->hostname = (struct sl_str){v, (uint32_t)vlen};
    else if (cr != NULL && key_is(k, klen, "_PID"))
        set_cred(cr, 1, &cr->pid, v, vlen, 1, INT32_MAX);
    else if (cr != NULL && key_is(k, klen, "_UID"))
        set_cred(cr, 2, &cr->uid, v, vlen, 0, UINT32_MAX - 1);
    else if (cr != NULL && key_is(k, klen, "_GID"))
        set_cred(cr, 4, &cr->gid, v, vlen, 0, UINT32_MAX - 1);
}

int sl_parse_export(struct sl_msg_builder *b, bool trusted, struct sl_export_counts *c)
{
    struct sl_export_counts dummy;
    if (c == NULL)
        c = &dummy;
    *c = (struct sl_export_counts){0};
    struct creds cr = {0};
    sl_native_entry_begin(b->m);
    size_t len = b->m->raw.len, at = 0, nfields = 0;
    while (at < len) {
        size_t k, klen, v, vlen;
        int rc = sl_native_next_field(b->m->raw.p, len, &at, &k, &klen, &v, &vlen);
        if (rc < 0)
            return rc;
        nfields++;
        const char *p = b->m->raw.p;
        sl_native_map_field(b->m, p + k, klen, p + v, vlen);
        map_export(b->m, p + k, klen, p + v, vlen, trusted ? &cr : NULL);
        rc = sl_msg_field_key_ok(p + k, klen) ? sl_msg_build_field(b, p + k, klen, p + v, vlen)
                                               : -EINVAL;
        if (rc == -E2BIG || rc == -EINVAL || rc == -ENOMEM)
            c->dropped++; /* -EEXIST: a repeated key, the first value stays */
    }
    if (nfields == 0)
        return -EBADMSG;
    sl_native_entry_end(b->m);
    if (cr.have == 7) {
        b->m->pid = (pid_t)cr.pid;
        b->m->uid = (uid_t)cr.uid;
        b->m->gid = (gid_t)cr.gid;
        b->m->flags |= SL_MSG_HAS_CRED;
    }
    return 0;
}
