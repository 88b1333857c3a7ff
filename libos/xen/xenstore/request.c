/*
 * One request: take a slot, write header and payload, wait for the
 * reply with our request id.
 */
#include <evtchn/evtchn.h>

#include "internal.h"

static struct xs_pending *take_slot(void)
{
    for (unsigned i = 0; i < XS_MAX_INFLIGHT; i++)
        if (!xs_state.pending[i].in_use)
            return &xs_state.pending[i];
    return NULL;
}

static bool id_in_flight(uint32_t id)
{
    for (unsigned i = 0; i < XS_MAX_INFLIGHT; i++)
        if (xs_state.pending[i].in_use && xs_state.pending[i].req_id == id)
            return true;
    return false;
}

int xs_request(uint32_t type, xs_tx_t tx, const struct xs_part *parts,
               unsigned nparts, char *reply, size_t reply_cap,
               size_t *reply_len)
{
    struct xs_state *s = &xs_state;
    if (s->intf == NULL)
        return -XENABI_ENOTCONN;
    if (s->broken)
        return -XENABI_EIO;

    size_t total = 0;
    for (unsigned i = 0; i < nparts; i++)
        total += parts[i].len;
    if (total > XENABI_XENSTORE_PAYLOAD_MAX)
        return -XENABI_E2BIG;

    struct xs_pending *p = take_slot();
    if (p == NULL)
        return -XENABI_EBUSY;
    uint32_t id = s->next_req_id++;
    while (id_in_flight(id))
        id = s->next_req_id++;
    *p = (struct xs_pending){
        .in_use = true,
        .req_id = id,
        .type = type,
        .reply = reply,
        .reply_cap = reply_cap,
    };

    struct xenabi_xsd_sockmsg header = {
        .type = type,
        .req_id = id,
        .tx_id = tx,
        .len = (uint32_t)total,
    };
    uint32_t start = s->req_prod;
    int rc = xs_ring_write(&header, sizeof(header));
    for (unsigned i = 0; rc == 0 && i < nparts; i++)
        rc = xs_ring_write(parts[i].bytes, parts[i].len);
    if (rc < 0) {
        p->in_use = false;
        if (s->req_prod != start)
            s->broken = true; /* half a message is in the ring */
        return rc;
    }
    s->stats.requests++;

    /*
     * One ring's worth per pass, then the wait (which returns at once if
     * xenstored wrote meanwhile, and lets a scheduler run other threads).
     */
    while (!p->done) {
        (void)xs_rx_pump(XS_PUMP_ALL);
        if (p->done)
            break;
        rc = evtchn_wait();
        if (rc < 0) {
            /* Gone from the table: a late reply counts as unexpected. */
            p->in_use = false;
            return rc;
        }
    }
    if (reply_len != NULL)
        *reply_len = p->reply_len;
    p->in_use = false;
    return p->result;
}
