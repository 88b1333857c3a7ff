/*
 * xenabi/ring.h - the request/response ring of the split-driver protocols
 * (netif, blkif and most other PV devices; the console and xenstore use
 * byte rings instead), and the code to drive one from either end.
 *
 * One shared page (or 2^n pages) holds a 64-byte header followed by an
 * array of slots. The frontend writes requests into slots and advances
 * req_prod; the backend consumes them and writes each response into a
 * slot it has already consumed, advancing rsp_prod. A slot is as large
 * as the larger of the request and the response. Indices run freely
 * (uint32_t, wrapping) and are reduced modulo the slot count, which is
 * the largest power of two that fits:
 *
 *     slots = pow2_floor((ring bytes - 64) / slot bytes)
 *
 * Notification: a producer signals the peer's event channel only when
 * the peer asked for it, i.e. when the new producer index passed the
 * peer's *_event index ("tell me when index N has been produced"). A
 * consumer that runs out of work sets *_event to one past what it
 * consumed, then looks again, so nothing produced in between is missed.
 *
 * Everything the peer writes is untrusted: the helpers below read each
 * shared index once and refuse impossible values, and copy slots out of
 * the ring before use (xenabi_ring_copy_from_slot).
 */
#ifndef XENABI_RING_H
#define XENABI_RING_H

#include <stdbool.h>
#include <xenabi/types.h>

typedef uint32_t xenabi_ring_idx_t;

struct xenabi_sring_header {
    xenabi_ring_idx_t req_prod;  /* written by the frontend */
    xenabi_ring_idx_t req_event; /* written by the backend */
    xenabi_ring_idx_t rsp_prod;  /* written by the backend */
    xenabi_ring_idx_t rsp_event; /* written by the frontend */
    uint8_t pvt[4];              /* protocol-private; zero for us */
    uint8_t pad[44];
};
XENABI_ASSERT_SIZE(struct xenabi_sring_header, 64);
XENABI_ASSERT_OFFSET(struct xenabi_sring_header, req_prod, 0);
XENABI_ASSERT_OFFSET(struct xenabi_sring_header, req_event, 4);
XENABI_ASSERT_OFFSET(struct xenabi_sring_header, rsp_prod, 8);
XENABI_ASSERT_OFFSET(struct xenabi_sring_header, rsp_event, 12);
XENABI_ASSERT_OFFSET(struct xenabi_sring_header, pvt, 16);
XENABI_ASSERT_OFFSET(struct xenabi_sring_header, pad, 20);

/* Largest power of two <= n (n < 2^32), 0 for 0; a constant expression. */
#define XENABI_POW2_FLOOR(n) \
    ((n) == 0 ? 0u : 1u << (31 - __builtin_clz((unsigned int)(n))))

/* Slot count of a ring of ring_bytes bytes (header included). */
#define XENABI_RING_SLOTS(ring_bytes, slot_bytes) \
    XENABI_POW2_FLOOR(((ring_bytes) - sizeof(struct xenabi_sring_header)) \
                      / (slot_bytes))

/*
 * Ordering against the peer (another domain, maybe running right now on
 * another CPU). wmb: our writes to slots before the index that publishes
 * them.
 */
static inline void xenabi_ring_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/* rmb: the index we read before the slots it covers. */
static inline void xenabi_ring_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* mb: our store of one index before our load of the peer's. */
static inline void xenabi_ring_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline xenabi_ring_idx_t
xenabi_ring_read_idx(const xenabi_ring_idx_t *shared)
{
    return __atomic_load_n(shared, __ATOMIC_RELAXED);
}

static inline void xenabi_ring_write_idx(xenabi_ring_idx_t *shared,
                                         xenabi_ring_idx_t value)
{
    __atomic_store_n(shared, value, __ATOMIC_RELAXED);
}

/*
 * Copy a slot out of shared memory exactly once: the volatile reads keep
 * the compiler from re-reading the peer's bytes after they were checked.
 */
static inline void xenabi_ring_copy_from_slot(void *dst, const void *slot,
                                              size_t bytes)
{
    const volatile uint8_t *from = slot;
    uint8_t *to = dst;
    for (size_t i = 0; i < bytes; i++)
        to[i] = from[i];
}

/* True when moving a producer from old_prod to new_prod crossed event. */
static inline bool xenabi_ring_event_crossed(xenabi_ring_idx_t old_prod,
                                             xenabi_ring_idx_t new_prod,
                                             xenabi_ring_idx_t event)
{
    return (xenabi_ring_idx_t)(new_prod - event)
           < (xenabi_ring_idx_t)(new_prod - old_prod);
}

/*
 * Our side of a ring. The same structure serves both ends: a frontend
 * produces requests and consumes responses, a backend the reverse.
 */
struct xenabi_ring {
    struct xenabi_sring_header *shared;
    uint8_t *slots;            /* first slot, right after the header */
    uint32_t nr_slots;         /* a power of two */
    uint32_t slot_bytes;
    xenabi_ring_idx_t prod;    /* next slot we will fill (private) */
    xenabi_ring_idx_t cons;    /* next slot we will read (private) */
};

static inline void *xenabi_ring_slot(const struct xenabi_ring *r,
                                     xenabi_ring_idx_t idx)
{
    return r->slots + (size_t)(idx & (r->nr_slots - 1)) * r->slot_bytes;
}

/* Attach to an initialised ring; ring_bytes must hold at least one slot. */
static inline void xenabi_ring_attach(struct xenabi_ring *r, void *page,
                                      size_t ring_bytes, size_t slot_bytes)
{
    r->shared = page;
    r->slots = (uint8_t *)page + sizeof(struct xenabi_sring_header);
    r->nr_slots = XENABI_RING_SLOTS(ring_bytes, slot_bytes);
    r->slot_bytes = (uint32_t)slot_bytes;
    r->prod = 0;
    r->cons = 0;
}

/* Frontend: set up a fresh ring in a zeroed page, before granting it. */
static inline void xenabi_front_ring_init(struct xenabi_ring *r, void *page,
                                          size_t ring_bytes, size_t slot_bytes)
{
    struct xenabi_sring_header *s = page;
    s->req_prod = 0;
    s->rsp_prod = 0;
    s->req_event = 1;
    s->rsp_event = 1;
    for (size_t i = 0; i < sizeof(s->pvt); i++)
        s->pvt[i] = 0;
    for (size_t i = 0; i < sizeof(s->pad); i++)
        s->pad[i] = 0;
    xenabi_ring_attach(r, page, ring_bytes, slot_bytes);
}

/* Frontend: request slots free (a request's slot is reused by its response). */
static inline uint32_t xenabi_front_ring_free(const struct xenabi_ring *r)
{
    return r->nr_slots - (r->prod - r->cons);
}

/*
 * Frontend: publish the requests written into slots since the last push
 * (up to r->prod). Returns true if the backend must be notified.
 */
static inline bool xenabi_front_ring_push(struct xenabi_ring *r)
{
    xenabi_ring_idx_t old_prod = xenabi_ring_read_idx(&r->shared->req_prod);
    xenabi_ring_wmb(); /* the requests before the index that publishes them */
    xenabi_ring_write_idx(&r->shared->req_prod, r->prod);
    xenabi_ring_mb(); /* the index before reading the backend's req_event */
    xenabi_ring_idx_t event = xenabi_ring_read_idx(&r->shared->req_event);
    return xenabi_ring_event_crossed(old_prod, r->prod, event);
}

/*
 * Frontend: responses ready to read, or -1 if the backend claims more than
 * we have outstanding (a broken or hostile backend: stop using the ring).
 */
static inline int64_t xenabi_front_ring_pending(const struct xenabi_ring *r)
{
    xenabi_ring_idx_t rsp_prod = xenabi_ring_read_idx(&r->shared->rsp_prod);
    xenabi_ring_rmb(); /* the index before the responses it covers */
    xenabi_ring_idx_t ready = rsp_prod - r->cons;
    /* Our private producer: the shared req_prod is writable by the
     * backend too, so it cannot bound what the backend may claim. */
    xenabi_ring_idx_t outstanding = r->prod - r->cons;
    if (ready > outstanding)
        return -1;
    return ready;
}

/*
 * Frontend, after consuming everything: ask for an event at the next
 * response, then look once more. Returns what xenabi_front_ring_pending
 * returns; 0 means it is safe to sleep.
 */
static inline int64_t xenabi_front_ring_final_check(struct xenabi_ring *r)
{
    int64_t ready = xenabi_front_ring_pending(r);
    if (ready != 0)
        return ready;
    xenabi_ring_write_idx(&r->shared->rsp_event, r->cons + 1);
    xenabi_ring_mb();
    return xenabi_front_ring_pending(r);
}

/*
 * Backend: requests ready to read, or -1 if the frontend claims more than
 * the ring can hold.
 */
static inline int64_t xenabi_back_ring_pending(const struct xenabi_ring *r)
{
    xenabi_ring_idx_t req_prod = xenabi_ring_read_idx(&r->shared->req_prod);
    xenabi_ring_rmb();
    xenabi_ring_idx_t ready = req_prod - r->cons;
    /* Unanswered requests (cons - prod) plus new ones must fit the ring. */
    if (ready > r->nr_slots - (r->cons - r->prod))
        return -1;
    return ready;
}

/* Backend: publish responses written since the last push; true = notify. */
static inline bool xenabi_back_ring_push(struct xenabi_ring *r)
{
    xenabi_ring_idx_t old_prod = xenabi_ring_read_idx(&r->shared->rsp_prod);
    xenabi_ring_wmb();
    xenabi_ring_write_idx(&r->shared->rsp_prod, r->prod);
    xenabi_ring_mb();
    xenabi_ring_idx_t event = xenabi_ring_read_idx(&r->shared->rsp_event);
    return xenabi_ring_event_crossed(old_prod, r->prod, event);
}

/* Backend, after consuming everything: as xenabi_front_ring_final_check. */
static inline int64_t xenabi_back_ring_final_check(struct xenabi_ring *r)
{
    int64_t ready = xenabi_back_ring_pending(r);
    if (ready != 0)
        return ready;
    xenabi_ring_write_idx(&r->shared->req_event, r->cons + 1);
    xenabi_ring_mb();
    return xenabi_back_ring_pending(r);
}

#endif /* XENABI_RING_H */
