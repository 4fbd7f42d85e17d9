/* SPDX-License-Identifier: MIT */
/*
 * plugin.c: finding, loading and checking output plugins, and the host
 * function table they call back through.
 *
 * The search path is the caller's list (sluiced's -P dirs, then
 * settings.plugin_path), then the colon-separated $SLUICE_PLUGIN_PATH, then
 * the installed plugin directory; a directory named twice is searched once.
 * In each DIR a plugin of type NAME is DIR/NAME.so, DIR/NAME/.libs/NAME.so
 * (a build tree's plugins/ folder) or DIR/.libs/NAME.so (a build tree's
 * folder of several libtool modules, like tests/plugins/).
 *
 * Like nginx's module loader, we check what a plugin claims to be before
 * calling anything it provides beyond the entry point: a plugin built for
 * another ABI is refused by name and path, never half-used.
 */
#include "output/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format/format.h"
#include "common/fields.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/util.h"
#include "common/alloc.h"
#include "common/paths.h" /* written by make: SL_PLUGINDIR */

/* The descriptor as ABI version 1 defines it. A newer plugin may append
 * fields (bigger size), which we ignore; a smaller one lacks callbacks. */
#define V1_SIZE (offsetof(struct sluice_output_plugin, close) + sizeof(void (*)(void *)))

/* {=== search path */
struct dirlist {
    char **v;
    size_t n;
};

static int dirs_add(struct dirlist *d, const char *dir, size_t len)
{
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < d->n; i++) {
        if (strlen(d->v[i]) == len && memcmp(d->v[i], dir, len) == 0)
            return 0;
    }
    char **v = sl_realloc(d->v, (d->n + 1) * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    d->v = v;
    if ((d->v[d->n] = sl_strndup(dir, len)) == NULL)
        return -ENOMEM;
    d->n++;
    return 0;
}

static void dirs_free(struct dirlist *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
}

static int search_dirs(const struct sl_strlist *search, struct dirlist *d)
{
    for (size_t i = 0; search != NULL && i < search->n; i++) {
        if (dirs_add(d, search->v[i], strlen(search->v[i])) < 0)
            return -ENOMEM;
    }
    const char *env = getenv("SLUICE_PLUGIN_PATH");
    while (env != NULL && *env != '\0') {
        size_t len = strcspn(env, ":");
        if (dirs_add(d, env, len) < 0)
            return -ENOMEM;
        env += len + (env[len] == ':');
    }
    return dirs_add(d, SL_PLUGINDIR, strlen(SL_PLUGINDIR));
}

/* A type name becomes part of a file name: keep it to one path component. */
static bool valid_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    }
    return true;
}
/* }=== */

/* {=== loading */
static int refuse(void *handle, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(void *handle, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (handle != NULL)
        dlclose(handle);
    return -EINVAL;
}

/* What is wrong with the descriptor's counters (sluice-plugin.h), or NULL:
 * names the stats JSON can carry as keys unescaped, few enough for the
 * sink's fixed table, and stats() to fill them. */
static const char *bad_counters(const struct sluice_output_plugin *api)
{
    if (!SLUICE_PLUGIN_HAS(api, stats) || api->counters == NULL)
        return NULL;
    if (api->stats == NULL)
        return "the descriptor names counters but has no stats()";
    size_t n = 0;
    for (; api->counters[n] != NULL; n++) {
        const char *c = api->counters[n];
        size_t len = strlen(c);
        if (len == 0 || len >= SL_COUNTER_NAME || strspn(c, "abcdefghijklmnopqrstuvwxyz"
                                                            "0123456789_") != len)
            return "a counter name is not 1 to 31 of [a-z0-9_]";
    }
    if (n > SLUICE_MAX_COUNTERS)
        return "more counters than SLUICE_MAX_COUNTERS";
    return NULL;
}

/* Opens the file and checks, in this order and before calling anything but
 * the entry point: the entry symbol, the ABI version, the descriptor size,
 * the mandatory callbacks, the counters. */
static int load_file(const char *name, const char *path, struct sl_plugin **out, char *err,
                     size_t errlen)
{
    /* Without a slash dlopen() would search the library path instead. */
    char full[4096];
    snprintf(full, sizeof full, "%s%s", strchr(path, '/') != NULL ? "" : "./", path);
    void *h = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return refuse(NULL, err, errlen, "plugin \"%s\": dlopen() \"%s\" failed: %s", name, full,
                      dlerror());
    sluice_output_plugin_fn entry = (sluice_output_plugin_fn)dlsym(h, SLUICE_PLUGIN_ENTRY);
    if (entry == NULL)
        return refuse(h, err, errlen, "plugin \"%s\": \"%s\" is not a sluice plugin: no %s()",
                      name, full, SLUICE_PLUGIN_ENTRY);
    const struct sluice_output_plugin *api = entry();
    if (api == NULL)
        return refuse(h, err, errlen, "plugin \"%s\": \"%s\": %s() returned no descriptor", name,
                      full, SLUICE_PLUGIN_ENTRY);
    if (api->abi_version != SLUICE_PLUGIN_ABI_VERSION)
        return refuse(h, err, errlen, "plugin \"%s\": \"%s\" is not binary compatible: ABI "
                      "version %u, this sluiced speaks %d", name, full,
                      (unsigned)api->abi_version, SLUICE_PLUGIN_ABI_VERSION);
    if (api->size < V1_SIZE)
        return refuse(h, err, errlen, "plugin \"%s\": \"%s\" is not binary compatible: "
                      "descriptor of %u bytes, ABI version %d needs %zu", name, full,
                      (unsigned)api->size, SLUICE_PLUGIN_ABI_VERSION, (size_t)V1_SIZE);
    if (api->name == NULL || api->open == NULL || api->write == NULL || api->close == NULL)
        return refuse(h, err, errlen, "plugin \"%s\": \"%s\": the descriptor lacks a name, "
                      "open(), write() or close()", name, full);

    const char *bad = bad_counters(api);
    if (bad != NULL)
        return refuse(h, err, errlen, "plugin \"%s\": \"%s\": %s", name, full, bad);

    struct sl_plugin *p = sl_calloc(1, sizeof *p);
    if (p == NULL || (p->name = sl_strdup(name)) == NULL || (p->path = sl_strdup(full)) == NULL) {
        sl_plugin_unload(p);
        refuse(h, err, errlen, "plugin \"%s\": out of memory", name);
        return -ENOMEM;
    }
    p->handle = h;
    /* Members past the plugin's size (appended since it was built) stay
     * NULL from calloc; members past ours (a newer header) are not read. */
    memcpy(&p->desc, api, api->size < sizeof p->desc ? api->size : sizeof p->desc);
    p->api = &p->desc;
    *out = p;
    return 0;
}

/* `err` lists what was looked for where, so a typo in -P shows. */
static void not_found(const char *name, const struct dirlist *d, char *err, size_t errlen)
{
    int n = snprintf(err, errlen, "plugin \"%s\" not found: no %s.so, %s/.libs/%s.so or "
                     ".libs/%s.so in", name, name, name, name, name);
    for (size_t i = 0; i < d->n && n >= 0 && (size_t)n < errlen; i++)
        n += snprintf(err + n, errlen - (size_t)n, "%s \"%s\"", i == 0 ? "" : ",", d->v[i]);
}

int sl_plugin_load(const char *name, const char *path, const struct sl_strlist *search,
                   struct sl_plugin **out, char *err, size_t errlen)
{
    if (path != NULL)
        return load_file(name != NULL ? name : path, path, out, err, errlen);
    if (!valid_name(name)) {
        snprintf(err, errlen, "plugin \"%s\": a type is a plain name (letters, digits, '_', '-')",
                 name != NULL ? name : "");
        return -EINVAL;
    }
    struct dirlist d = {0};
    if (search_dirs(search, &d) < 0) {
        dirs_free(&d);
        snprintf(err, errlen, "plugin \"%s\": out of memory", name);
        return -ENOMEM;
    }
    static const char *const layouts[] = {"%s/%s.so", "%s/%s/.libs/%s.so", "%s/.libs/%s.so"};
    char file[4096];
    for (size_t i = 0; i < d.n; i++) {
        for (size_t j = 0; j < 3; j++) {
            /* Only the middle layout names the plugin twice; the extra
             * argument is ignored by the others. */
            snprintf(file, sizeof file, layouts[j], d.v[i], name, name);
            if (access(file, F_OK) == 0) {
                dirs_free(&d);
                return load_file(name, file, out, err, errlen);
            }
        }
    }
    not_found(name, &d, err, errlen);
    dirs_free(&d);
    return -ENOENT;
}

void sl_plugin_unload(struct sl_plugin *p)
{
    if (p == NULL)
        return;
    if (p->handle != NULL)
        dlclose(p->handle);
    free(p->name);
    free(p->path);
    free(p);
}
/* }=== */

/* {=== key check */
static bool daemon_key(const char *key)
{
    return strcmp(key, "type") == 0 || strcmp(key, "plugin") == 0
           || strncmp(key, "queue.", 6) == 0;
}

static const char *conf_file(const struct sl_output_conf *o)
{
    return o->file != NULL ? o->file : "config";
}

/* A plugin key "NAME[]": a list, whose items are NAME.1, NAME.2, ... */
static bool list_key(const char *pkey)
{
    size_t len = strlen(pkey);
    return len >= 3 && strcmp(pkey + len - 2, "[]") == 0;
}

/* True when key is an item of the list the plugin key "NAME[]" accepts:
 * "NAME." and a number (lua_decl.c numbers a list's items from 1). */
static bool list_item(const char *key, const char *pkey)
{
    size_t len = strlen(pkey);
    if (strncmp(key, pkey, len - 2) != 0 || key[len - 2] != '.')
        return false;
    const char *num = key + len - 1;
    return num[0] >= '1' && num[0] <= '9' && strspn(num, "0123456789") == strlen(num);
}

static void check_keys(const struct sl_plugin *p, const struct sl_output_conf *o,
                       struct sl_errors *errs)
{
    const char *const *keys = p->api->keys != NULL ? p->api->keys : (const char *const[]){NULL};
    for (size_t i = 0; i < o->nkv; i++) {
        const char *key = o->kv[i].key;
        bool known = daemon_key(key);
        for (size_t k = 0; !known && keys[k] != NULL; k++)
            known = list_key(keys[k]) ? list_item(key, keys[k]) : strcmp(key, keys[k]) == 0;
        if (known)
            continue;
        const char *near = sl_closest(key, strlen(key), keys, SIZE_MAX);
        char hint[128] = "";
        if (near != NULL)
            snprintf(hint, sizeof hint, ", did you mean '%s'?", near);
        sl_errors_add(errs, conf_file(o), o->line, "output \"%s\": unknown key '%s' for type "
                      "\"%s\"%s", o->name, key, o->type, hint);
    }
}

/* The plugin's check() runs whatever the keys, so one --check reports
 * every error; each '\n'-separated reason in its err is an error of its
 * own, at the output's line. */
static void check_settings(const struct sl_plugin *p, const struct sl_output_conf *o,
                           struct sl_errors *errs)
{
    if (p->api->check == NULL)
        return;
    char err[2048] = "";
    if (p->api->check(sl_plugin_host(), sl_plugin_config(o), err, sizeof err) >= 0)
        return;
    err[sizeof err - 1] = '\0'; /* a plugin that forgot the NUL */
    size_t before = errs->n;
    for (char *line = err, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (line[0] != '\0')
            sl_errors_add(errs, conf_file(o), o->line, "output \"%s\" (%s): %s", o->name,
                          o->type, line);
    }
    if (errs->n == before)
        sl_errors_add(errs, conf_file(o), o->line, "output \"%s\" (%s): invalid settings",
                      o->name, o->type);
}

void sl_plugin_check(const struct sl_plugin *p, const struct sl_output_conf *o,
                     struct sl_errors *errs)
{
    check_keys(p, o, errs);
    check_settings(p, o, errs);
}
/* }=== */

/* {=== the host table */
static const struct sl_output_conf *conf_of(const sluice_config *cfg)
{
    return (const struct sl_output_conf *)cfg;
}

static void host_log(const sluice_config *cfg, int level, const char *fmt, ...)
{
    const struct sl_output_conf *o = conf_of(cfg);
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    level = level < SL_LOG_ERR ? SL_LOG_ERR : level > SL_LOG_DEBUG ? SL_LOG_DEBUG : level;
    sl_log(level, 0, "output \"%s\" (%s): %s", o->name, o->type, text);
}

static int config_string(const sluice_config *cfg, const char *key, const char **out)
{
    const struct sl_kv *kv = sl_output_conf_get(conf_of(cfg), key);
    if (kv == NULL)
        return -ENOENT;
    if (kv->type != SL_KV_STRING)
        return -EINVAL;
    *out = kv->str;
    return 0;
}

/* Lua 5.4 keeps 3 and 3.0 apart; a config author does not. */
static int integral(const struct sl_kv *kv, long long *out)
{
    if (kv->type == SL_KV_INT) {
        *out = kv->num;
        return 0;
    }
    if (kv->type != SL_KV_NUMBER || !(kv->dnum >= -9.2e18 && kv->dnum <= 9.2e18))
        return -EINVAL;
    long long v = (long long)kv->dnum;
    if ((double)v != kv->dnum)
        return -EINVAL;
    *out = v;
    return 0;
}

static int config_int(const sluice_config *cfg, const char *key, long long *out)
{
    const struct sl_kv *kv = sl_output_conf_get(conf_of(cfg), key);
    return kv == NULL ? -ENOENT : integral(kv, out);
}

static int config_bool(const sluice_config *cfg, const char *key, int *out)
{
    const struct sl_kv *kv = sl_output_conf_get(conf_of(cfg), key);
    if (kv == NULL)
        return -ENOENT;
    if (kv->type != SL_KV_BOOL)
        return -EINVAL;
    *out = kv->num != 0;
    return 0;
}

static int config_size(const sluice_config *cfg, const char *key, unsigned long long *out)
{
    const struct sl_kv *kv = sl_output_conf_get(conf_of(cfg), key);
    if (kv == NULL)
        return -ENOENT;
    if (kv->type == SL_KV_STRING)
        return sl_parse_size(kv->str, out);
    long long v;
    if (integral(kv, &v) < 0 || v < 0)
        return -EINVAL;
    *out = (unsigned long long)v;
    return 0;
}

static const char *config_name(const sluice_config *cfg)
{
    return conf_of(cfg)->name;
}

/* The accessors come from the field table (common/fields.h); facility and
 * severity are numbers whose text is their name. */
static int msg_text(const sluice_msg *msg, enum sluice_field f, const char **data, size_t *len)
{
    const struct sl_msg *m = (const struct sl_msg *)msg;
    const char *name = NULL;
    struct sl_str s;
    if (f == SLUICE_FIELD_FACILITY || f == SLUICE_FIELD_SEVERITY) {
        name = f == SLUICE_FIELD_FACILITY ? sl_facility_name(m->facility)
                                          : sl_severity_name(m->severity);
        s = name != NULL ? (struct sl_str){name, (uint32_t)strlen(name)} : SL_STR_NIL;
    } else if (sl_field_text(m, f, &s) < 0) {
        return -EINVAL;
    }
    if (s.p == NULL)
        return -ENOENT;
    *data = s.p;
    *len = s.len;
    return 0;
}

static int msg_number(const sluice_msg *msg, enum sluice_field f, long long *out)
{
    return sl_field_number((const struct sl_msg *)msg, f, out);
}

/* Minutes east of UTC of local time at `sec`. */
static int local_offset_min(int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    return localtime_r(&t, &tm) != NULL ? (int)(tm.tm_gmtoff / 60) : 0;
}

static int msg_time(const sluice_msg *msg, enum sluice_field f, struct sluice_time *out)
{
    const struct sl_msg *m = (const struct sl_msg *)msg;
    const struct sl_time *t;
    if (f == SLUICE_FIELD_TIMESTAMP)
        t = (m->ts.flags & SL_TIME_VALID) ? &m->ts : &m->received;
    else if (f == SLUICE_FIELD_RECEIVED)
        t = &m->received;
    else
        return -EINVAL;
    bool has_tz = (t->flags & SL_TIME_HAS_TZ) != 0;
    *out = (struct sluice_time){
        .sec = t->sec,
        .nsec = t->nsec,
        .tzoff_min = (int16_t)(has_tz ? t->tzoff_min : local_offset_min(t->sec)),
        .frac_digits = t->frac_digits,
        .has_tzoff = has_tz,
    };
    return 0;
}

static int msg_extra(const sluice_msg *msg, const char *key, size_t keylen, const char **data,
                     size_t *len)
{
    const struct sl_field *x = sl_msg_extra((const struct sl_msg *)msg, key, keylen);
    if (x == NULL)
        return -ENOENT;
    *data = x->value.p != NULL ? x->value.p : ""; /* present, even when empty */
    *len = x->value.len;
    return 0;
}

static int msg_extra_at(const sluice_msg *msg, size_t i, const char **key, size_t *keylen,
                        const char **value, size_t *vlen)
{
    const struct sl_msg *m = (const struct sl_msg *)msg;
    if (i >= m->nfields)
        return -ENOENT;
    const struct sl_field *x = &m->fields[i];
    *key = x->key.p;
    *keylen = x->key.len;
    *value = x->value.p != NULL ? x->value.p : ""; /* present, even when empty */
    *vlen = x->value.len;
    return 0;
}

/* The plugin's sluice_format: the core format object and the options of
 * format_set(), which core/format/ need not know. */
struct host_format {
    struct sl_format *core; /* owned */
    bool newline;           /* SLUICE_FORMAT_NEWLINE */
};

static int format_new(const char *spec, sluice_format **out, char *err, size_t errlen)
{
    struct host_format *hf = sl_calloc(1, sizeof *hf);
    if (hf == NULL) {
        snprintf(err, errlen, "format \"%s\": out of memory", spec);
        return -ENOMEM;
    }
    int rc = sl_format_new(spec, &hf->core, err, errlen);
    if (rc < 0) {
        free(hf);
        return rc;
    }
    hf->newline = true;
    *out = (sluice_format *)hf;
    return 0;
}

/* Every core format ends a message with exactly one '\n' (its own are
 * escaped), so without the newline option it is that last byte we take. */
static int format_append(sluice_format *f, const sluice_msg *m, struct sluice_buf *buf)
{
    struct host_format *hf = (struct host_format *)f;
    size_t before = buf->len;
    int rc = sl_format_append(hf->core, (const struct sl_msg *)m, buf);
    if (rc == 0 && !hf->newline && buf->len > before && buf->data[buf->len - 1] == '\n')
        buf->len--;
    return rc;
}

static int format_set(sluice_format *f, enum sluice_format_param param, int value)
{
    struct host_format *hf = (struct host_format *)f;
    switch (param) {
    case SLUICE_FORMAT_NEWLINE:
        if (value != 0 && value != 1)
            return -EINVAL;
        hf->newline = value == 1;
        return 0;
    default:
        return -EINVAL;
    }
}

static void format_free(sluice_format *f)
{
    struct host_format *hf = (struct host_format *)f;
    if (hf == NULL)
        return;
    sl_format_free(hf->core);
    free(hf);
}

static const struct sluice_host host = {
    .abi_version = SLUICE_PLUGIN_ABI_VERSION,
    .size = sizeof(struct sluice_host),
    .log = host_log,
    .config_string = config_string,
    .config_int = config_int,
    .config_bool = config_bool,
    .config_size = config_size,
    .config_name = config_name,
    .msg_text = msg_text,
    .msg_number = msg_number,
    .msg_time = msg_time,
    .format_new = format_new,
    .format_append = format_append,
    .format_free = format_free,
    .msg_extra = msg_extra,
    .format_set = format_set,
    .msg_extra_at = msg_extra_at,
};

const struct sluice_host *sl_plugin_host(void)
{
    return &host;
}
/* }=== */

/* {=== the names on the search path, for "did you mean" */
#include <dirent.h> /* here, with the one function that reads directories */

/* Adds NAME for each NAME.so in dir, and for each NAME/.libs/NAME.so and
 * .libs/NAME.so under it: the layouts sl_plugin_load() looks for. */
static int names_in(const char *dir, bool libtool_dirs, struct sl_strlist *out)
{
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return 0; /* a missing directory holds no plugin */
    int rc = 0;
    char sub[4096];
    struct dirent *e;
    while (rc == 0 && (e = readdir(dp)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 3 && strcmp(e->d_name + n - 3, ".so") == 0) {
            e->d_name[n - 3] = '\0';
            if (valid_name(e->d_name) && !sl_strlist_has(out, e->d_name, n - 3))
                rc = sl_strlist_push(out, e->d_name);
        } else if (libtool_dirs && valid_name(e->d_name)) {
            snprintf(sub, sizeof sub, "%s/%s/.libs/%s.so", dir, e->d_name, e->d_name);
            if (access(sub, F_OK) == 0 && !sl_strlist_has(out, e->d_name, n))
                rc = sl_strlist_push(out, e->d_name);
        }
    }
    closedir(dp);
    if (rc == 0 && libtool_dirs) {
        snprintf(sub, sizeof sub, "%s/.libs", dir);
        rc = names_in(sub, false, out);
    }
    return rc;
}

int sl_plugin_names(const struct sl_strlist *search, struct sl_strlist *out)
{
    struct dirlist d = {0};
    int rc = search_dirs(search, &d);
    for (size_t i = 0; rc == 0 && i < d.n; i++)
        rc = names_in(d.v[i], true, out);
    dirs_free(&d);
    return rc;
}
/* }=== */
