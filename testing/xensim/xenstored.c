/*
 * The simulated xenstored: the server end of the guest's xenstore page.
 * It reads requests from the request ring as a byte stream (like the
 * guest, it copies each byte out once), answers from the store, and
 * writes replies and watch events to the reply ring through an outbox,
 * as ring space allows: a reply larger than the ring goes out in pieces
 * as the guest consumes.
 *
 * Faults (sim_xs_fault) bend the next reply, so tests can show what the
 * guest does with a lying server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hypervisor/hypervisor.h>

#include "internal.h"

#define RING XENABI_XENSTORE_RING_SIZE
#define HEADER sizeof(struct xenabi_xsd_sockmsg)

enum item_kind {
    ITEM_BYTES,
    ITEM_PROD_AHEAD, /* publish a bogus rsp_prod for one round */
};

struct item {
    enum item_kind kind;
    uint8_t *bytes;
    size_t len, sent;
    bool alone; /* written in a round of its own */
};

struct queue {
    struct item *items;
    size_t head, count, cap;
};

static struct {
    struct xenabi_xenstore_domain_interface *intf;
    xenabi_pfn_t gfn;
    uint32_t port;
    uint32_t req_cons, rsp_prod; /* ours */
    bool dead;                   /* the guest broke the stream */
    /* request reassembly */
    uint8_t header_bytes[HEADER];
    uint32_t header_have;
    bool in_payload;
    struct xenabi_xsd_sockmsg header;
    uint32_t payload_have;
    char payload[XENABI_XENSTORE_PAYLOAD_MAX + 1];
    /* output */
    struct queue outbox;
    struct queue deferred; /* events raised while answering a request */
    bool handling;
    /* misbehaviour */
    uint32_t pause;
    enum sim_xs_fault fault;
    bool req_cons_fault;
    bool rsp_prod_bogus, req_cons_bogus;
    struct {
        bool on; /* until every flood event is in the ring */
        char prefix[128], token[32];
        uint64_t count, queued;
    } flood;
    struct sim_xs_stats stats;
} xs;

/* ---- the outbox ---------------------------------------------------------------- */

static void push(struct queue *q, struct item item)
{
    if (q->head + q->count == q->cap) {
        if (q->head > 0) {
            memmove(q->items, q->items + q->head, q->count * sizeof(*q->items));
            q->head = 0;
        } else {
            q->cap = q->cap ? q->cap * 2 : 16;
            q->items = realloc(q->items, q->cap * sizeof(*q->items));
            if (q->items == NULL)
                sim_fatal("out of memory");
        }
    }
    q->items[q->head + q->count++] = item;
}

static void pop(struct queue *q)
{
    free(q->items[q->head].bytes);
    q->head++;
    q->count--;
}

static void clear(struct queue *q)
{
    while (q->count > 0)
        pop(q);
    free(q->items);
    *q = (struct queue){0};
}

static struct item message(uint32_t type, uint32_t req_id, uint32_t tx_id,
                           const void *payload, uint32_t len, bool alone)
{
    struct xenabi_xsd_sockmsg h = {type, req_id, tx_id, len};
    uint8_t *bytes = malloc(HEADER + len);
    if (bytes == NULL)
        sim_fatal("out of memory");
    memcpy(bytes, &h, HEADER);
    if (len > 0)
        memcpy(bytes + HEADER, payload, len);
    return (struct item){ITEM_BYTES, bytes, HEADER + len, 0, alone};
}

void sim_xs_inject(uint32_t type, uint32_t req_id, const void *payload,
                   uint32_t len)
{
    push(&xs.outbox, message(type, req_id, 0, payload, len, true));
}

void sim_xs_inject_raw(const void *bytes, size_t len)
{
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        sim_fatal("out of memory");
    memcpy(copy, bytes, len);
    push(&xs.outbox, (struct item){ITEM_BYTES, copy, len, 0, true});
}

void sim_xenstored_queue_event(const char *path, const char *token)
{
    size_t p = strlen(path) + 1, t = strlen(token) + 1;
    char *payload = malloc(p + t);
    if (payload == NULL)
        sim_fatal("out of memory");
    memcpy(payload, path, p);
    memcpy(payload + p, token, t);
    struct item item = message(XENABI_XS_WATCH_EVENT, 0, 0, payload,
                               (uint32_t)(p + t), false);
    free(payload);
    push(xs.handling ? &xs.deferred : &xs.outbox, item);
    xs.stats.events++;
}

/* ---- replies, bent by the armed fault ------------------------------------------- */

static void reply(uint32_t type, const void *payload, uint32_t len)
{
    const struct xenabi_xsd_sockmsg *req = &xs.header;
    struct queue *out = &xs.outbox;
    enum sim_xs_fault fault = xs.fault;
    bool is_ack = len == 3 && memcmp(payload, "OK", 3) == 0;
    if (fault == SIM_XS_BAD_ACK && !is_ack)
        fault = SIM_XS_FAULT_NONE; /* stays armed for an ack */
    else
        xs.fault = SIM_XS_FAULT_NONE;
    xs.stats.replies++;

    switch (fault) {
    case SIM_XS_DUPLICATE:
        push(out, message(type, req->req_id, req->tx_id, payload, len, false));
        break;
    case SIM_XS_UNKNOWN_ID:
        push(out, message(type, req->req_id ^ 0x40000000u, req->tx_id,
                          payload, len, false));
        break;
    case SIM_XS_GARBAGE_TYPE:
        push(out, message(0xdead, req->req_id, req->tx_id, payload, len,
                          false));
        break;
    case SIM_XS_WRONG_TYPE: {
        uint32_t other = type == XENABI_XS_DIRECTORY ? XENABI_XS_READ
                                                     : XENABI_XS_DIRECTORY;
        push(out, message(other, req->req_id, req->tx_id, "", 1, false));
        break;
    }
    case SIM_XS_HUGE_LEN: {
        struct xenabi_xsd_sockmsg h = {type, req->req_id, req->tx_id,
                                       XENABI_XENSTORE_PAYLOAD_MAX + 1};
        uint8_t bytes[HEADER + 8];
        memcpy(bytes, &h, HEADER);
        memset(bytes + HEADER, 'x', 8);
        sim_xs_inject_raw(bytes, sizeof(bytes));
        push(out, message(type, req->req_id, req->tx_id, payload, len, true));
        return;
    }
    case SIM_XS_PROD_AHEAD:
        push(out, (struct item){.kind = ITEM_PROD_AHEAD, .alone = true});
        push(out, message(type, req->req_id, req->tx_id, payload, len, true));
        return;
    case SIM_XS_BAD_ACK:
        push(out, message(type, req->req_id, req->tx_id, "NO", 3, false));
        return;
    case SIM_XS_BAD_ERROR:
        push(out, message(XENABI_XS_ERROR, req->req_id, req->tx_id,
                          "EWHATEVER", 10, false));
        return;
    case SIM_XS_GARBLE:
        push(out, message(type, req->req_id, req->tx_id, "12ab", 4, false));
        return;
    case SIM_XS_DROP:
        return;
    default:
        break;
    }
    push(out, message(type, req->req_id, req->tx_id, payload, len, false));
}

static const char *error_name(int err)
{
    switch (-err) {
    case XENABI_ENOENT: return "ENOENT";
    case XENABI_EAGAIN: return "EAGAIN";
    case XENABI_EEXIST: return "EEXIST";
    case XENABI_ENOSPC: return "ENOSPC";
    case XENABI_E2BIG: return "E2BIG";
    case XENABI_EACCES: return "EACCES";
    default: return "EINVAL";
    }
}

static void reply_error(int err)
{
    const char *name = error_name(err);
    reply(XENABI_XS_ERROR, name, (uint32_t)strlen(name) + 1);
}

static void reply_ok(void)
{
    reply(xs.header.type, "OK", 3);
}

/* ---- requests -------------------------------------------------------------------- */

/* The first NUL-terminated string of the payload, resolved; NULL if none. */
static const char *path_arg(char *buf, size_t size, size_t *consumed)
{
    size_t len = strnlen(xs.payload, xs.header.len);
    if (len == xs.header.len)
        return NULL; /* not terminated inside the payload */
    *consumed = len + 1;
    return sim_store_abspath(xs.payload, buf, size);
}

static void handle_request(void)
{
    const struct xenabi_xsd_sockmsg *h = &xs.header;
    char buf[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    static char value[XENABI_XENSTORE_PAYLOAD_MAX];
    size_t used = 0;
    size_t len;
    int rc;

    xs.stats.requests++;
    switch (h->type) {
    case XENABI_XS_READ:
    case XENABI_XS_WRITE:
    case XENABI_XS_MKDIR:
    case XENABI_XS_RM:
    case XENABI_XS_SET_PERMS:
    case XENABI_XS_DIRECTORY: {
        const char *abs = path_arg(buf, sizeof(buf), &used);
        if (abs == NULL) {
            reply_error(-XENABI_EINVAL);
            return;
        }
        switch (h->type) {
        case XENABI_XS_READ:
            rc = sim_store_read(h->tx_id, abs, value, sizeof(value), &len);
            if (rc == 0)
                reply(XENABI_XS_READ, value, (uint32_t)len);
            break;
        case XENABI_XS_WRITE:
            /* The value is the rest of the payload, without a NUL. */
            rc = sim_store_write(h->tx_id, abs, xs.payload + used,
                                 h->len - used);
            if (rc == 0)
                reply_ok();
            break;
        case XENABI_XS_MKDIR:
            rc = sim_store_mkdir(h->tx_id, abs);
            if (rc == 0)
                reply_ok();
            break;
        case XENABI_XS_RM:
            rc = sim_store_rm(h->tx_id, abs);
            if (rc == 0)
                reply_ok();
            break;
        case XENABI_XS_SET_PERMS:
            /* The node must exist and the list be entries ending in NUL;
             * permissions themselves are not modelled (every domain of
             * the simulation may read everything). */
            rc = sim_store_read(h->tx_id, abs, value, sizeof(value), &len);
            if (rc == 0 && (h->len == used || xs.payload[h->len - 1] != '\0'))
                rc = -XENABI_EINVAL;
            if (rc == 0) {
                xs.stats.perms_set++;
                reply_ok();
            }
            break;
        default: /* XENABI_XS_DIRECTORY */
            rc = sim_store_directory(h->tx_id, abs, value, sizeof(value));
            if (rc >= 0) {
                reply(XENABI_XS_DIRECTORY, value, (uint32_t)rc);
                rc = 0;
            }
            break;
        }
        if (rc < 0)
            reply_error(rc);
        return;
    }
    case XENABI_XS_WATCH:
    case XENABI_XS_UNWATCH: {
        size_t plen = strnlen(xs.payload, h->len);
        const char *token = xs.payload + plen + 1;
        if (plen == h->len || plen + 1 >= h->len
            || strnlen(token, h->len - plen - 1) != h->len - plen - 2) {
            reply_error(-XENABI_EINVAL);
            return;
        }
        rc = h->type == XENABI_XS_WATCH
                 ? sim_store_watch_guest(xs.payload, token)
                 : sim_store_unwatch_guest(xs.payload, token);
        if (rc < 0)
            reply_error(rc);
        else
            reply_ok();
        return;
    }
    case XENABI_XS_TRANSACTION_START: {
        uint32_t id;
        rc = sim_store_tx_start(&id);
        if (rc < 0) {
            reply_error(rc);
            return;
        }
        int n = snprintf(value, sizeof(value), "%u", (unsigned)id);
        reply(XENABI_XS_TRANSACTION_START, value, (uint32_t)n + 1);
        return;
    }
    case XENABI_XS_TRANSACTION_END: {
        bool commit = h->len == 2 && memcmp(xs.payload, "T", 2) == 0;
        bool abort = h->len == 2 && memcmp(xs.payload, "F", 2) == 0;
        if (!commit && !abort) {
            reply_error(-XENABI_EINVAL);
            return;
        }
        rc = sim_store_tx_end(h->tx_id, commit);
        if (rc < 0)
            reply_error(rc);
        else
            reply_ok();
        return;
    }
    default:
        reply_error(-XENABI_EINVAL);
        return;
    }
}

/* A complete request: answer it, then the events it raised. */
static void dispatch(void)
{
    xs.handling = true;
    handle_request();
    xs.handling = false;
    while (xs.deferred.count > 0) {
        struct item *it = &xs.deferred.items[xs.deferred.head];
        push(&xs.outbox, *it);
        it->bytes = NULL; /* moved */
        pop(&xs.deferred);
    }
}

static bool read_requests(void)
{
    struct xenabi_xenstore_domain_interface *intf = xs.intf;
    if (xs.dead)
        return false;
    uint32_t prod = __atomic_load_n(&intf->req_prod, __ATOMIC_ACQUIRE);
    uint32_t avail = prod - xs.req_cons;
    if (avail > RING) {
        sim_violation("req_prod %u is %u bytes ahead of req_cons %u: the "
                      "guest overwrote unread requests",
                      prod, avail, xs.req_cons);
        xs.dead = true;
        return false;
    }
    if (avail > xs.stats.max_req_fill)
        xs.stats.max_req_fill = avail;
    if (avail == 0)
        return false;

    while (avail > 0) {
        uint32_t off = xs.req_cons & (RING - 1);
        uint8_t *to;
        uint32_t want;
        if (xs.in_payload) {
            to = (uint8_t *)xs.payload + xs.payload_have;
            want = xs.header.len - xs.payload_have;
        } else {
            to = xs.header_bytes + xs.header_have;
            want = (uint32_t)HEADER - xs.header_have;
        }
        uint32_t n = want;
        if (n > avail)
            n = avail;
        if (n > RING - off)
            n = RING - off;
        memcpy(to, intf->req + off, n);
        xs.req_cons += n;
        avail -= n;
        if (xs.in_payload) {
            xs.payload_have += n;
        } else {
            xs.header_have += n;
            if (xs.header_have < HEADER)
                continue;
            memcpy(&xs.header, xs.header_bytes, HEADER);
            xs.header_have = 0;
            if (xs.header.len > XENABI_XENSTORE_PAYLOAD_MAX) {
                sim_violation("request of %u bytes (limit %d)",
                              xs.header.len, XENABI_XENSTORE_PAYLOAD_MAX);
                xs.dead = true;
                return true;
            }
            xs.in_payload = true;
            xs.payload_have = 0;
        }
        if (xs.in_payload && xs.payload_have == xs.header.len) {
            xs.in_payload = false;
            xs.payload[xs.header.len] = '\0';
            dispatch();
        }
    }
    __atomic_store_n(&intf->req_cons, xs.req_cons, __ATOMIC_RELEASE);
    sim_evtchn_notify(xs.port);
    return true;
}

static bool flush_outbox(void)
{
    struct xenabi_xenstore_domain_interface *intf = xs.intf;
    uint32_t cons = __atomic_load_n(&intf->rsp_cons, __ATOMIC_ACQUIRE);
    uint32_t used = xs.rsp_prod - cons;
    if (used > RING) {
        sim_violation("rsp_cons %u is beyond rsp_prod %u", cons, xs.rsp_prod);
        xs.dead = true;
        return false;
    }
    uint32_t space = RING - used;
    bool wrote = false;

    while (xs.outbox.count > 0) {
        struct item *it = &xs.outbox.items[xs.outbox.head];
        if (it->alone && wrote)
            break;
        if (it->kind == ITEM_PROD_AHEAD) {
            __atomic_store_n(&intf->rsp_prod, cons + 2000, __ATOMIC_RELEASE);
            xs.rsp_prod_bogus = true;
            pop(&xs.outbox);
            sim_evtchn_notify(xs.port);
            return true;
        }
        while (it->sent < it->len && space > 0) {
            uint32_t off = xs.rsp_prod & (RING - 1);
            size_t n = it->len - it->sent;
            if (n > space)
                n = space;
            if (n > RING - off)
                n = RING - off;
            memcpy(intf->rsp + off, it->bytes + it->sent, n);
            it->sent += n;
            xs.rsp_prod += (uint32_t)n;
            space -= (uint32_t)n;
            wrote = true;
        }
        if (it->sent < it->len)
            break; /* ring full: the rest when the guest has read */
        bool alone = it->alone;
        pop(&xs.outbox);
        if (alone)
            break;
    }
    if (wrote) {
        __atomic_store_n(&intf->rsp_prod, xs.rsp_prod, __ATOMIC_RELEASE);
        sim_evtchn_notify(xs.port);
    }
    return wrote;
}

bool sim_xenstored_round(void)
{
    struct xenabi_xenstore_domain_interface *intf = xs.intf;
    bool progress = false;

    /* Last round's lies are taken back first. */
    if (xs.rsp_prod_bogus) {
        __atomic_store_n(&intf->rsp_prod, xs.rsp_prod, __ATOMIC_RELEASE);
        xs.rsp_prod_bogus = false;
        progress = true;
    }
    if (xs.req_cons_bogus) {
        __atomic_store_n(&intf->req_cons, xs.req_cons, __ATOMIC_RELEASE);
        xs.req_cons_bogus = false;
        sim_evtchn_notify(xs.port);
        progress = true;
    }
    if (xs.req_cons_fault) {
        uint32_t prod = __atomic_load_n(&intf->req_prod, __ATOMIC_ACQUIRE);
        __atomic_store_n(&intf->req_cons, prod + 64, __ATOMIC_RELEASE);
        xs.req_cons_fault = false;
        xs.req_cons_bogus = true;
        sim_evtchn_notify(xs.port);
        return true;
    }
    if (xs.pause > 0) {
        if (xs.pause == SIM_FOREVER)
            return progress; /* stalled: no progress, ever */
        xs.pause--;
        return true;
    }
    progress |= read_requests();
    progress |= flush_outbox();
    return progress;
}

void sim_xs_pause(uint32_t rounds)
{
    xs.pause = rounds;
}

void sim_xs_fault(enum sim_xs_fault fault)
{
    if (fault == SIM_XS_REQ_CONS_AHEAD)
        xs.req_cons_fault = true;
    else
        xs.fault = fault;
}

void sim_xs_get_stats(struct sim_xs_stats *out)
{
    *out = xs.stats;
}

xenabi_pfn_t sim_xenstored_frame(void)
{
    return xs.gfn;
}

/* Bytes the outbox holds that are not in the ring yet. */
static size_t outbox_bytes(void)
{
    size_t n = 0;
    for (size_t i = 0; i < xs.outbox.count; i++) {
        const struct item *it = &xs.outbox.items[xs.outbox.head + i];
        n += it->len - it->sent;
    }
    return n;
}

/* Top the outbox up to a ring's worth of flood events, and send. */
static void flood_refill(void)
{
    while (xs.flood.queued < xs.flood.count && outbox_bytes() < RING) {
        char path[160];
        snprintf(path, sizeof(path), "%s/%llu", xs.flood.prefix,
                 (unsigned long long)xs.flood.queued);
        size_t p = strlen(path) + 1, t = strlen(xs.flood.token) + 1;
        char payload[sizeof(path) + sizeof(xs.flood.token)];
        memcpy(payload, path, p);
        memcpy(payload + p, xs.flood.token, t);
        push(&xs.outbox, message(XENABI_XS_WATCH_EVENT, 0, 0, payload,
                                 (uint32_t)(p + t), false));
        xs.flood.queued++;
    }
    (void)flush_outbox();
    if (xs.flood.queued == xs.flood.count && outbox_bytes() == 0) {
        xs.flood.on = false;
        sim_evtchn_set_eager(xs.port, false); /* done: back to rounds */
    }
}

void sim_xs_flood(const char *prefix, const char *token, uint64_t count)
{
    snprintf(xs.flood.prefix, sizeof(xs.flood.prefix), "%s", prefix);
    snprintf(xs.flood.token, sizeof(xs.flood.token), "%s", token);
    xs.flood.count = count;
    xs.flood.queued = 0;
    xs.flood.on = true;
    sim_evtchn_set_eager(xs.port, true);
    flood_refill();
}

uint64_t sim_xs_flood_sent(void)
{
    /* Queued minus what still waits in the outbox, in whole events. */
    uint64_t waiting = 0;
    for (size_t i = 0; i < xs.outbox.count; i++)
        waiting += xs.outbox.items[xs.outbox.head + i].sent == 0;
    return xs.flood.queued - waiting;
}

static void store_kick(uint32_t port, void *arg)
{
    (void)port;
    (void)arg; /* every round reads the ring anyway */
    if (xs.flood.on)
        flood_refill(); /* at once: the guest made room */
}

void sim_xenstored_reset(void)
{
    clear(&xs.outbox);
    clear(&xs.deferred);
    memset(&xs, 0, sizeof(xs));
    xs.intf = sim_alloc_guest_page(&xs.gfn);
    xs.port = sim_evtchn_bind_store(store_kick, NULL);
}
