/*
 * The two byte rings of the xenstore page: writing requests without ever
 * overtaking xenstored, and reading replies back into whole messages.
 */
#include <string.h>

#include <evtchn/evtchn.h>
#include <xenabi/ring.h>

#include "internal.h"

#define RING_SIZE XENABI_XENSTORE_RING_SIZE

/* The payload being reassembled; +1: room for a terminating NUL. */
static char payload[XENABI_XENSTORE_PAYLOAD_MAX + 1];

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

int xs_ring_write(const void *bytes, size_t len)
{
    struct xs_state *s = &xs_state;
    struct xenabi_xenstore_domain_interface *intf = s->intf;
    const char *from = bytes;

    while (len > 0) {
        /*
         * Acquire: xenstored must be done reading the bytes we are about
         * to overwrite before we write them.
         */
        uint32_t cons = __atomic_load_n(&intf->req_cons, __ATOMIC_ACQUIRE);
        uint32_t used = s->req_prod - cons;
        if (used > RING_SIZE) {
            /* xenstored claims to have read what we never wrote. */
            s->stats.bad_index++;
            used = RING_SIZE; /* trust nothing: treat the ring as full */
        }
        uint32_t space = RING_SIZE - used;
        if (space == 0) {
            /* Full: wait for xenstored, taking in what it sends meanwhile
             * (it may be waiting for us to make room on the other ring). */
            s->stats.ring_full_waits++;
            (void)xs_rx_pump(XS_PUMP_ALL);
            int rc = evtchn_wait();
            if (rc < 0)
                return rc;
            continue;
        }
        uint32_t offset = xenabi_xenstore_mask(s->req_prod);
        uint32_t chunk = min3(space, RING_SIZE - offset,
                              len > RING_SIZE ? RING_SIZE : (uint32_t)len);
        memcpy(intf->req + offset, from, chunk);
        s->req_prod += chunk;
        from += chunk;
        len -= chunk;
        /* Release: the bytes before the index that publishes them. */
        __atomic_store_n(&intf->req_prod, s->req_prod, __ATOMIC_RELEASE);
        (void)evtchn_notify(s->port);
    }
    return 0;
}

/* A header is complete: check it, then expect its payload. */
static bool start_payload(struct xs_rx *rx)
{
    memcpy(&rx->header, rx->header_bytes, sizeof(rx->header));
    rx->header_have = 0;
    if (rx->header.len > XENABI_XENSTORE_PAYLOAD_MAX)
        return false;
    rx->in_payload = true;
    rx->payload_have = 0;
    return true;
}

/* If a whole message is in, hand it on and start over with a header. */
static void finish_if_complete(struct xs_rx *rx)
{
    if (!rx->in_payload || rx->payload_have != rx->header.len)
        return;
    rx->in_payload = false;
    payload[rx->header.len] = '\0';
    xs_handle_message(&rx->header, payload);
}

bool xs_rx_pump(enum xs_pump_mode mode)
{
    struct xs_state *s = &xs_state;
    struct xenabi_xenstore_domain_interface *intf = s->intf;
    struct xs_rx *rx = &s->rx;
    bool left = false;
    if (intf == NULL)
        return false;
    uint32_t start = s->rsp_cons;

    /*
     * One read of xenstored's index per call; checked before use. No
     * second round: a xenstored that refills the ring as fast as it is
     * emptied would keep a loop here (and its caller) busy forever.
     */
    uint32_t prod = __atomic_load_n(&intf->rsp_prod, __ATOMIC_ACQUIRE);
    uint32_t avail = prod - s->rsp_cons;
    if (avail == 0)
        return false;
    if (avail > RING_SIZE) {
        /* More than the ring holds: a lie. Take nothing this time. */
        s->stats.bad_index++;
        return false;
    }

    while (avail > 0) {
        uint32_t offset = xenabi_xenstore_mask(s->rsp_cons);
        uint8_t *to;
        uint32_t want;
        if (rx->in_payload) {
            to = (uint8_t *)payload + rx->payload_have;
            want = rx->header.len - rx->payload_have;
        } else {
            if (rx->header_have == 0 && mode == XS_PUMP_POLL
                && s->event_count == XS_EVENT_QUEUE) {
                /* No room for another event: the rest waits in the ring. */
                s->stats.pump_stops++;
                left = true;
                break;
            }
            to = rx->header_bytes + rx->header_have;
            want = (uint32_t)sizeof(rx->header_bytes) - rx->header_have;
        }
        uint32_t n = min3(want, avail, RING_SIZE - offset);
        /* The only read of these bytes; everything later uses `to`. */
        xenabi_ring_copy_from_slot(to, intf->rsp + offset, n);
        s->rsp_cons += n;
        avail -= n;

        if (rx->in_payload) {
            rx->payload_have += n;
        } else {
            rx->header_have += n;
            if (rx->header_have < sizeof(rx->header_bytes))
                continue;
            if (!start_payload(rx)) {
                /*
                 * A length we cannot hold: where the next message
                 * starts is unknowable, so drop everything in the
                 * ring now and resynchronise on what comes next.
                 */
                s->stats.bad_length++;
                s->rsp_cons = prod;
                avail = 0;
                continue;
            }
        }
        finish_if_complete(rx);
    }

    if (s->rsp_cons != start) {
        /* Release: done reading before xenstored may overwrite. */
        __atomic_store_n(&intf->rsp_cons, s->rsp_cons, __ATOMIC_RELEASE);
        (void)evtchn_notify(s->port);
    }
    return left;
}
