/* SPDX-License-Identifier: MIT */
/* room.c: the set of eventfds waiting for room (room.h). */
#include "output/room.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/alloc.h"

void sl_room_signal(int efd)
{
    uint64_t one = 1;
    while (write(efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

int sl_room_add(struct sl_room_fds *r, int efd)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i] == efd)
            return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        int *v = sl_realloc(r->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = efd;
    return 0;
}

void sl_room_remove(struct sl_room_fds *r, int efd)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i] == efd) {
            r->v[i] = r->v[--r->n];
            return;
        }
    }
}

void sl_room_fire(struct sl_room_fds *r)
{
    for (size_t i = 0; i < r->n; i++)
        sl_room_signal(r->v[i]);
    r->n = 0;
}

void sl_room_free(struct sl_room_fds *r)
{
    free(r->v);
    *r = (struct sl_room_fds){0};
}
