/*
 * State of the xenstore client, shared by its source files.
 *
 * Trust boundary: `intf` is the page shared with xenstored. The client
 * keeps its own copies of the indices it owns (req_prod, rsp_cons) and
 * never reads them back; the indices xenstored owns (req_cons, rsp_prod)
 * are read once per use and checked; payload bytes are copied out once
 * into a private buffer and only that copy is parsed.
 */
#ifndef XENSTORE_INTERNAL_H
#define XENSTORE_INTERNAL_H

#include <xenstore/xenstore.h>

#include <xenabi/types.h>

/* One request waiting for its reply. */
struct xs_pending {
    bool in_use;
    bool done;
    uint32_t req_id;
    uint32_t type;     /* what we asked; the reply must match or be XS_ERROR */
    int result;        /* when done: 0 or -XENABI_E* */
    char *reply;       /* the caller's buffer for the payload, or NULL */
    size_t reply_cap;  /* bytes available at reply */
    size_t reply_len;  /* the payload's length (even if it did not fit) */
};

struct xs_watch_slot {
    bool in_use;
    bool lost;         /* an event of this watch was dropped: queue full */
    uint32_t gen;      /* part of the token: tells reused slots apart */
    xs_watch_fn fn;
    void *arg;
    char path[XS_WATCH_PATH_MAX + 1];
};

struct xs_event {
    uint32_t slot;
    uint32_t gen;
    char path[XENABI_XENSTORE_ABS_PATH_MAX + 1];
};

/*
 * The reply ring's reassembly: a header, then its payload (which goes to
 * a buffer of its own in ring.c, so that AddressSanitizer guards its
 * edges in host tests: its length is what xenstored says it is).
 */
struct xs_rx {
    uint8_t header_bytes[sizeof(struct xenabi_xsd_sockmsg)];
    uint32_t header_have;
    bool in_payload;
    struct xenabi_xsd_sockmsg header; /* valid while in_payload */
    uint32_t payload_have;
};

struct xs_state {
    struct xenabi_xenstore_domain_interface *intf; /* NULL until xs_init */
    xenabi_evtchn_port_t port;
    uint32_t req_prod; /* ours */
    uint32_t rsp_cons; /* ours */
    /*
     * A request was cut off halfway through (waiting for ring space
     * failed): xenstored would read our next request as its tail, so the
     * connection is unusable.
     */
    bool broken;
    uint32_t next_req_id;
    struct xs_rx rx;
    struct xs_pending pending[XS_MAX_INFLIGHT];
    struct xs_watch_slot watches[XS_MAX_WATCHES];
    struct xs_event events[XS_EVENT_QUEUE];
    unsigned event_head, event_count;
    bool delivering;
    char delivered_path[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    struct xs_stats stats;
};

extern struct xs_state xs_state;

/* ring.c: the byte rings. */
int xs_ring_write(const void *bytes, size_t len);

/*
 * Take in what the reply ring holds now: one read of rsp_prod, so at
 * most one ring's worth of bytes per call, however fast xenstored
 * writes (what it writes meanwhile comes with an event of its own).
 * XS_PUMP_ALL takes every message (a request waits for its reply behind
 * them; events beyond the queue are merged, see watch.c). XS_PUMP_POLL
 * stops before a message while the event queue is full, leaving it in
 * the ring (xenstored then waits for room): returns true when it left
 * input behind that way.
 */
enum xs_pump_mode { XS_PUMP_ALL, XS_PUMP_POLL };
bool xs_rx_pump(enum xs_pump_mode mode);

/* reply.c: a complete message from xenstored (header, payload copy). */
void xs_handle_message(const struct xenabi_xsd_sockmsg *header,
                       char *payload);

/* request.c: send one request and wait for its reply. */
struct xs_part {
    const void *bytes;
    size_t len;
};

int xs_request(uint32_t type, xs_tx_t tx, const struct xs_part *parts,
               unsigned nparts, char *reply, size_t reply_cap,
               size_t *reply_len);

/* watch.c: queue a validated watch event for delivery. */
void xs_queue_event(const char *path, size_t path_len, const char *token);

/* errors.c: the code for an XS_ERROR payload; 0 if the name is unknown. */
int xs_error_from_name(const char *name);

/* Strict unsigned decimal parse of a NUL-terminated string. */
bool xs_parse_u32(const char *s, uint32_t *out);

#endif /* XENSTORE_INTERNAL_H */
