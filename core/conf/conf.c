/* SPDX-License-Identifier: MIT */
/* conf.c: the parts of the config model that do not need Lua: error lists,
 * string lists, size strings, look-ups and freeing. */
#include "conf/lua_config.h"
#include "common/alloc.h"
#include "input/kind.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Appends entry (taken; NULL: out of memory). Out of memory while
 * reporting keeps what we have and counts this one, so that a load with
 * errors never passes for a good one. */
static void take(struct sl_errors *e, char *entry)
{
    char **v = entry != NULL ? sl_realloc(e->v, (e->n + 1) * sizeof *v) : NULL;
    if (v == NULL) {
        free(entry);
        e->lost++;
        return;
    }
    e->v = v;
    e->v[e->n++] = entry;
}

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
    take(e, n < 0 ? NULL : entry);
}

void sl_errors_push(struct sl_errors *e, const char *text)
{
    take(e, sl_strdup(text));
}

void sl_errors_clear(struct sl_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = 0;
    e->lost = 0;
}

/* The line of an entry "FILE:LINE: ...", 0 for "FILE: ...". Another
 * file's entry sorts after the file's own, in the order it was made. */
static long entry_line(const char *entry, const char *file, size_t file_len)
{
    if (strncmp(entry, file, file_len) != 0 || entry[file_len] != ':')
        return LONG_MAX;
    return strtol(entry + file_len + 1, NULL, 10);
}

/* Which of files[0..n) the entry is about (n when none), by the longest
 * name it starts with, and its line there. */
static size_t entry_place(const char *entry, const char *const *files, size_t n, long *line)
{
    size_t best = n, best_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(files[i]);
        if (len >= best_len && entry_line(entry, files[i], len) != LONG_MAX)
            best = i, best_len = len;
    }
    *line = best < n ? entry_line(entry, files[best], best_len) : 0;
    return best;
}

struct sort_entry {
    size_t rank; /* the file's place in the list given */
    long line;
    size_t seq; /* the place before sorting: keeps the sort stable */
    char *text;
};

static int cmp_sort_entry(const void *pa, const void *pb)
{
    const struct sort_entry *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Stable insertion sort of v[0..count) by line, in place: the fallback
 * when there is no memory for qsort's keys (errors come nearly sorted, so
 * it is quick unless there are very many). */
static void insertion_sort(char **v, size_t count, const char *file, size_t n)
{
    for (size_t i = 1; i < count; i++) {
        char *x = v[i];
        long line = entry_line(x, file, n);
        size_t j = i;
        for (; j > 0 && entry_line(v[j - 1], file, n) > line; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* qsort with the old place as the tie-break, not insertion: a config with
 * an error per output (100,000 of them) made insertion quadratic. Out of
 * memory for the keys, insertion all the same: the order by line is a
 * promise (--check's output, fuzz_config checks it) that holds then too. */
void sl_errors_sort(struct sl_errors *e, size_t from, const char *file)
{
    sl_errors_sort_files(e, from, &file, 1);
}

void sl_errors_sort_files(struct sl_errors *e, size_t from, const char *const *files,
                          size_t nfiles)
{
    if (e->n <= from + 1)
        return;
    size_t n = strlen(files[0]), count = e->n - from;
    struct sort_entry *v = sl_malloc(count * sizeof *v);
    if (v == NULL) { /* by the main file's lines, the others after it */
        insertion_sort(e->v + from, count, files[0], n);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        v[i] = (struct sort_entry){.seq = i, .text = e->v[from + i]};
        v[i].rank = entry_place(e->v[from + i], files, nfiles, &v[i].line);
    }
    qsort(v, count, sizeof *v, cmp_sort_entry);
    for (size_t i = 0; i < count; i++)
        e->v[from + i] = v[i].text;
    free(v);
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
    char *copy = sl_strdup(s);
    char **v = sl_realloc(l->v, (l->n + 1) * sizeof *v);
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

/* {=== the name index */
int sl_name_index_init(struct sl_name_index *x, size_t cap)
{
    *x = (struct sl_name_index){0};
    x->v = sl_malloc((cap > 0 ? cap : 1) * sizeof *x->v);
    if (x->v == NULL)
        return -ENOMEM;
    x->cap = cap;
    return 0;
}

void sl_name_index_add(struct sl_name_index *x, const char *name, size_t at)
{
    if (name != NULL && x->n < x->cap)
        x->v[x->n++] = (struct sl_name_entry){name, at};
}

static int cmp_name_entry(const void *pa, const void *pb)
{
    const struct sl_name_entry *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    if (c != 0)
        return c;
    return a->at < b->at ? -1 : a->at > b->at;
}

void sl_name_index_sort(struct sl_name_index *x)
{
    if (x->n > 1)
        qsort(x->v, x->n, sizeof *x->v, cmp_name_entry);
}

long long sl_name_index_find(const struct sl_name_index *x, const char *name)
{
    size_t lo = 0, hi = x->n; /* the first entry not below name */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n && strcmp(x->v[lo].name, name) == 0 ? (long long)x->v[lo].at : -1;
}

void sl_name_index_free(struct sl_name_index *x)
{
    free(x->v);
    *x = (struct sl_name_index){0};
}
/* }=== */

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

/* {=== copies and comparisons */
static bool str_eq(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* strdup that keeps NULL; false when out of memory. */
static bool dup_str(const char *s, char **out)
{
    *out = s != NULL ? sl_strdup(s) : NULL;
    return s == NULL || *out != NULL;
}

static void output_free(struct sl_output_conf *o);
static void input_free(struct sl_input_conf *in);

void sl_output_conf_free(struct sl_output_conf *o)
{
    if (o == NULL)
        return;
    output_free(o);
    free((char *)o->file); /* a copy owns its file name */
    free(o);
}

int sl_output_conf_dup(const struct sl_output_conf *src, struct sl_output_conf **out)
{
    struct sl_output_conf *o = sl_calloc(1, sizeof *o);
    if (o == NULL)
        return -ENOMEM;
    *o = *src;
    o->name = o->type = o->plugin = NULL;
    o->file = NULL;
    o->kv = NULL;
    o->nkv = 0;
    char *file = NULL;
    bool ok = dup_str(src->name, &o->name) && dup_str(src->type, &o->type)
           && dup_str(src->plugin, &o->plugin) && dup_str(src->file, &file);
    o->file = file;
    if (ok && src->nkv > 0) {
        o->kv = sl_calloc(src->nkv, sizeof *o->kv);
        ok = o->kv != NULL;
        for (size_t i = 0; ok && i < src->nkv; i++) {
            o->kv[i] = src->kv[i];
            o->kv[i].key = o->kv[i].str = NULL;
            o->nkv = i + 1;
            ok = dup_str(src->kv[i].key, &o->kv[i].key) && dup_str(src->kv[i].str, &o->kv[i].str);
        }
    }
    if (!ok) {
        sl_output_conf_free(o);
        return -ENOMEM;
    }
    *out = o;
    return 0;
}

static bool kv_equal(const struct sl_kv *a, const struct sl_kv *b)
{
    if (a->type != b->type || strcmp(a->key, b->key) != 0)
        return false;
    switch (a->type) {
    case SL_KV_STRING: return str_eq(a->str, b->str);
    /* NaN (0/0 in Lua) is not equal to itself, but a conf is to its copy,
     * or every reload would restart the output (fuzz_config found it). */
    case SL_KV_NUMBER: return a->dnum == b->dnum || (isnan(a->dnum) && isnan(b->dnum));
    default: return a->num == b->num;
    }
}

bool sl_output_conf_equal(const struct sl_output_conf *a, const struct sl_output_conf *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->type, b->type) || !str_eq(a->plugin, b->plugin)
        || !sl_queue_conf_equal(&a->queue, &b->queue) || a->nkv != b->nkv)
        return false;
    /* Keys are unique within a table, so equal counts and every key of a
     * found equal in b make the sets equal. */
    for (size_t i = 0; i < a->nkv; i++) {
        const struct sl_kv *other = sl_output_conf_get(b, a->kv[i].key);
        if (other == NULL || !kv_equal(&a->kv[i], other))
            return false;
    }
    return true;
}

void sl_input_conf_free(struct sl_input_conf *in)
{
    if (in == NULL)
        return;
    input_free(in);
    free((char *)in->file); /* a copy owns its file name, as an output's does */
    free(in);
}

int sl_input_conf_dup(const struct sl_input_conf *src, struct sl_input_conf **out)
{
    struct sl_input_conf *in = sl_calloc(1, sizeof *in);
    if (in == NULL)
        return -ENOMEM;
    *in = *src;
    in->name = in->path = in->host = in->port = NULL;
    in->file = NULL;
    char *file = NULL;
    bool ok = dup_str(src->name, &in->name) && dup_str(src->path, &in->path)
           && dup_str(src->host, &in->host) && dup_str(src->port, &in->port)
           && dup_str(src->file, &file);
    in->file = file;
    if (!ok) {
        sl_input_conf_free(in);
        return -ENOMEM;
    }
    *out = in;
    return 0;
}

/* Whether key k of the kind has the same value in a and b, read as the
 * loader wrote it (lua_decl.c's set_input_value). */
static bool input_key_equal(const struct sl_input_key *k, const struct sl_input_conf *a,
                            const struct sl_input_conf *b)
{
    const void *x = (const char *)a + k->offset, *y = (const char *)b + k->offset;
    switch (k->type) {
    case SL_INPUT_KEY_PATH: return str_eq(*(char *const *)x, *(char *const *)y);
    case SL_INPUT_KEY_LISTEN: return str_eq(a->host, b->host) && str_eq(a->port, b->port);
    case SL_INPUT_KEY_SIZE: return *(const size_t *)x == *(const size_t *)y;
    case SL_INPUT_KEY_INT:
    case SL_INPUT_KEY_DURATION:
    case SL_INPUT_KEY_CHOICE: return *(const int *)x == *(const int *)y;
    case SL_INPUT_KEY_UINT:
    case SL_INPUT_KEY_MODE: return *(const unsigned *)x == *(const unsigned *)y;
    case SL_INPUT_KEY_BOOL: return *(const bool *)x == *(const bool *)y;
    case SL_INPUT_KEY_RATELIMIT: {
        const struct sl_ratelimit_conf *r = x, *s = y;
        return r->interval_ms == s->interval_ms && r->burst == s->burst && r->per == s->per;
    }
    }
    return false;
}

/* From the kind's key table, as the loader and the address check read it:
 * a key a kind adds is compared with no edit here. Keys another kind has
 * hold their defaults, the same in both. */
bool sl_input_conf_equal(const struct sl_input_conf *a, const struct sl_input_conf *b)
{
    if (!str_eq(a->name, b->name) || a->kind != b->kind)
        return false;
    if (a->kind == NULL)
        return true;
    for (const struct sl_input_key *k = a->kind->keys; k->name != NULL; k++) {
        if (!input_key_equal(k, a, b))
            return false;
    }
    return true;
}

/* Whether c gives address key k a value. */
static bool address_set(const struct sl_input_key *k, const struct sl_input_conf *c)
{
    if (k->type == SL_INPUT_KEY_LISTEN)
        return c->port != NULL;
    return *(char *const *)((const char *)c + k->offset) != NULL;
}

/* The file system path an input binds (its kind's PATH address key), or NULL. */
static const char *bound_path(const struct sl_input_conf *c)
{
    for (const struct sl_input_key *k = c->kind->keys; k->name != NULL; k++) {
        if (k->address && k->type == SL_INPUT_KEY_PATH)
            return *(char *const *)((const char *)c + k->offset);
    }
    return NULL;
}

bool sl_input_conf_same_address(const struct sl_input_conf *a, const struct sl_input_conf *b)
{
    if (a->kind == NULL || b->kind == NULL)
        return false;
    if (a->kind != b->kind) {
        /* Ports of kinds apart are apart (udp and tcp), but a path is one
         * file whatever binds it (unix and native): the second bind would
         * take the first one's socket away. */
        const char *pa = bound_path(a), *pb = bound_path(b);
        return pa != NULL && pb != NULL && strcmp(pa, pb) == 0;
    }
    bool any = false, same = true;
    for (const struct sl_input_key *k = a->kind->keys; k->name != NULL && same; k++) {
        if (!k->address || (!address_set(k, a) && !address_set(k, b)))
            continue; /* one of a kind's several address keys, which neither uses */
        any = true;
        if (k->type == SL_INPUT_KEY_LISTEN) {
            /* Port 0 asks the kernel for a free port: it never collides. */
            same = a->port != NULL && strcmp(a->port, "0") != 0 && str_eq(a->host, b->host)
                && str_eq(a->port, b->port);
        } else {
            same = str_eq(*(char *const *)((const char *)a + k->offset),
                          *(char *const *)((const char *)b + k->offset));
        }
    }
    return !any || same; /* no address key: the kind reads the machine's one (kind.h) */
}
/* }=== */

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
    for (size_t i = 0; i < r->nfields; i++) {
        free(r->fields[i].key);
        sl_strlist_clear(&r->fields[i].values);
    }
    free(r->fields);
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
    for (size_t i = 0; i < c->nincludes; i++) {
        free(c->includes[i].file);
        free(c->includes[i].source);
    }
    free(c->includes);
    sl_strlist_clear(&c->include_calls);
    free(c->control);
    free(c->hostname);
    free(c->state_dir);
    free(c->metrics_host);
    free(c->metrics_port);
    free(c->user);
    free(c->group);
    free(c);
}
