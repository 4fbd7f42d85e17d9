/* SPDX-License-Identifier: MIT */
/*
 * lua_ratelimit.c: an input's `ratelimit = { ... }` table, into struct
 * sl_ratelimit_conf (what the limiter does with it: input/ratelimit.h).
 *
 *   ratelimit = { interval = "30s", burst = 10000, per = "pid" | "uid" }
 *
 * Any key given turns the limit on, with journald's defaults for the keys
 * left out; a kind takes the table by listing SL_INPUT_KEY_RATELIMIT_ENTRY
 * (input/kind.h), and the loader refuses it on the others.
 *
 * Thread: the thread that owns the lua_State being read (lua_decl.h).
 */
#include <stdlib.h>

#include <lua.h>

#include "conf/lua_decl.h"

enum { RL_INTERVAL, RL_BURST, RL_PER };
static const char *const ratelimit_keys[] = {"interval", "burst", "per", NULL};
static const char *const ratelimit_pers[] = {"pid", "uid", NULL};
#define MAX_RATELIMIT_INTERVAL_MS (7 * 86400000LL) /* a week: "1d" and more are fine */
#define MAX_RATELIMIT_BURST 1000000000             /* fits the limiter's 32-bit counts */

static void set_ratelimit(const struct sl_decl *d, int k, const char *key, int v, void *obj)
{
    struct sl_ratelimit_conf *r = obj;
    long long n, ms;
    char *s = NULL, hint[96];
    switch (k) {
    case RL_INTERVAL:
        if (sl_decl_want_duration(d, key, v, 1, MAX_RATELIMIT_INTERVAL_MS, &ms))
            r->interval_ms = ms;
        break;
    case RL_BURST:
        if (sl_decl_want_int(d, key, v, 1, MAX_RATELIMIT_BURST, &n))
            r->burst = (unsigned)n;
        break;
    case RL_PER:
        if (!sl_decl_want_string(d, key, v, &s))
            break;
        if (sl_decl_name_index(ratelimit_pers, s) < 0)
            sl_decl_error(d, "key '%s': unknown value '%s' (pid or uid)%s", key, s,
                          sl_decl_did_you_mean(hint, sizeof hint, "", s, ratelimit_pers));
        else
            r->per = sl_decl_name_index(ratelimit_pers, s) == 0 ? SL_RATELIMIT_PER_PID
                                                                : SL_RATELIMIT_PER_UID;
        free(s);
        break;
    }
}

void sl_decl_ratelimit(const struct sl_decl *d, const char *key, int v,
                       struct sl_ratelimit_conf *out)
{
    if (lua_type(d->L, v) != LUA_TTABLE) {
        sl_decl_wrong_type(d, key, "a table { interval = DURATION, burst = N, per = \"pid\" or "
                           "\"uid\" }", v);
        return;
    }
    struct sl_ratelimit_conf r = {.interval_ms = SL_DEFAULT_RATELIMIT_INTERVAL_MS,
                                  .burst = SL_DEFAULT_RATELIMIT_BURST,
                                  .per = SL_RATELIMIT_PER_PID};
    sl_decl_each_key(d, v, key, ratelimit_keys, set_ratelimit, &r);
    *out = r;
}
