/*
 * //libos/xen:abi inside an image: the headers compile freestanding
 * (this file and headers_strict.c, with -Wpadded -pedantic on top of the
 * toolchain's -std=c11 -Wall -Wextra -Werror), the layouts the image
 * compiler sees are the ones the host oracle checked, and the ring code
 * runs a frontend and a backend against each other on one page.
 * Exits with the number of failures.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <xenabi/blkif.h>
#include <xenabi/console.h>
#include <xenabi/netif.h>
#include <xenabi/ring.h>
#include <xenabi/shared_info.h>
#include <xenabi/start_info.h>
#include <xenabi/vchan.h>
#include <xenabi/xenstore.h>

#include <testing/check.h>

static _Alignas(4096) uint8_t page[4096];

/* Frontend and backend, both ours, on one blkif page. */
static void ring_round_trips(void)
{
    struct xenabi_ring front, back;
    xenabi_front_ring_init(&front, page, sizeof(page), sizeof(union xenabi_blkif_slot));
    xenabi_ring_attach(&back, page, sizeof(page), sizeof(union xenabi_blkif_slot));
    CHECK(front.nr_slots == 32 && back.nr_slots == 32);

    uint64_t next_id = 1, answered = 0;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 1 + round % 5 && xenabi_front_ring_free(&front) > 0; i++) {
            struct xenabi_blkif_request *req = xenabi_ring_slot(&front, front.prod++);
            req->operation = XENABI_BLKIF_OP_READ;
            req->nr_segments = 1;
            req->id = next_id++;
        }
        bool first_push = round == 0;
        bool notify = xenabi_front_ring_push(&front);
        if (first_push)
            CHECK(notify); /* req_event starts at 1 */

        int64_t ready;
        do {
            ready = xenabi_back_ring_pending(&back);
            CHECK(ready >= 0);
            for (; ready > 0; ready--) {
                struct xenabi_blkif_request req;
                xenabi_ring_copy_from_slot(&req, xenabi_ring_slot(&back, back.cons++), sizeof(req));
                struct xenabi_blkif_response *rsp = xenabi_ring_slot(&back, back.prod++);
                rsp->id = req.id;
                rsp->operation = req.operation;
                rsp->status = XENABI_BLKIF_RSP_OKAY;
            }
            ready = xenabi_back_ring_final_check(&back);
        } while (ready > 0);
        xenabi_back_ring_push(&back);

        do {
            ready = xenabi_front_ring_pending(&front);
            CHECK(ready >= 0);
            for (; ready > 0; ready--) {
                struct xenabi_blkif_response rsp;
                xenabi_ring_copy_from_slot(&rsp, xenabi_ring_slot(&front, front.cons++), sizeof(rsp));
                CHECK(rsp.id == ++answered && rsp.status == XENABI_BLKIF_RSP_OKAY);
            }
            ready = xenabi_front_ring_final_check(&front);
        } while (ready > 0);
    }
    CHECK(answered == next_id - 1);
}

int main(void)
{
    printf("xenabi: shared_info %zu, start_info %zu, vcpu_info %zu bytes\n",
           sizeof(struct xenabi_shared_info), sizeof(struct xenabi_start_info),
           sizeof(struct xenabi_vcpu_info));
    printf("xenabi: netif tx/rx %u/%u slots, blkif %u slots, xenstore ring %u, "
           "console %u/%u, vchan header %zu bytes\n",
           (unsigned)XENABI_NETIF_TX_RING_SLOTS, (unsigned)XENABI_NETIF_RX_RING_SLOTS,
           (unsigned)XENABI_BLKIF_RING_SLOTS(0), (unsigned)XENABI_XENSTORE_RING_SIZE,
           (unsigned)XENABI_CONSOLE_IN_SIZE, (unsigned)XENABI_CONSOLE_OUT_SIZE,
           sizeof(struct xenabi_vchan_interface));
    CHECK(sizeof(struct xenabi_shared_info) == 3136);
    CHECK(sizeof(struct xenabi_blkif_request) == 112);
    CHECK(xenabi_pvclock_scale(1000, 0x80000000u, 1) == 1000);
    ring_round_trips();
    return check_finish();
}
