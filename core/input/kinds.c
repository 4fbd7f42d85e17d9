/* SPDX-License-Identifier: MIT */
/* kinds.c: the table of input kinds (kind.h). A new kind is declared and
 * listed here, and nowhere else. */
#include "input/kind.h"

#include <string.h>

extern const struct sl_input_kind sl_input_unix, sl_input_udp, sl_input_tcp;
extern const struct sl_input_kind sl_input_kmsg;
extern const struct sl_input_kind sl_input_native_stream;
extern const struct sl_input_kind sl_input_native;

const struct sl_input_kind *const sl_input_kinds[] = {
    &sl_input_unix,
    &sl_input_udp,
    &sl_input_tcp,
    &sl_input_kmsg,
    &sl_input_native_stream,
    &sl_input_native,
    NULL,
};

const struct sl_input_kind *sl_input_kind_find(const char *name)
{
    for (size_t i = 0; sl_input_kinds[i] != NULL; i++) {
        if (strcmp(sl_input_kinds[i]->name, name) == 0)
            return sl_input_kinds[i];
    }
    return NULL;
}

const struct sl_input_key *sl_input_kind_key(const struct sl_input_kind *k, const char *name)
{
    for (const struct sl_input_key *key = k->keys; key->name != NULL; key++) {
        if (strcmp(key->name, name) == 0)
            return key;
    }
    return NULL;
}

static const char *const *choices_of(const struct sl_input_kind *k, const char *key)
{
    for (const struct sl_input_choice *c = k->choices; c != NULL && c->key != NULL; c++) {
        if (strcmp(c->key, key) == 0)
            return c->values;
    }
    return NULL;
}

const char *const *sl_input_kind_choices(const struct sl_input_kind *k, const char *key)
{
    const char *const *v = k != NULL ? choices_of(k, key) : NULL;
    for (size_t i = 0; v == NULL && sl_input_kinds[i] != NULL; i++)
        v = choices_of(sl_input_kinds[i], key);
    return v;
}
