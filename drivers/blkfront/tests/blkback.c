/*
 * The simulated blkback (see blkback.h). Plays dom0 through the
 * simulator's backend-side API only: xenstore writes, grant maps and
 * event channels, as a real backend domain would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenabi/blkif.h>
#include <xenabi/grant_table.h>
#include <xenabi/ring.h>
#include <xenabi/xenbus.h>
#include <xensim/sim.h>

#include "blkback.h"

struct blkback {
    char fe[128], be[128];
    uint8_t *disk;
    uint64_t sectors;
    unsigned flags;
    int state;
    bool held, close_requested;
    enum blkback_fault fault;
    uint32_t ring_refs[8];
    unsigned nr_refs;
    void *ring_page;
    struct xenabi_ring ring;
    uint32_t port;
    struct xenabi_blkif_response last;
    struct blkback_stats stats;
    /* BLKBACK_KEEP_MAPS: what it did not unmap. */
    struct kept {
        uint32_t ref;
        bool readonly;
        uint8_t *page;
    } *kept;
    unsigned nr_kept, kept_cap;
    /* BLKBACK_WHOLE_PAGE: every write's page, whole, as it read them. */
    uint8_t *seen;
    size_t seen_len;
    blkback_rewrite_fn rewrite;
    void *rewrite_arg;
    struct xenabi_blkif_response injected[8];
    unsigned nr_injected;
};

static void node(const char *dir, const char *key, const char *value)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    sim_xs_write(path, value);
}

static long front_u32(const struct blkback *b, const char *key)
{
    char path[200], value[32];
    snprintf(path, sizeof(path), "%s/%s", b->fe, key);
    if (sim_xs_read(path, value, sizeof(value)) <= 0)
        return -1;
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    return *end == '\0' && v <= UINT32_MAX ? (long)v : -1;
}

static void set_state(struct blkback *b, int s)
{
    char v[8];
    snprintf(v, sizeof(v), "%d", s);
    b->state = s;
    node(b->be, "state", v);
}

static void no_op(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static void unmap_ring(struct blkback *b)
{
    for (unsigned i = 0; i < b->nr_refs; i++)
        sim_gnttab_unmap(b->ring_refs[i], false);
    b->nr_refs = 0;
    b->ring_page = NULL;
}

/* Map the ring: "ring-ref", or "ring-page-order" and "ring-ref<i>". */
static bool map_ring(struct blkback *b)
{
    long order = front_u32(b, "ring-page-order");
    unsigned pages = 1;
    if (order >= 0) {
        if (!(b->flags & BLKBACK_MULTI_PAGE) || order > 3)
            return false;
        pages = 1u << order;
    }
    for (unsigned i = 0; i < pages; i++) {
        char key[24];
        if (order >= 0)
            snprintf(key, sizeof(key), "ring-ref%u", i);
        else
            snprintf(key, sizeof(key), "ring-ref");
        long ref = front_u32(b, key);
        void *page;
        if (ref < 0
            || sim_gnttab_map((uint32_t)ref, false, &page)
                   != XENABI_GNTST_OKAY) {
            unmap_ring(b);
            return false;
        }
        b->ring_refs[b->nr_refs++] = (uint32_t)ref;
        if (i == 0)
            b->ring_page = page;
        /* Dom0 would map the pages side by side; the simulator hands
         * out the guest's own pages, contiguous if the guest's are. */
        if ((uint8_t *)page != (uint8_t *)b->ring_page + i * XENABI_PAGE_SIZE)
            abort();
    }
    xenabi_ring_attach(&b->ring, b->ring_page,
                       (size_t)pages * XENABI_PAGE_SIZE,
                       sizeof(union xenabi_blkif_slot));
    b->stats.ring_pages = pages;
    return true;
}

static bool connect(struct blkback *b)
{
    long port = front_u32(b, "event-channel");
    if (port < 0 || !map_ring(b))
        return false;
    if (sim_evtchn_bind((uint32_t)port, no_op, b, &b->port) != 0) {
        unmap_ring(b);
        return false;
    }
    b->stats.connects++;
    return true;
}

static void disconnect(struct blkback *b)
{
    unmap_ring(b);
    if (b->port != 0)
        sim_evtchn_close(b->port);
    b->port = 0;
}

bool blkback_keeps(const struct blkback *b, const void *page)
{
    uintptr_t p = (uintptr_t)page & ~(uintptr_t)(XENABI_PAGE_SIZE - 1);
    for (unsigned i = 0; i < b->nr_kept; i++)
        if ((uintptr_t)b->kept[i].page == p)
            return true;
    return false;
}

/* Map a request's grant; with KEEP_MAPS the mapping is kept, not undone
 * by unmap_request. */
static int map_request(struct blkback *b, uint32_t ref, bool readonly,
                       void **page)
{
    int rc = sim_gnttab_map(ref, readonly, page);
    if (rc != XENABI_GNTST_OKAY)
        return rc;
    if (blkback_keeps(b, *page))
        b->stats.kept_reused++;
    if (b->flags & BLKBACK_KEEP_MAPS) {
        if (b->nr_kept == b->kept_cap) {
            b->kept_cap = b->kept_cap != 0 ? 2 * b->kept_cap : 16;
            b->kept = realloc(b->kept, b->kept_cap * sizeof(*b->kept));
            if (b->kept == NULL)
                abort();
        }
        b->kept[b->nr_kept++] = (struct kept){ref, readonly, *page};
    }
    return rc;
}

static void unmap_request(struct blkback *b, uint32_t ref, bool readonly)
{
    if (!(b->flags & BLKBACK_KEEP_MAPS))
        sim_gnttab_unmap(ref, readonly);
}

/* BLKBACK_WHOLE_PAGE: touch what lies outside the segment's sectors. */
static void whole_page(struct blkback *b, uint8_t *page, unsigned from,
                       unsigned to, bool write)
{
    if (write) {
        b->seen = realloc(b->seen, b->seen_len + XENABI_PAGE_SIZE);
        if (b->seen == NULL)
            abort();
        memcpy(b->seen + b->seen_len, page, XENABI_PAGE_SIZE);
        b->seen_len += XENABI_PAGE_SIZE;
    } else {
        memset(page, BLKBACK_WHOLE_PAGE_FILL, from);
        memset(page + to, BLKBACK_WHOLE_PAGE_FILL, XENABI_PAGE_SIZE - to);
    }
}

/* Move the bytes of one read or write; the response status. */
#define INDIRECT_MAX 32

static int16_t do_io(struct blkback *b,
                     const struct xenabi_blkif_request_segment *segs,
                     unsigned nr, uint64_t sector, bool write)
{
    uint64_t pos = sector;
    for (unsigned i = 0; i < nr; i++) {
        const struct xenabi_blkif_request_segment *s = &segs[i];
        if (s->first_sect > s->last_sect || s->last_sect > 7)
            return XENABI_BLKIF_RSP_ERROR;
        uint64_t n = (uint64_t)(s->last_sect - s->first_sect + 1);
        if (pos > b->sectors || n > b->sectors - pos)
            return XENABI_BLKIF_RSP_ERROR;
        void *page;
        if (map_request(b, s->gref, write, &page) != XENABI_GNTST_OKAY)
            return XENABI_BLKIF_RSP_ERROR;
        b->stats.maps++;
        uint8_t *mem = (uint8_t *)page + s->first_sect * 512u;
        uint8_t *dsk = b->disk + pos * 512u;
        if (write)
            memcpy(dsk, mem, n * 512u);
        else
            memcpy(mem, dsk, n * 512u);
        if (b->flags & BLKBACK_WHOLE_PAGE)
            whole_page(b, page, s->first_sect * 512u,
                       (s->last_sect + 1u) * 512u, write);
        unmap_request(b, s->gref, write);
        pos += n;
    }
    return XENABI_BLKIF_RSP_OKAY;
}

/* BLKIF_OP_INDIRECT: fetch the segments from the granted page, once. */
static int16_t do_indirect(struct blkback *b, const void *slot,
                           uint8_t *op)
{
    struct xenabi_blkif_request_indirect ind;
    memcpy(&ind, slot, sizeof(ind));
    *op = ind.indirect_op; /* answered as the data operation, as Linux does */
    b->stats.indirect++;
    bool write = ind.indirect_op == XENABI_BLKIF_OP_WRITE;
    if ((!write && ind.indirect_op != XENABI_BLKIF_OP_READ)
        || ind.nr_segments == 0 || ind.nr_segments > INDIRECT_MAX)
        return XENABI_BLKIF_RSP_ERROR;
    if (write)
        b->stats.writes++;
    else
        b->stats.reads++;
    if (write && (b->flags & BLKBACK_READONLY))
        return XENABI_BLKIF_RSP_ERROR;
    void *page;
    if (map_request(b, ind.indirect_grefs[0], true, &page)
        != XENABI_GNTST_OKAY)
        return XENABI_BLKIF_RSP_ERROR;
    struct xenabi_blkif_request_segment segs[INDIRECT_MAX];
    memcpy(segs, page, ind.nr_segments * sizeof(segs[0]));
    unmap_request(b, ind.indirect_grefs[0], true);
    return do_io(b, segs, ind.nr_segments, ind.sector_number, write);
}

static struct xenabi_blkif_response serve(struct blkback *b,
                                          const struct xenabi_blkif_request *req)
{
    struct xenabi_blkif_response rsp;
    memset(&rsp, 0, sizeof(rsp));
    rsp.id = req->id;
    rsp.operation = req->operation;
    b->stats.requests++;
    switch (req->operation) {
    case XENABI_BLKIF_OP_READ:
    case XENABI_BLKIF_OP_WRITE: {
        bool write = req->operation == XENABI_BLKIF_OP_WRITE;
        if (write)
            b->stats.writes++;
        else
            b->stats.reads++;
        if (req->nr_segments == 0
            || req->nr_segments > XENABI_BLKIF_MAX_SEGMENTS_PER_REQUEST
            || (write && (b->flags & BLKBACK_READONLY)))
            rsp.status = XENABI_BLKIF_RSP_ERROR;
        else
            rsp.status = do_io(b, req->seg, req->nr_segments,
                               req->sector_number, write);
        break;
    }
    case XENABI_BLKIF_OP_INDIRECT:
        if (b->flags & BLKBACK_INDIRECT)
            rsp.status = do_indirect(b, req, &rsp.operation);
        else
            rsp.status = XENABI_BLKIF_RSP_EOPNOTSUPP;
        break;
    case XENABI_BLKIF_OP_FLUSH_DISKCACHE:
        b->stats.flushes++;
        rsp.status = (b->flags & BLKBACK_FLUSH) ? XENABI_BLKIF_RSP_OKAY
                                                : XENABI_BLKIF_RSP_EOPNOTSUPP;
        break;
    case XENABI_BLKIF_OP_WRITE_BARRIER:
        b->stats.barriers++;
        rsp.status = (b->flags & BLKBACK_BARRIER) ? XENABI_BLKIF_RSP_OKAY
                                                  : XENABI_BLKIF_RSP_EOPNOTSUPP;
        break;
    default:
        rsp.status = XENABI_BLKIF_RSP_EOPNOTSUPP;
    }
    if (rsp.status != XENABI_BLKIF_RSP_OKAY)
        b->stats.errors++;
    return rsp;
}

static void mangle(struct blkback *b, struct xenabi_blkif_response *rsp)
{
    switch (b->fault) {
    case BLKBACK_BAD_ID:
        /* entry 31 of the same generation: never in flight in the tests */
        rsp->id = (rsp->id & ~(uint64_t)0xffffffff) | 31;
        break;
    case BLKBACK_ID_RANGE:
        rsp->id = 1000;
        break;
    case BLKBACK_STALE_GEN:
        rsp->id -= (uint64_t)1 << 32;
        break;
    case BLKBACK_BAD_STATUS:
        rsp->status = 7;
        break;
    case BLKBACK_WRONG_OP:
        rsp->operation = rsp->operation == XENABI_BLKIF_OP_READ
                             ? XENABI_BLKIF_OP_WRITE
                             : XENABI_BLKIF_OP_READ;
        break;
    case BLKBACK_DUPLICATE:
        *rsp = b->last;
        break;
    default:
        return;
    }
    if (b->fault != BLKBACK_PROD_AHEAD)
        b->fault = BLKBACK_FAULT_NONE;
}

static bool process(struct blkback *b)
{
    bool progress = false;
    if (b->held)
        return false;
    for (unsigned i = 0; i < b->nr_injected; i++) {
        memcpy(xenabi_ring_slot(&b->ring, b->ring.prod), &b->injected[i],
               sizeof(b->injected[i]));
        b->ring.prod++;
        progress = true;
    }
    b->nr_injected = 0;
    for (;;) {
        int64_t n = xenabi_back_ring_final_check(&b->ring);
        if (n <= 0)
            break;
        for (; n > 0; n--) {
            struct xenabi_blkif_request req;
            xenabi_ring_copy_from_slot(
                &req, xenabi_ring_slot(&b->ring, b->ring.cons), sizeof(req));
            b->ring.cons++;
            struct xenabi_blkif_response rsp = serve(b, &req);
            struct xenabi_blkif_response real = rsp;
            mangle(b, &rsp);
            if (b->rewrite != NULL)
                b->rewrite(b->rewrite_arg, &rsp);
            b->last = real;
            memcpy(xenabi_ring_slot(&b->ring, b->ring.prod), &rsp,
                   sizeof(rsp));
            b->ring.prod++;
            progress = true;
        }
    }
    if (!progress)
        return false;
    bool notify = xenabi_back_ring_push(&b->ring);
    if (b->fault == BLKBACK_PROD_AHEAD) {
        xenabi_ring_write_idx(&b->ring.shared->rsp_prod, b->ring.prod + 5);
        b->fault = BLKBACK_FAULT_NONE;
        notify = true;
    }
    if (notify)
        sim_evtchn_notify(b->port);
    return true;
}

static bool step(void *arg)
{
    struct blkback *b = arg;
    long fs = front_u32(b, "state");
    bool closing = b->close_requested || fs < 0
                   || fs == XENABI_XENBUS_STATE_CLOSING
                   || fs == XENABI_XENBUS_STATE_CLOSED;
    switch (b->state) {
    case XENABI_XENBUS_STATE_INITIALISING:
        set_state(b, XENABI_XENBUS_STATE_INIT_WAIT);
        return true;
    case XENABI_XENBUS_STATE_INIT_WAIT:
        if (fs != XENABI_XENBUS_STATE_INITIALISED)
            return false;
        if (!connect(b)) {
            set_state(b, XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        set_state(b, XENABI_XENBUS_STATE_CONNECTED);
        sim_evtchn_notify(b->port);
        return true;
    case XENABI_XENBUS_STATE_CONNECTED:
        if (closing) {
            if (!(b->flags & BLKBACK_UNMAP_ON_CLOSED))
                disconnect(b);
            set_state(b, XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        return process(b);
    case XENABI_XENBUS_STATE_CLOSING:
        if (fs >= 0 && fs != XENABI_XENBUS_STATE_CLOSED)
            return false;
        if (b->flags & BLKBACK_UNMAP_ON_CLOSED)
            disconnect(b);
        set_state(b, XENABI_XENBUS_STATE_CLOSED);
        return true;
    case XENABI_XENBUS_STATE_CLOSED:
        if (fs != XENABI_XENBUS_STATE_INITIALISING)
            return false;
        b->close_requested = false;
        set_state(b, XENABI_XENBUS_STATE_INIT_WAIT);
        return true;
    default:
        return false;
    }
}

struct blkback *blkback_create(unsigned devid, uint64_t sectors,
                               uint32_t sector_size, unsigned flags)
{
    struct blkback *b = calloc(1, sizeof(*b));
    b->disk = calloc(sectors ? sectors : 1, 512);
    b->sectors = sectors;
    b->flags = flags;
    snprintf(b->fe, sizeof(b->fe), "/local/domain/%d/device/vbd/%u",
             SIM_GUEST_DOMID, devid);
    snprintf(b->be, sizeof(b->be), "/local/domain/%d/backend/vbd/%d/%u",
             SIM_BACKEND_DOMID, SIM_GUEST_DOMID, devid);
    char v[32];
    node(b->fe, "backend", b->be);
    node(b->fe, "backend-id", "0");
    node(b->fe, "state", "1");
    snprintf(v, sizeof(v), "%u", devid);
    node(b->fe, "virtual-device", v);
    node(b->be, "frontend", b->fe);
    node(b->be, "frontend-id", "1");
    snprintf(v, sizeof(v), "%llu", (unsigned long long)sectors);
    node(b->be, "sectors", v);
    snprintf(v, sizeof(v), "%u", sector_size);
    node(b->be, "sector-size", v);
    node(b->be, "info", (flags & BLKBACK_READONLY) ? "4" : "0");
    if (flags & BLKBACK_FLUSH)
        node(b->be, "feature-flush-cache", "1");
    if (flags & BLKBACK_BARRIER)
        node(b->be, "feature-barrier", "1");
    if (flags & BLKBACK_MULTI_PAGE)
        node(b->be, "max-ring-page-order", "3");
    if (flags & BLKBACK_INDIRECT)
        node(b->be, "feature-max-indirect-segments", "32");
    set_state(b, XENABI_XENBUS_STATE_INITIALISING);
    sim_set_round_hook(step, b);
    return b;
}

uint8_t *blkback_disk(struct blkback *b) { return b->disk; }
void blkback_fault(struct blkback *b, enum blkback_fault f) { b->fault = f; }
void blkback_hold(struct blkback *b, bool hold) { b->held = hold; }
void blkback_close(struct blkback *b) { b->close_requested = true; }
void blkback_set_rewrite(struct blkback *b, blkback_rewrite_fn fn, void *arg)
{
    b->rewrite = fn;
    b->rewrite_arg = arg;
}

void blkback_inject(struct blkback *b, const struct xenabi_blkif_response *rsp)
{
    if (b->nr_injected < sizeof(b->injected) / sizeof(b->injected[0]))
        b->injected[b->nr_injected++] = *rsp;
}

int blkback_state(const struct blkback *b) { return b->state; }

void blkback_set_flags(struct blkback *b, unsigned flags)
{
    b->flags = flags;
}

unsigned blkback_kept(const struct blkback *b) { return b->nr_kept; }

const void *blkback_kept_page(const struct blkback *b, unsigned i)
{
    return i < b->nr_kept ? b->kept[i].page : NULL;
}

unsigned blkback_scribble(struct blkback *b, uint8_t value)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->nr_kept; i++)
        if (!b->kept[i].readonly) {
            memset(b->kept[i].page, value, XENABI_PAGE_SIZE);
            n++;
        }
    return n;
}

void blkback_release(struct blkback *b)
{
    for (unsigned i = 0; i < b->nr_kept; i++)
        sim_gnttab_unmap(b->kept[i].ref, b->kept[i].readonly);
    b->nr_kept = 0;
}

bool blkback_saw(const struct blkback *b, const void *bytes, size_t n)
{
    for (size_t at = 0; n != 0 && at + n <= b->seen_len; at++)
        if (memcmp(b->seen + at, bytes, n) == 0)
            return true;
    return false;
}

void blkback_set_node(struct blkback *b, const char *key, const char *value)
{
    node(b->be, key, value);
}

void blkback_get_stats(const struct blkback *b, struct blkback_stats *out)
{
    *out = b->stats;
}

void blkback_destroy(struct blkback *b)
{
    sim_set_round_hook(NULL, NULL);
    blkback_release(b);
    disconnect(b);
    free(b->kept);
    free(b->seen);
    free(b->disk);
    free(b);
}
