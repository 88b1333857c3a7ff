/*
 * netfront: transmit. A frame is copied into our buffer pages, one page
 * per ring slot, each granted read-only for as long as the backend owes
 * an answer for it. The first request of a frame carries the frame's
 * length, the others their own; all but the last carry NETTXF_MORE_DATA.
 *
 * Scatter-gather: with a backend that offers feature-sg, each fragment
 * the caller passed starts a slot of its own (a fragment longer than a
 * page takes several), so a frame built from headers and a payload goes
 * out as several granted pages, the way the caller laid it out. Should
 * that need more slots than a backend must accept, the frame is packed
 * into as few pages as it needs instead. Without feature-sg a frame is
 * one page.
 */
#include <stdbool.h>
#include <string.h>

#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>

#include "internal.h"

void netfront_tx_reset(struct netfront *nf)
{
    nf->tx_nfree = 0;
    nf->tx_inflight = 0;
    for (uint32_t i = NETFRONT_TX_SLOTS; i-- > 0;) {
        struct netfront_buf *b = &nf->tx_bufs[i];
        if (b->state == BUF_LOST)
            continue;
        b->state = BUF_FREE;
        nf->tx_free[nf->tx_nfree++] = (uint16_t)i;
    }
}

static void put_free(struct netfront *nf, uint16_t id)
{
    struct netfront_buf *b = &nf->tx_bufs[id];
    nf->tx_inflight--;
    if (!netfront_end_grant(nf, b))
        return;
    b->state = BUF_FREE;
    nf->tx_free[nf->tx_nfree++] = id;
}

/* One response, copied out of the ring; the buffer it names is freed. */
static void take_response(struct netfront *nf)
{
    struct xenabi_netif_tx_response rsp;
    xenabi_ring_copy_from_slot(&rsp, xenabi_ring_slot(&nf->tx, nf->tx.cons),
                               sizeof(rsp));
    nf->tx.cons++;
    if (rsp.id >= NETFRONT_TX_SLOTS
        || nf->tx_bufs[rsp.id].state != BUF_INFLIGHT) {
        nf->stats.bad_responses++; /* unknown, or answered already */
        return;
    }
    switch (rsp.status) {
    case XENABI_NETIF_RSP_OKAY:
        break;
    case XENABI_NETIF_RSP_ERROR:
    case XENABI_NETIF_RSP_DROPPED:
        nf->stats.tx_errors++;
        break;
    default:
        /* NULL answers extra-info slots, which we never send. The slot is
         * answered all the same: take the buffer back. */
        nf->stats.bad_responses++;
        break;
    }
    put_free(nf, rsp.id);
}

/*
 * Every request answered, yet buffers still out: their answers were
 * lost among bad responses. Nothing more will come for them.
 */
static void reclaim_orphans(struct netfront *nf)
{
    if (nf->tx.cons != nf->tx.prod || nf->tx_inflight == 0)
        return;
    for (uint16_t id = 0; id < NETFRONT_TX_SLOTS; id++) {
        if (nf->tx_bufs[id].state != BUF_INFLIGHT)
            continue;
        nf->stats.reclaimed++;
        put_free(nf, id);
    }
}

void netfront_tx_reclaim(struct netfront *nf)
{
    for (;;) {
        int64_t ready = netfront_ring_ready(&nf->tx);
        if (ready < 0) {
            nf->stats.bad_prod++;
            return;
        }
        if (ready == 0) {
            /* Ask for an event at the next answer, then look again. */
            xenabi_ring_write_idx(&nf->tx.shared->rsp_event, nf->tx.cons + 1);
            xenabi_ring_mb();
            ready = netfront_ring_ready(&nf->tx);
            if (ready <= 0)
                break;
        }
        while (ready-- > 0)
            take_response(nf);
    }
    reclaim_orphans(nf);
}

void netfront_tx_release(struct netfront *nf)
{
    for (uint16_t id = 0; id < NETFRONT_TX_SLOTS; id++)
        if (nf->tx_bufs[id].state == BUF_INFLIGHT)
            put_free(nf, id);
}

static size_t frame_length(const struct netfront_frag *frags, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (frags[i].len > NETFRONT_MAX_FRAME || frags[i].data == NULL)
            return NETFRONT_MAX_FRAME + 1;
        total += frags[i].len;
        if (total > NETFRONT_MAX_FRAME)
            return total;
    }
    return total;
}

/*
 * The bytes each slot carries (chunk[0..return)), as described above.
 * `total` is the frame's length, 1..NETFRONT_MAX_FRAME.
 */
static uint32_t plan_slots(const struct netfront_frag *frags, size_t n,
                           size_t total, bool sg,
                           size_t chunk[NETFRONT_MAX_FRAME_SLOTS])
{
    uint32_t slots = 0;

    if (sg) {
        for (size_t i = 0; i < n; i++) {
            for (size_t left = frags[i].len; left > 0;) {
                if (slots == NETFRONT_MAX_FRAME_SLOTS)
                    goto packed;
                size_t take = left < XENABI_PAGE_SIZE ? left : XENABI_PAGE_SIZE;
                chunk[slots++] = take;
                left -= take;
            }
        }
        return slots;
    }
packed:
    slots = 0;
    for (size_t left = total; left > 0;) {
        size_t take = left < XENABI_PAGE_SIZE ? left : XENABI_PAGE_SIZE;
        chunk[slots++] = take;
        left -= take;
    }
    return slots;
}

/* Copy the next `len` bytes of the fragments into `to`. */
struct cursor {
    const struct netfront_frag *frags;
    size_t n, i, off;
};

static void gather(struct cursor *c, uint8_t *to, size_t len)
{
    while (len > 0) {
        size_t left = c->frags[c->i].len - c->off;
        if (left == 0) {
            c->i++;
            c->off = 0;
            continue;
        }
        size_t take = left < len ? left : len;
        memcpy(to, (const uint8_t *)c->frags[c->i].data + c->off, take);
        to += take;
        len -= take;
        c->off += take;
    }
}

int netfront_send(struct netfront *nf, const struct netfront_frag *frags,
                  size_t n)
{
    return netfront_send_flags(nf, frags, n, 0);
}

int netfront_send_flags(struct netfront *nf, const struct netfront_frag *frags,
                        size_t n, unsigned flags)
{
    if (!netfront_connected(nf))
        return -XENABI_ENOTCONN;
    if ((flags & ~NETFRONT_TX_CSUM_BLANK) != 0)
        return -XENABI_EINVAL;
    if ((flags & NETFRONT_TX_CSUM_BLANK) && !netfront_tx_csum_offload(nf))
        return -XENABI_EOPNOTSUPP;
    /* The checksum field holds the pseudo-header sum; the backend finds
     * the L4 header itself. data_validated goes with csum_blank, as
     * Linux's netfront sends it. */
    uint16_t first_flags = (flags & NETFRONT_TX_CSUM_BLANK)
                               ? XENABI_NETTXF_CSUM_BLANK
                                     | XENABI_NETTXF_DATA_VALIDATED
                               : 0;
    if (frags == NULL && n != 0)
        return -XENABI_EINVAL;
    size_t total = frame_length(frags, n);
    if (total == 0)
        return -XENABI_EINVAL;
    if (total > NETFRONT_MAX_FRAME
        || (!nf->backend_sg && total > XENABI_PAGE_SIZE))
        return -XENABI_E2BIG;
    _Static_assert(NETFRONT_MAX_FRAME / XENABI_PAGE_SIZE + 1
                       <= NETFRONT_MAX_FRAME_SLOTS,
                   "a largest frame fits the slots a backend must accept");
    size_t chunk[NETFRONT_MAX_FRAME_SLOTS];
    uint32_t slots = plan_slots(frags, n, total, nf->backend_sg, chunk);

    if (xenabi_front_ring_free(&nf->tx) < slots || nf->tx_nfree < slots)
        netfront_tx_reclaim(nf);
    if (xenabi_front_ring_free(&nf->tx) < slots || nf->tx_nfree < slots) {
        nf->stats.tx_full++;
        return -XENABI_EAGAIN;
    }

    uint16_t ids[NETFRONT_MAX_FRAME_SLOTS];
    struct cursor c = {.frags = frags, .n = n};
    for (uint32_t s = 0; s < slots; s++) {
        uint16_t id = nf->tx_free[nf->tx_nfree - 1];
        struct netfront_buf *b = &nf->tx_bufs[id];
        gather(&c, b->page, chunk[s]);
        int rc = gnttab_grant_access(nf->front.backend_id,
                                     xen_ptr_to_frame(b->page), true,
                                     "netfront.tx", &b->ref);
        if (rc < 0) {
            /* Unpublished so far: take back the slots written. */
            nf->tx.prod -= s;
            while (s-- > 0)
                put_free(nf, ids[s]);
            return rc;
        }
        nf->tx_nfree--;
        ids[s] = id;
        b->state = BUF_INFLIGHT;
        nf->tx_inflight++;
        struct xenabi_netif_tx_request *req =
            xenabi_ring_slot(&nf->tx, nf->tx.prod++);
        req->gref = b->ref;
        req->offset = 0;
        req->flags = (uint16_t)((s + 1 < slots ? XENABI_NETTXF_MORE_DATA : 0)
                                | (s == 0 ? first_flags : 0));
        req->id = id;
        req->size = (uint16_t)(s == 0 ? total : chunk[s]);
    }
    nf->stats.tx_frames++;
    nf->stats.tx_slots += slots;
    if (xenabi_front_ring_push(&nf->tx))
        netfront_notify(nf);
    return 0;
}
