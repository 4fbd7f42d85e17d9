/* conf.c: the parts of the config model that do not need Lua: error lists,
 * string lists, size strings, look-ups and freeing. */
#include "lua_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

void sl_errors_add(struct sl_errors *e, const char *file, int line, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    char *entry = NULL;
    int n = line > 0 ? asprintf(&entry, "%s:%d: %s", file, line, text)
                     : asprintf(&entry, "%s: %s", file, text);
    char **v = realloc(e->v, (e->n + 1) * sizeof *v);
    if (n < 0 || v == NULL) {
        /* Out of memory while reporting: keep what we have. */
        free(n < 0 ? NULL : entry);
        if (v != NULL)
            e->v = v;
        return;
    }
    e->v = v;
    e->v[e->n++] = entry;
}

void sl_errors_clear(struct sl_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

bool sl_strlist_has(const struct sl_strlist *l, const char *s, size_t len)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->v[i]) == len && memcmp(l->v[i], s, len) == 0)
            return true;
    }
    return false;
}

int sl_strlist_push(struct sl_strlist *l, const char *s)
{
    char *copy = strdup(s);
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (copy == NULL || v == NULL) {
        free(copy);
        if (v != NULL)
            l->v = v;
        return -ENOMEM;
    }
    l->v = v;
    l->v[l->n++] = copy;
    return 0;
}

void sl_strlist_clear(struct sl_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int sl_parse_size(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -EINVAL;
    }
    /* Accept "64KB"/"64KiB" too, as people write them. */
    if (shift != 0 && (*end == 'b' || *end == 'B'))
        end++;
    else if (shift != 0 && (end[0] == 'i' || end[0] == 'I') && (end[1] == 'b' || end[1] == 'B'))
        end += 2;
    if (*end != '\0' || (shift != 0 && v > (~0ULL >> shift)))
        return -EINVAL;
    *out = v << shift;
    return 0;
}

const struct sl_kv *sl_output_conf_get(const struct sl_output_conf *o, const char *key)
{
    for (size_t i = 0; i < o->nkv; i++) {
        if (strcmp(o->kv[i].key, key) == 0)
            return &o->kv[i];
    }
    return NULL;
}

static void output_free(struct sl_output_conf *o)
{
    free(o->name);
    free(o->type);
    free(o->plugin);
    for (size_t i = 0; i < o->nkv; i++) {
        free(o->kv[i].key);
        free(o->kv[i].str);
    }
    free(o->kv);
}

static void input_free(struct sl_input_conf *in)
{
    free(in->name);
    free(in->path);
    free(in->host);
    free(in->port);
}

static void regex_free(struct sl_regex *re)
{
    free(re->pattern);
    pcre2_code_free(re->code); /* NULL is a no-op */
}

static void route_free(struct sl_route_conf *r)
{
    sl_strlist_clear(&r->app_names);
    sl_strlist_clear(&r->hostnames);
    sl_strlist_clear(&r->inputs);
    free(r->msg_contains);
    free(r->msg_prefix);
    free(r->msg_suffix);
    regex_free(&r->msg_match);
    regex_free(&r->app_name_match);
    regex_free(&r->hostname_match);
    free(r->to);
}

void sl_config_free(struct sl_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->ninputs; i++)
        input_free(&c->inputs[i]);
    for (size_t i = 0; i < c->noutputs; i++)
        output_free(&c->outputs[i]);
    for (size_t i = 0; i < c->nroutes; i++)
        route_free(&c->routes[i]);
    free(c->inputs);
    free(c->outputs);
    free(c->routes);
    sl_strlist_clear(&c->plugin_path);
    free(c->file);
    free(c->source);
    free(c->control);
    free(c->hostname);
    free(c->state_dir);
    free(c);
}
