/* SPDX-License-Identifier: MIT */
/*
 * keys.c: reading the config keys that several plugins share
 * (plugin_lib.h): a file's mode, its owner and group, and durations, so
 * each is parsed and explained to the user one way whatever the output.
 */
#include "lib/plugin_lib.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int spl_parse_mode(const char *s, mode_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 8);
    if (s[0] < '0' || s[0] > '7' || *end != '\0' || errno != 0 || v > 0777)
        return -EINVAL;
    *out = (mode_t)v;
    return 0;
}

void spl_read_mode(const struct sluice_host *h, const sluice_config *cfg, const char *key,
                   const char *def, mode_t *out, char *err, size_t errlen)
{
    const char *mode = def;
    /* Lua has no octal literals: mode = 0640 would be decimal 640. */
    if (h->config_string(cfg, key, &mode) == -EINVAL || spl_parse_mode(mode, out) < 0)
        spl_err_add(err, errlen, "key \"%s\" must be a string of octal digits from \"0000\" "
                    "to \"0777\", such as \"%s\" (no set-uid, set-gid or sticky bit)", key, def);
}

/* owner or group: a name or a number, as a string or a Lua integer;
 * absent: unchanged (the daemon's). */
static void read_id(const struct sluice_host *h, const sluice_config *cfg, const char *key,
                    bool user, struct spl_file_opts *o, char *err, size_t errlen)
{
    const char *what = user ? "user" : "group";
    const char *name = NULL;
    long long num;
    char digits[32];
    int rc = h->config_int(cfg, key, &num);
    if (rc == 0 && num >= 0) {
        snprintf(digits, sizeof digits, "%lld", num);
        name = digits;
    } else if (rc == -EINVAL && h->config_string(cfg, key, &name) < 0) {
        name = NULL;
    } else if (rc == -ENOENT) {
        return;
    }
    if (name != NULL)
        rc = user ? spl_user_id(name, &o->owner) : spl_group_id(name, &o->group);
    if (name != NULL && rc == -ENOENT)
        spl_err_add(err, errlen, "key \"%s\": no %s \"%s\"", key, what, name);
    else if (name == NULL || rc < 0)
        spl_err_add(err, errlen, "key \"%s\" must be a %s name or number", key, what);
}

void spl_read_owner(const struct sluice_host *h, const sluice_config *cfg,
                    struct spl_file_opts *o, char *err, size_t errlen)
{
    read_id(h, cfg, "owner", true, o, err, errlen);
    read_id(h, cfg, "group", false, o, err, errlen);
}

int spl_parse_duration_ms(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"", 1000},          {"ms", 1},           {"s", 1000},
                 {"m", 60 * 1000},    {"h", 3600 * 1000},  {"d", 86400 * 1000},
                 {"w", 7 * 86400 * 1000LL}};
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].ms)
                return -EINVAL;
            *ms = (int64_t)v * units[i].ms;
            return 0;
        }
    }
    return -EINVAL;
}
