/* SPDX-License-Identifier: MIT */
/*
 * lua_checks.c: what can be checked of a config only once its chunk has
 * run (lua_loader.h): routes naming outputs and inputs declared further
 * down, curried calls never given their table, duplicate names, two
 * inputs on one address. Every problem is appended to the error list with
 * the FILE:LINE of the declaration it is about.
 *
 * Thread: the loading thread.
 */
#include "config.h"

#include "conf/lua_loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "input/kind.h"

/* {=== checks once the whole chunk has run */
static void check_pending(struct loader *ld)
{
    for (size_t i = 0; i < ld->npend; i++) {
        const struct pending *p = &ld->pend[i];
        const char *kind = p->output ? "output" : "input";
        if (!p->done && p->name != NULL)
            sl_errors_add(ld->ctx.errs, p->file, p->line,
                          "%s \"%s\": no table given; write %s \"%s\" { ... }", kind, p->name,
                          kind, p->name);
    }
}

static const char **names_of(struct sl_decl_ctx *ctx, bool outputs)
{
    struct sl_config *c = ctx->c;
    size_t n = outputs ? c->noutputs : c->ninputs;
    const char **v = sl_calloc(n + 1, sizeof *v);
    if (v == NULL) {
        ctx->oom = true;
        return NULL;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        const char *name = outputs ? c->outputs[i].name : c->inputs[i].name;
        if (name != NULL)
            v[k++] = name;
    }
    return v;
}

/* What routes are resolved against: the outputs and inputs by name, and
 * for each output 1 + the last route that named it, so that a name given
 * twice in one `to` counts once without a scan of the route's list. */
struct refs {
    struct sl_name_index outs, ins;
    size_t *seen;
};

static int refs_init(struct refs *x, const struct sl_config *c)
{
    *x = (struct refs){0};
    x->seen = sl_calloc(c->noutputs + 1, sizeof *x->seen);
    if (x->seen == NULL || sl_name_index_init(&x->outs, c->noutputs) < 0
        || sl_name_index_init(&x->ins, c->ninputs) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < c->noutputs; i++)
        sl_name_index_add(&x->outs, c->outputs[i].name, i);
    for (size_t i = 0; i < c->ninputs; i++)
        sl_name_index_add(&x->ins, c->inputs[i].name, i);
    sl_name_index_sort(&x->outs);
    sl_name_index_sort(&x->ins);
    return 0;
}

static void refs_free(struct refs *x)
{
    sl_name_index_free(&x->outs);
    sl_name_index_free(&x->ins);
    free(x->seen);
}

/* Route ri's `to` names become indices into c->outputs (the first output
 * of a name), each once; unknown names and inputs are reported with a
 * "did you mean" from outs and ins (NULL-ended names, for hints only). */
static void resolve_route(struct sl_decl_ctx *ctx, size_t ri, const struct sl_decl_targets *x,
                          struct refs *refs, const char **outs, const char **ins)
{
    struct sl_route_conf *r = &ctx->c->routes[ri];
    char hint[160];
    if (x->names.n > 0 && (r->to = sl_malloc(x->names.n * sizeof *r->to)) == NULL) {
        ctx->oom = true;
        return;
    }
    for (size_t k = 0; k < x->names.n; k++) {
        const char *name = x->names.v[k];
        long long o = sl_name_index_find(&refs->outs, name);
        if (o < 0) {
            sl_errors_add(ctx->errs, r->file, r->line,
                          "route: 'to' names unknown output '%s'%s", name,
                          sl_decl_did_you_mean(hint, sizeof hint, "", name, outs));
        } else if (refs->seen[o] != ri + 1) {
            refs->seen[o] = ri + 1;
            r->to[r->nto++] = (size_t)o;
        }
    }
    for (size_t k = 0; k < r->inputs.n; k++) {
        if (sl_name_index_find(&refs->ins, r->inputs.v[k]) < 0)
            sl_errors_add(ctx->errs, r->file, r->line, "route: key 'input' names unknown "
                          "input '%s'%s", r->inputs.v[k],
                          sl_decl_did_you_mean(hint, sizeof hint, "", r->inputs.v[k], ins));
    }
}

/* Names declared twice among inputs or outputs, each reported where its
 * later table was given, naming the first: one sort, where comparing
 * every pair was quadratic. Runs even when the chunk stopped early. */
void sl_loader_check_duplicates(struct loader *ld, bool output)
{
    struct sl_name_index x;
    if (sl_name_index_init(&x, ld->npend) < 0) {
        ld->ctx.oom = true;
        return;
    }
    for (size_t i = 0; i < ld->npend; i++) {
        if (ld->pend[i].done && ld->pend[i].output == output)
            sl_name_index_add(&x, ld->pend[i].name, i);
    }
    sl_name_index_sort(&x);
    for (size_t i = 1, first = 0; i < x.n; i++) {
        if (strcmp(x.v[i].name, x.v[first].name) != 0) {
            first = i;
            continue;
        }
        const struct pending *a = &ld->pend[x.v[first].at], *b = &ld->pend[x.v[i].at];
        bool here = a->file == b->table_file;
        sl_errors_add(ld->ctx.errs, b->table_file, b->table_line,
                      "%s \"%s\": already declared at %s%s%d", output ? "output" : "input",
                      x.v[i].name, here ? "line " : a->file, here ? "" : ":", a->line);
    }
    sl_name_index_free(&x);
}

/* The address of an input, for messages: "HOST:PORT", "[V6]:PORT" or the
 * quoted path. */
static void address_text(const struct sl_input_conf *in, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct sl_input_key *k = in->kind->keys; k->name != NULL && n < len; k++) {
        const char *sep = n > 0 ? " " : "";
        if (!k->address)
            continue;
        if (k->type == SL_INPUT_KEY_LISTEN ? in->host == NULL
                                           : *(char *const *)((const char *)in + k->offset) == NULL)
            continue; /* one of several the kind takes, not this one (kind.h) */
        if (k->type != SL_INPUT_KEY_LISTEN)
            n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"", sep,
                                  *(char *const *)((const char *)in + k->offset));
        else if (strchr(in->host, ':') != NULL)
            n += (size_t)snprintf(buf + n, len - n, "%s[%s]:%s", sep, in->host, in->port);
        else
            n += (size_t)snprintf(buf + n, len - n, "%s%s:%s", sep, in->host, in->port);
    }
}

/* Two inputs that would bind one socket: a config error naming both,
 * rather than a bind() that fails at start-up (or a reload refused). */
static void check_addresses(struct loader *ld)
{
    const struct sl_config *c = ld->ctx.c;
    char addr[256];
    for (size_t j = 1; j < c->ninputs; j++) {
        const struct sl_input_conf *b = &c->inputs[j];
        for (size_t i = 0; i < j; i++) {
            const struct sl_input_conf *a = &c->inputs[i];
            if (a->name == NULL || b->name == NULL || !sl_input_conf_same_address(a, b))
                continue;
            address_text(b, addr, sizeof addr);
            if (addr[0] == '\0') /* a kind with no address key reads the one there is */
                sl_errors_add(ld->ctx.errs, b->file, b->line,
                              "input \"%s\": there can be one input of type '%s', and input "
                              "\"%s\" at %s:%d is one", b->name, b->kind->name, a->name,
                              a->file, a->line);
            else
                sl_errors_add(ld->ctx.errs, b->file, b->line,
                              "input \"%s\": %s is already used by input \"%s\" at %s:%d",
                              b->name, addr, a->name, a->file, a->line);
            break; /* one report per input, naming the first holder */
        }
    }
}

void sl_loader_check_references(struct loader *ld)
{
    check_pending(ld);
    check_addresses(ld);
    const char **outs = names_of(&ld->ctx, true), **ins = names_of(&ld->ctx, false);
    struct refs refs;
    if (refs_init(&refs, ld->ctx.c) < 0)
        ld->ctx.oom = true;
    for (size_t i = 0; outs && ins && !ld->ctx.oom && i < ld->ctx.c->nroutes; i++)
        resolve_route(&ld->ctx, i, &ld->targets[i], &refs, outs, ins);
    refs_free(&refs);
    free(outs);
    free(ins);
}

void sl_loader_free(struct loader *ld)
{
    for (size_t i = 0; i < ld->npend; i++)
        free(ld->pend[i].name);
    free(ld->pend);
    for (size_t i = 0; ld->targets != NULL && i < ld->ctx.c->nroutes; i++) {
        for (size_t k = 0; k < ld->targets[i].names.n; k++)
            free(ld->targets[i].names.v[k]);
        free(ld->targets[i].names.v);
    }
    free(ld->targets);
    sl_include_state_free(&ld->inc);
}
/* }=== */
