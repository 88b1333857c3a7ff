/*
 * netfront: receive. Empty pages are posted as rx requests (granted
 * writable until answered); the backend copies a frame into one or more
 * of them and answers each with the byte count, NETRXF_MORE_DATA
 * chaining a frame's slots. A response is copied out once and checked;
 * its buffer's grant is ended before the data is read, so the backend
 * cannot change it while we read. A chain with any bad slot is dropped
 * whole, and its good buffers reposted.
 *
 * A frame of one slot is lent to the caller in its own page when it
 * asked (netfront_set_rx_page) and a spare page can take its place
 * behind the buffer; a frame of several slots is copied into nf->frame.
 * A page whose grant did not end (the backend still holds it) is never
 * read nor lent: the frame is dropped and the page retired (BUF_LOST).
 *
 * Extra info: a frame's first response may say NETRXF_EXTRA_INFO; then
 * the next slot holds a struct xenabi_netif_extra_info instead of a
 * response, and each extra with XEN_NETIF_EXTRA_FLAG_MORE is followed by
 * another, before the frame's second data slot (Linux's netback sends a
 * GSO extra there for a merged TCP segment). An extra slot has no id: it
 * used up the request posted in its ring position (rx_ring_id), whose
 * buffer comes back unused. A GSO extra we did not ask for or that is
 * malformed (no segment size, not TCP), an extra of unknown type or a
 * second of one type, or the flag on any slot but the first: the frame is
 * dropped (its extras are still consumed, to stay in step with the ring).
 */
#include <string.h>

#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>

#include "internal.h"

/* Forget the frame being assembled: the next response starts one. */
static void chain_clear(struct netfront *nf)
{
    nf->first_pending = false;
    nf->chain_len = 0;
    nf->chain_slots = 0;
    nf->chain_bad = false;
    nf->chain_error = false;
    nf->extra_next = false;
    nf->chain_last = false;
    nf->chain_extra_types = 0;
    nf->rx_flags = 0;
}

void netfront_rx_reset(struct netfront *nf)
{
    nf->rx_nfree = 0;
    nf->rx_inflight = 0;
    chain_clear(nf);
    for (uint32_t i = NETFRONT_RX_SLOTS; i-- > 0;) {
        struct netfront_buf *b = &nf->rx_bufs[i];
        if (b->state == BUF_LOST)
            continue;
        b->state = BUF_FREE;
        nf->rx_free[nf->rx_nfree++] = (uint16_t)i;
    }
}

/* Take a buffer back; false if the backend still maps it (now lost). */
static bool take_back(struct netfront *nf, uint16_t id)
{
    struct netfront_buf *b = &nf->rx_bufs[id];
    nf->rx_inflight--;
    if (!netfront_end_grant(nf, b))
        return false;
    b->state = BUF_FREE;
    return true;
}

static void put_free(struct netfront *nf, uint16_t id)
{
    nf->rx_free[nf->rx_nfree++] = id;
}

void netfront_rx_refill(struct netfront *nf)
{
    bool posted = false;
    while (nf->rx_nfree > 0 && xenabi_front_ring_free(&nf->rx) > 0) {
        uint16_t id = nf->rx_free[nf->rx_nfree - 1];
        struct netfront_buf *b = &nf->rx_bufs[id];
        if (gnttab_grant_access(nf->front.backend_id,
                                xen_ptr_to_frame(b->page), false,
                                "netfront.rx", &b->ref)
            < 0)
            break; /* out of grants: the next poll tries again */
        nf->rx_nfree--;
        b->state = BUF_INFLIGHT;
        nf->rx_inflight++;
        nf->rx_ring_id[nf->rx.prod & (NETFRONT_RX_SLOTS - 1)] = id;
        struct xenabi_netif_rx_request *req =
            xenabi_ring_slot(&nf->rx, nf->rx.prod++);
        req->id = id;
        req->pad = 0;
        req->gref = b->ref;
        nf->stats.rx_posted++;
        posted = true;
    }
    if (posted && xenabi_front_ring_push(&nf->rx))
        netfront_notify(nf);
}

void netfront_set_rx_page(struct netfront *nf, netfront_rx_page_fn fn)
{
    nf->rx_page_fn = fn;
}

/* The pool index of `page`, or -1 if it is not a page of the pool. */
static int64_t pool_index(const struct netfront *nf, const uint8_t *page)
{
    uintptr_t at = (uintptr_t)page, base = (uintptr_t)nf->rx_pool;
    if (at < base || (at - base) % XENABI_PAGE_SIZE != 0)
        return -1;
    uintptr_t i = (at - base) / XENABI_PAGE_SIZE;
    if (i >= NETFRONT_RX_SLOTS + NETFRONT_RX_LOANS)
        return -1;
    return (int64_t)i;
}

void netfront_rx_page_release(struct netfront *nf, uint8_t *page)
{
    int64_t i = pool_index(nf, page);
    if (i < 0 || !nf->rx_lent[i]) {
        nf->stats.bad_page_release++;
        return;
    }
    nf->rx_lent[i] = false;
    /* Lent pages are as many as spare slots are empty: this fits. */
    nf->rx_spare[nf->rx_nspare++] = page;
}

/* Copy the chain's first slot out of its page (a second slot came, or
 * the page is not lent). */
static void copy_first(struct netfront *nf)
{
    if (!nf->first_pending)
        return;
    memcpy(nf->frame, nf->rx_bufs[nf->first_id].page + nf->first_offset,
           nf->first_len);
    nf->first_pending = false;
}

/*
 * Lend the one-slot frame's page: a spare page goes behind its buffer
 * (free, so not granted, and reposted only by the next refill). True if
 * the caller took the frame (kept the page or dropped it).
 */
static bool lend_first(struct netfront *nf)
{
    if (nf->rx_page_fn == NULL || !nf->first_pending)
        return false;
    if (nf->rx_nspare == 0) {
        nf->stats.rx_no_spare++;
        return false;
    }
    struct netfront_buf *b = &nf->rx_bufs[nf->first_id];
    uint8_t *page = b->page;
    int64_t i = pool_index(nf, page);
    b->page = nf->rx_spare[--nf->rx_nspare];
    nf->rx_lent[i] = true;
    nf->first_pending = false;
    nf->stats.rx_loaned++;
    if (!nf->rx_page_fn(nf->rx_arg, page, nf->first_offset, nf->first_len))
        netfront_rx_page_release(nf, page);
    return true;
}

static void end_chain(struct netfront *nf, int *frames)
{
    if (nf->chain_bad) {
        nf->stats.bad_frames++;
    } else if (nf->chain_error) {
        nf->stats.rx_errors++;
    } else {
        nf->stats.rx_frames++;
        nf->stats.rx_bytes += nf->chain_len;
        if (nf->rx_flags & NETFRONT_RX_GSO)
            nf->stats.rx_gso++;
        (*frames)++;
        if (!lend_first(nf)) {
            copy_first(nf);
            nf->stats.rx_copied++;
            nf->rx_fn(nf->rx_arg, nf->frame, nf->chain_len);
        }
    }
    chain_clear(nf);
}

/* Check one response (already copied) and add its data to the chain. */
static void add_to_chain(struct netfront *nf,
                         const struct xenabi_netif_rx_response *rsp)
{
    if (rsp->id >= NETFRONT_RX_SLOTS
        || nf->rx_bufs[rsp->id].state != BUF_INFLIGHT) {
        nf->stats.bad_responses++; /* unknown, or answered already */
        nf->chain_bad = true;
        return;
    }
    if (!take_back(nf, rsp->id)) {
        nf->chain_bad = true; /* the backend can still change the data */
        return;
    }
    const struct netfront_buf *b = &nf->rx_bufs[rsp->id];
    /* The frame's flags are its first slot's (Linux's netback sets them
     * there): data_validated, checked by the backend or a NIC under it;
     * csum_blank, left to offload by a sender on the host, when the
     * caller takes such frames (netfront_set_rx_offload). */
    if (nf->chain_slots == 0
        && ((rsp->flags & XENABI_NETRXF_DATA_VALIDATED)
            || (nf->rx_offload && (rsp->flags & XENABI_NETRXF_CSUM_BLANK))))
        nf->rx_flags = NETFRONT_RX_CSUM_VALID;
    if ((rsp->flags & XENABI_NETRXF_EXTRA_INFO) != 0 && nf->chain_slots != 0) {
        /* Extras follow a frame's first slot only. */
        nf->stats.bad_responses++;
        nf->chain_bad = true;
    } else if (rsp->status == XENABI_NETIF_RSP_ERROR
               || rsp->status == XENABI_NETIF_RSP_DROPPED) {
        nf->chain_error = true;
    } else if (rsp->status <= 0
               || (uint32_t)rsp->offset + (uint32_t)rsp->status
                      > XENABI_PAGE_SIZE) {
        nf->stats.bad_responses++; /* no status, or not within the page */
        nf->chain_bad = true;
    } else if (nf->chain_len + (uint32_t)rsp->status > NETFRONT_MAX_FRAME) {
        nf->stats.bad_responses++;
        nf->chain_bad = true;
    } else if (!nf->chain_bad && !nf->chain_error) {
        if (nf->chain_slots == 0) {
            /* Read later: lent whole if it is the only slot. */
            nf->first_pending = true;
            nf->first_id = rsp->id;
            nf->first_offset = rsp->offset;
            nf->first_len = (uint16_t)rsp->status;
        } else {
            copy_first(nf);
            memcpy(nf->frame + nf->chain_len, b->page + rsp->offset,
                   (size_t)rsp->status);
        }
        nf->chain_len += (uint32_t)rsp->status;
    }
    put_free(nf, rsp->id);
}

/* Check one extra-info slot (already copied), in ring position `at`. */
static void take_extra(struct netfront *nf, xenabi_ring_idx_t at,
                       const struct xenabi_netif_extra_info *x)
{
    nf->stats.rx_extras++;
    if ((x->flags & XENABI_NETIF_EXTRA_FLAG_MORE) == 0)
        nf->extra_next = false;
    /* The request this slot used up: its buffer was not written. */
    uint16_t id = nf->rx_ring_id[at & (NETFRONT_RX_SLOTS - 1)];
    bool bad = false;
    if (nf->rx_bufs[id].state != BUF_INFLIGHT)
        bad = true; /* answered already: the backend broke the order */
    else if (take_back(nf, id))
        put_free(nf, id);
    uint8_t type = x->type;
    if (type == XENABI_NETIF_EXTRA_TYPE_NONE
        || type >= XENABI_NETIF_EXTRA_TYPE_MAX
        || (nf->chain_extra_types & (1u << type)) != 0) {
        bad = true; /* unknown, or a second one of a type */
    } else {
        nf->chain_extra_types |= (uint8_t)(1u << type);
        if (type == XENABI_NETIF_EXTRA_TYPE_GSO) {
            uint8_t gso = x->u.gso.type;
            if (!nf->rx_offload || x->u.gso.size == 0
                || (gso != XENABI_NETIF_GSO_TYPE_TCPV4
                    && gso != XENABI_NETIF_GSO_TYPE_TCPV6))
                bad = true;
            else
                nf->rx_flags |= NETFRONT_RX_GSO;
        }
        /* Multicast and hash extras we never asked for: ignored. */
    }
    if (bad) {
        nf->stats.bad_responses++;
        nf->chain_bad = true;
    }
}

static void take_response(struct netfront *nf, int *frames)
{
    xenabi_ring_idx_t at = nf->rx.cons++;
    if (nf->extra_next) {
        struct xenabi_netif_extra_info x;
        xenabi_ring_copy_from_slot(&x, xenabi_ring_slot(&nf->rx, at),
                                   sizeof(x));
        take_extra(nf, at, &x);
    } else {
        struct xenabi_netif_rx_response rsp;
        xenabi_ring_copy_from_slot(&rsp, xenabi_ring_slot(&nf->rx, at),
                                   sizeof(rsp));
        add_to_chain(nf, &rsp);
        if (++nf->chain_slots > NETFRONT_MAX_FRAME_SLOTS)
            nf->chain_bad = true;
        if ((rsp.flags & XENABI_NETRXF_EXTRA_INFO) != 0)
            nf->extra_next = true;
        if ((rsp.flags & XENABI_NETRXF_MORE_DATA) == 0)
            nf->chain_last = true;
    }
    /* A one-slot frame's extras come after its only data slot. */
    if (nf->chain_last && !nf->extra_next)
        end_chain(nf, frames);
}

/*
 * Every request answered: a chain still open can never end, and buffers
 * still out lost their answers among bad responses.
 */
static void reclaim_orphans(struct netfront *nf)
{
    if (nf->rx.cons != nf->rx.prod)
        return;
    if (nf->chain_slots > 0) {
        int none = 0;
        nf->chain_bad = true;
        end_chain(nf, &none);
    }
    for (uint16_t id = 0; id < NETFRONT_RX_SLOTS && nf->rx_inflight > 0;
         id++) {
        if (nf->rx_bufs[id].state != BUF_INFLIGHT)
            continue;
        nf->stats.reclaimed++;
        if (take_back(nf, id))
            put_free(nf, id);
    }
}

int netfront_rx_receive(struct netfront *nf)
{
    int frames = 0;
    for (;;) {
        int64_t ready = netfront_ring_ready(&nf->rx);
        if (ready < 0) {
            nf->stats.bad_prod++;
            return frames;
        }
        if (ready == 0) {
            xenabi_ring_write_idx(&nf->rx.shared->rsp_event, nf->rx.cons + 1);
            xenabi_ring_mb();
            ready = netfront_ring_ready(&nf->rx);
            if (ready <= 0)
                break;
        }
        while (ready-- > 0)
            take_response(nf, &frames);
    }
    reclaim_orphans(nf);
    return frames;
}

void netfront_rx_release(struct netfront *nf)
{
    for (uint16_t id = 0; id < NETFRONT_RX_SLOTS; id++)
        if (nf->rx_bufs[id].state == BUF_INFLIGHT && take_back(nf, id))
            put_free(nf, id);
    chain_clear(nf);
}
