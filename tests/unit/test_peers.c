/* SPDX-License-Identifier: MIT */
/* test_peers.c: connections per source address (peers.c), against a plain
 * array of counts, through adds and removes in a random order that make the
 * table grow and shift entries back on removal. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "input/peers.h"

static struct sl_peer_key v4(uint32_t a)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(a);
    struct sl_peer_key k;
    sl_peer_key_of(&ss, &k);
    return k;
}

static void ipv4_and_its_mapped_ipv6_are_one_peer(void **state)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr), 1);
    struct sl_peer_key k6, k4 = v4(0x7f000001);
    sl_peer_key_of(&ss, &k6);
    assert_memory_equal(&k4, &k6, sizeof k4);
    assert_memory_not_equal(&k4, &(struct sl_peer_key){{0}}, sizeof k4);
}

#define NADDR 300

static void counts_follow_adds_and_removes(void **state)
{
    struct sl_peers p;
    sl_peers_init(&p);
    unsigned model[NADDR] = {0};
    srand(7);
    for (int step = 0; step < 20000; step++) {
        unsigned a = (unsigned)rand() % NADDR;
        struct sl_peer_key k = v4(0x0a000000u + a * 977u);
        if (model[a] > 0 && rand() % 2) {
            sl_peers_remove(&p, &k);
            model[a]--;
        } else {
            assert_int_equal(sl_peers_add(&p, &k), 0);
            model[a]++;
        }
        if (step % 97 == 0) {
            size_t live = 0;
            for (unsigned i = 0; i < NADDR; i++) {
                struct sl_peer_key ki = v4(0x0a000000u + i * 977u);
                assert_int_equal(sl_peers_count(&p, &ki), model[i]);
                live += model[i] > 0;
            }
            assert_int_equal(p.n, live);
        }
    }
    /* Emptied, every address is gone. */
    for (unsigned i = 0; i < NADDR; i++) {
        struct sl_peer_key ki = v4(0x0a000000u + i * 977u);
        while (model[i]-- > 0)
            sl_peers_remove(&p, &ki);
        assert_int_equal(sl_peers_count(&p, &ki), 0);
    }
    assert_int_equal(p.n, 0);
    sl_peers_free(&p);
}

static void out_of_memory_leaves_the_table_as_it_was(void **state)
{
    struct sl_peers p;
    sl_peers_init(&p);
    for (uint32_t i = 0; i < 8; i++) /* 8 of 16 slots: the next new one grows */
        assert_int_equal(sl_peers_add(&p, &(struct sl_peer_key){{[15] = (uint8_t)i}}), 0);
    sl_alloc_fail_after(0);
    int rc = sl_peers_add(&p, &(struct sl_peer_key){{[15] = 99}});
    sl_alloc_fail_after(-1);
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(p.n, 8);
    assert_int_equal(sl_peers_count(&p, &(struct sl_peer_key){{[15] = 3}}), 1);
    assert_int_equal(sl_peers_count(&p, &(struct sl_peer_key){{[15] = 99}}), 0);
    sl_peers_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_and_its_mapped_ipv6_are_one_peer),
        cmocka_unit_test(counts_follow_adds_and_removes),
        cmocka_unit_test(out_of_memory_leaves_the_table_as_it_was),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
