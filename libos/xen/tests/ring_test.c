/*
 * The ring code of <xenabi/ring.h> talking to Xen's own ring macros
 * (xen/io/ring.h) over one shared page, in both directions: our frontend
 * with Xen's backend, Xen's frontend with our backend. Every notify
 * decision and every shared index must come out as Xen's code on a twin
 * page computes it, across index wrap-around, and the overflow checks
 * must catch a peer that claims more than it could have produced.
 * Also: pvclock scaling against a 128-bit reference.
 */
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__

#if !__has_include(<xen/io/netif.h>)
#error "Xen's public headers are missing. Install them: apt-get install libxen-dev (tools/setup.sh does)"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/io/netif.h>
#include <xen/io/ring.h>

#include <xenabi/netif.h>
#include <xenabi/ring.h>
#include <xenabi/shared_info.h>

#include <testing/check.h>
/* Xen's macros need these; a host test needs only compiler ordering. */
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#define PAGE 4096

/* How often our push said "notify" and "don't": both must happen. */
static int said_notify[2];

static _Alignas(PAGE) uint8_t ours_page[PAGE];   /* our code on one side */
static _Alignas(PAGE) uint8_t theirs_page[PAGE]; /* Xen's code on both sides */

static void our_front_with_xen_back(uint32_t start)
{
    struct xenabi_ring front;
    netif_tx_front_ring_t twin_front;
    netif_tx_back_ring_t back, twin_back;
    netif_tx_sring_t *shared = (netif_tx_sring_t *)ours_page;
    netif_tx_sring_t *twin = (netif_tx_sring_t *)theirs_page;

    memset(ours_page, 0xa5, PAGE);
    memset(theirs_page, 0xa5, PAGE);
    xenabi_front_ring_init(&front, ours_page, PAGE, sizeof(union xenabi_netif_tx_slot));
    SHARED_RING_INIT(twin);
    CHECK(memcmp(ours_page, theirs_page, sizeof(struct xenabi_sring_header)) == 0);

    /* Start both rings at the same (possibly near-wrapping) index. */
    front.prod = front.cons = start;
    shared->req_prod = shared->rsp_prod = start;
    twin->req_prod = twin->rsp_prod = start;
    FRONT_RING_ATTACH(&twin_front, twin, start, PAGE);
    BACK_RING_ATTACH(&back, shared, start, PAGE);
    BACK_RING_ATTACH(&twin_back, twin, start, PAGE);
    CHECK(front.nr_slots == RING_SIZE(&twin_front));
    CHECK(xenabi_front_ring_free(&front) == RING_FREE_REQUESTS(&twin_front));

    uint16_t next_id = 0;
    for (int round = 0; round < 300; round++) {
        /* The frontend queues 1..7 requests, as many as fit. */
        int batch = 1 + round % 7;
        for (int i = 0; i < batch && xenabi_front_ring_free(&front) > 0; i++) {
            struct xenabi_netif_tx_request *req = xenabi_ring_slot(&front, front.prod++);
            netif_tx_request_t *twin_req = RING_GET_REQUEST(&twin_front, twin_front.req_prod_pvt++);
            req->gref = twin_req->gref = 100u + next_id;
            req->offset = twin_req->offset = 0;
            req->flags = twin_req->flags = 0;
            req->size = twin_req->size = 60;
            req->id = twin_req->id = next_id++;
        }
        int twin_notify;
        bool notify = xenabi_front_ring_push(&front);
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&twin_front, twin_notify);
        CHECK(notify == (twin_notify != 0));
        said_notify[notify]++;

        /* Every third round the backend drains and re-arms req_event. */
        if (round % 3 == 0) {
            int twin_more, more;
            do {
                while (RING_HAS_UNCONSUMED_REQUESTS(&back)) {
                    netif_tx_request_t req;
                    RING_COPY_REQUEST(&back, back.req_cons, &req);
                    RING_COPY_REQUEST(&twin_back, twin_back.req_cons, &req);
                    back.req_cons++;
                    twin_back.req_cons++;
                    netif_tx_response_t *rsp = RING_GET_RESPONSE(&back, back.rsp_prod_pvt++);
                    netif_tx_response_t *twin_rsp = RING_GET_RESPONSE(&twin_back, twin_back.rsp_prod_pvt++);
                    rsp->id = twin_rsp->id = req.id;
                    rsp->status = twin_rsp->status = NETIF_RSP_OKAY;
                }
                RING_FINAL_CHECK_FOR_REQUESTS(&back, more);
                RING_FINAL_CHECK_FOR_REQUESTS(&twin_back, twin_more);
                CHECK(more == twin_more);
            } while (more);
            int rsp_notify, twin_rsp_notify;
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, rsp_notify);
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&twin_back, twin_rsp_notify);
            CHECK(rsp_notify == twin_rsp_notify);
        }

        /* Every other round the frontend reaps responses and re-arms. */
        if (round % 2 == 0) {
            int64_t ready;
            int twin_more;
            do {
                ready = xenabi_front_ring_pending(&front);
                CHECK(ready == (int64_t)XEN_RING_NR_UNCONSUMED_RESPONSES(&twin_front));
                for (; ready > 0; ready--) {
                    struct xenabi_netif_tx_response rsp;
                    xenabi_ring_copy_from_slot(&rsp, xenabi_ring_slot(&front, front.cons), sizeof(rsp));
                    netif_tx_response_t *twin_rsp = RING_GET_RESPONSE(&twin_front, twin_front.rsp_cons);
                    CHECK(rsp.id == twin_rsp->id && rsp.status == NETIF_RSP_OKAY);
                    front.cons++;
                    twin_front.rsp_cons++;
                }
                ready = xenabi_front_ring_final_check(&front);
                RING_FINAL_CHECK_FOR_RESPONSES(&twin_front, twin_more);
                CHECK((ready != 0) == (twin_more != 0));
            } while (ready > 0);
        }
        CHECK(memcmp(ours_page, theirs_page, PAGE) == 0);
        CHECK(xenabi_front_ring_free(&front) == RING_FREE_REQUESTS(&twin_front));
    }

    /* A backend that claims one response more than we have outstanding. */
    xenabi_ring_idx_t outstanding = shared->req_prod - front.cons;
    shared->rsp_prod = front.cons + outstanding + 1;
    CHECK(xenabi_front_ring_pending(&front) == -1);
    CHECK(RING_RESPONSE_PROD_OVERFLOW(&twin_front, front.cons + front.nr_slots + 1));
}

static void xen_front_with_our_back(uint32_t start)
{
    struct xenabi_ring back;
    netif_rx_front_ring_t front, twin_front;
    netif_rx_back_ring_t twin_back;
    netif_rx_sring_t *shared = (netif_rx_sring_t *)ours_page;
    netif_rx_sring_t *twin = (netif_rx_sring_t *)theirs_page;

    memset(ours_page, 0, PAGE);
    memset(theirs_page, 0, PAGE);
    SHARED_RING_INIT(shared);
    SHARED_RING_INIT(twin);
    shared->req_prod = shared->rsp_prod = start;
    twin->req_prod = twin->rsp_prod = start;
    FRONT_RING_ATTACH(&front, shared, start, PAGE);
    FRONT_RING_ATTACH(&twin_front, twin, start, PAGE);
    BACK_RING_ATTACH(&twin_back, twin, start, PAGE);
    xenabi_ring_attach(&back, ours_page, PAGE, sizeof(union xenabi_netif_rx_slot));
    back.prod = back.cons = start;
    CHECK(back.nr_slots == RING_SIZE(&twin_back));

    for (int round = 0; round < 300; round++) {
        int batch = 1 + round % 11;
        for (int i = 0; i < batch && RING_FREE_REQUESTS(&front) > 0; i++) {
            netif_rx_request_t *req = RING_GET_REQUEST(&front, front.req_prod_pvt++);
            netif_rx_request_t *twin_req = RING_GET_REQUEST(&twin_front, twin_front.req_prod_pvt++);
            req->id = twin_req->id = (uint16_t)(round * 16 + i);
            req->pad = twin_req->pad = 0;
            req->gref = twin_req->gref = (grant_ref_t)(round + i);
        }
        int notify, twin_notify;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&twin_front, twin_notify);
        CHECK(notify == twin_notify);

        if (round % 2 == 1) {
            int64_t ready;
            int twin_more;
            do {
                ready = xenabi_back_ring_pending(&back);
                CHECK(ready == (int64_t)XEN_RING_NR_UNCONSUMED_REQUESTS(&twin_back));
                for (; ready > 0; ready--) {
                    struct xenabi_netif_rx_request req;
                    xenabi_ring_copy_from_slot(&req, xenabi_ring_slot(&back, back.cons++), sizeof(req));
                    netif_rx_request_t twin_req;
                    RING_COPY_REQUEST(&twin_back, twin_back.req_cons++, &twin_req);
                    CHECK(req.id == twin_req.id && req.gref == twin_req.gref);
                    struct xenabi_netif_rx_response *rsp = xenabi_ring_slot(&back, back.prod++);
                    netif_rx_response_t *twin_rsp = RING_GET_RESPONSE(&twin_back, twin_back.rsp_prod_pvt++);
                    rsp->id = twin_rsp->id = req.id;
                    rsp->offset = twin_rsp->offset = 0;
                    rsp->flags = twin_rsp->flags = 0;
                    rsp->status = twin_rsp->status = 1514;
                }
                ready = xenabi_back_ring_final_check(&back);
                RING_FINAL_CHECK_FOR_REQUESTS(&twin_back, twin_more);
                CHECK((ready != 0) == (twin_more != 0));
            } while (ready > 0);
            int twin_rsp_notify;
            bool rsp_notify = xenabi_back_ring_push(&back);
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&twin_back, twin_rsp_notify);
            CHECK(rsp_notify == (twin_rsp_notify != 0));
            said_notify[rsp_notify]++;
        }

        if (round % 5 == 4) {
            int more, twin_more;
            do {
                while (RING_HAS_UNCONSUMED_RESPONSES(&front)) {
                    front.rsp_cons++;
                    twin_front.rsp_cons++;
                }
                RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
                RING_FINAL_CHECK_FOR_RESPONSES(&twin_front, twin_more);
                CHECK(more == twin_more);
            } while (more);
        }
        CHECK(memcmp(ours_page, theirs_page, PAGE) == 0);
    }

    /* A frontend that claims more requests than the ring can hold. */
    xenabi_ring_idx_t bogus = back.prod + back.nr_slots + 1;
    shared->req_prod = bogus;
    CHECK(xenabi_back_ring_pending(&back) == -1);
    CHECK(RING_REQUEST_PROD_OVERFLOW(&twin_back, bogus));
    shared->req_prod = back.prod + back.nr_slots; /* full, but legal */
    CHECK(xenabi_back_ring_pending(&back) >= 0);
    CHECK(!RING_REQUEST_PROD_OVERFLOW(&twin_back, back.prod + back.nr_slots));
}

static void pvclock(void)
{
    const uint64_t deltas[] = {0, 1, 1000, 0xffffffffu, UINT64_C(0x123456789), UINT64_C(3) << 40};
    const uint32_t muls[] = {1, 0x80000000u, 0xffffffffu, 0x3b9aca00u};
    const int8_t shifts[] = {-3, -1, 0, 1, 2};
    for (size_t d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++)
        for (size_t m = 0; m < sizeof(muls) / sizeof(muls[0]); m++)
            for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++) {
                uint64_t delta = deltas[d];
                delta = shifts[s] < 0 ? delta >> -shifts[s] : delta << shifts[s];
                unsigned __int128 want = ((unsigned __int128)delta * muls[m]) >> 32;
                CHECK(xenabi_pvclock_scale(deltas[d], muls[m], shifts[s]) == (uint64_t)want);
            }
}

int main(void)
{
    our_front_with_xen_back(0);
    our_front_with_xen_back(UINT32_MAX - 700); /* indices wrap mid-test */
    xen_front_with_our_back(0);
    xen_front_with_our_back(UINT32_MAX - 1000);
    pvclock();
    CHECK(said_notify[false] > 0 && said_notify[true] > 0);
    return check_finish();
}
