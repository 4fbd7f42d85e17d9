/* SPDX-License-Identifier: MIT */
/*
 * json.h: the "json" format (format.h): one object per message, keys as in
 * sluice.lua(5), strings always valid JSON and valid UTF-8.
 *
 * Thread: a struct sl_json is used by one thread at a time (it holds
 * buffers reused from message to message).
 */
#ifndef SL_FORMAT_JSON_H
#define SL_FORMAT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"
#include "format/stamp.h"
#include "sluice-plugin.h"

/* A map of byte strings to their order of arrival (json.c). */
struct sl_json_seen {
    struct sl_json_seen_slot *v;
    size_t cap, n; /* cap: a power of two, or 0 */
    uint32_t gen;
};

/* A message's STRUCTURED-DATA grouped for writing (json.c): each SD-ID
 * once, each PARAM-NAME once in it, with every value in order. Spans point
 * into the message; rebuilt by sl_json_prepare() for every message. */
struct sl_json_sd {
    struct sl_json_sd_id *ids;
    struct sl_json_sd_name *names;
    struct sl_json_sd_value *values;
    uint32_t nids, nnames, nvalues;
    uint32_t capids, capnames, capvalues;
};

/* The format's state; zeroed is ready. Owned by the format object. */
struct sl_json {
    struct sluice_buf scratch;       /* an SD value without its escapes */
    struct sl_json_seen ids, names;  /* SD-IDs of a message; (SD-ID, PARAM-NAME) pairs */
    struct sl_json_sd sd;            /* the message's SD, grouped */
};

/* Frees what j holds (not j itself). */
void sl_json_free(struct sl_json *j);

/* The most bytes m's line takes in json, its newline included. */
size_t sl_json_bound(const struct sl_msg *m);

/* Makes room in j for m and groups its STRUCTURED-DATA, right before
 * sl_json_render(m): the grouping points into m. 0 or -ENOMEM. */
int sl_json_prepare(struct sl_json *j, const struct sl_msg *m);

/* Writes m's object at w (no newline), its timestamps through st (ts for
 * the message's, rcv for "received"; st is borrowed). Returns the advanced
 * cursor; the caller reserved sl_json_bound(m) bytes. */
char *sl_json_render(struct sl_json *j, struct sl_stamps *st, const struct sl_msg *m,
                     char *w);

#endif /* SL_FORMAT_JSON_H */
