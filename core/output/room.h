/* SPDX-License-Identifier: MIT */
/*
 * room.h: the eventfds of producers waiting for room in an output's queue,
 * as a set: each fd at most once, written (8 bytes of 1) when room comes.
 * The memory queue, the disk queue and the overload policy (a stall) keep
 * one each. The set has no lock of its own: its owner calls it under the
 * lock that guards the room it stands for, and writes the fds under that
 * lock too, so that once a removal returns the fd is never written again
 * and its owner may close it (an eventfd write does not block).
 */
#ifndef SL_ROOM_H
#define SL_ROOM_H

#include <stddef.h>

struct sl_room_fds {
    int *v; /* owned */
    size_t n, cap;
};

/* Writes 1 to the eventfd efd; a full counter (EAGAIN) means its reader
 * wakes anyway. Thread: any. */
void sl_room_signal(int efd);
/* Adds efd unless it is in the set. 0, or -ENOMEM (the set unchanged). */
int sl_room_add(struct sl_room_fds *r, int efd);
/* Removes efd if it is in the set. */
void sl_room_remove(struct sl_room_fds *r, int efd);
/* Signals every fd of the set and empties it. */
void sl_room_fire(struct sl_room_fds *r);
/* Frees the set's memory; it is empty afterwards. */
void sl_room_free(struct sl_room_fds *r);

#endif /* SL_ROOM_H */
