/*
 * The block frontend: xenbus hooks that build and tear down the ring,
 * request submission, and response validation.
 *
 * A request in flight owns one entry of reqs[] (as many as ring slots)
 * and is named on the wire by id = generation << 32 | entry. The
 * generation moves on at every completion, so a late or duplicated
 * response for an entry that was reused since is told apart.
 *
 * The backend is only ever granted the driver's own bounce pages, from
 * pool[]: a write's bytes are copied into them before they are granted,
 * a read's are copied out only after every grant of the request was
 * revoked. A page whose grant the backend will not give back is lost
 * (quarantined): never granted or written again, freed at close only
 * if the backend let go by then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkfront/blkfront.h>
#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>
#include <xenbus/xenbus.h>
#include <xenstore/xenstore.h>

#define MAX_SLOTS XENABI_BLKIF_RING_SLOTS(BLKFRONT_MAX_RING_ORDER)
#define MAX_RING_PAGES (1u << BLKFRONT_MAX_RING_ORDER)
#define PAGE XENABI_PAGE_SIZE
#define SECTOR XENABI_BLKIF_SECTOR_SIZE
/* Bounce pages one request may hold: its data, then its page of segments. */
#define REQ_PAGES (BLKFRONT_MAX_INDIRECT_SEGMENTS + 1)
#define POOL_MAX BLKFRONT_POOL_PAGES(MAX_SLOTS)

_Static_assert(POOL_MAX <= UINT16_MAX, "pool indices fit 16 bits");
_Static_assert(REQ_PAGES <= UINT8_MAX, "a request's pages fit 8 bits");
_Static_assert(REQ_PAGES <= BLKFRONT_POOL_PAGES(XENABI_BLKIF_RING_SLOTS(0)),
               "the smallest pool holds the largest request");

_Static_assert(BLKFRONT_MAX_INDIRECT_SEGMENTS
                   <= XENABI_BLKIF_SEGS_PER_INDIRECT_PAGE,
               "the segments of an indirect request fit one page");

enum bounce_state {
    BOUNCE_FREE,    /* ours alone */
    BOUNCE_TAKEN,   /* a request's, not granted (yet, or any more) */
    BOUNCE_GRANTED, /* a request's, granted to the backend */
    BOUNCE_LOST,    /* the backend kept it mapped: never used again */
};

struct bounce {
    uint8_t *page;
    xenabi_pfn_t frame;
    xenabi_grant_ref_t ref; /* while GRANTED or LOST */
    uint8_t state;          /* enum bounce_state */
};

struct request {
    bool busy;
    uint8_t op;      /* on the wire: READ, WRITE, INDIRECT, flush, barrier */
    uint8_t data_op; /* READ or WRITE for an indirect request */
    uint8_t nr_pages; /* bounce pages: data, then the page of segments */
    uint32_t gen;
    uint16_t pages[REQ_PAGES]; /* indices into pool[] */
    void *dest;     /* where a read's bytes go; NULL: nobody wants them */
    size_t len;     /* bytes of data */
    blkfront_done_fn done; /* NULL: nobody waits any more */
    void *arg;
};

struct blkfront {
    struct xenbus_front front;
    uint16_t handle; /* the vdev: last component of the node name */

    /* Between the setup and teardown hooks. */
    void *ring_page; /* 2^ring_order pages */
    unsigned ring_order;
    uint32_t nr_slots;
    struct xenabi_ring ring;
    xenabi_grant_ref_t ring_refs[MAX_RING_PAGES];
    unsigned nr_ring_refs;
    xenabi_evtchn_port_t port;
    bool port_bound;
    /* Ring pages the backend still mapped at teardown: never reused. */
    void *held_page;
    xenabi_grant_ref_t held_refs[MAX_RING_PAGES];
    unsigned nr_held;

    uint32_t indirect_segs; /* segments per indirect request; 0: none */
    bool connected; /* connect hook succeeded, teardown has not run */
    bool broken;    /* the backend broke the ring protocol */
    struct blkfront_info info;
    struct blkfront_stats stats;
    unsigned inflight;
    struct request reqs[MAX_SLOTS];

    /* Bounce pages, allocated as requests need them, kept until close.
     * pool[0 .. nr_pool - 1] have a page; at most pool_cap (this
     * connection's BLKFRONT_POOL_PAGES) are allocated, lost ones too. */
    uint32_t pool_cap;
    uint16_t nr_pool;
    uint16_t nr_lost;
    uint16_t nr_free;
    uint16_t free_list[POOL_MAX]; /* indices of FREE pages */
    struct bounce pool[POOL_MAX];
};

/* ---- bounce pages ---------------------------------------------------------- */

/* Pages the pool could ever give one request (lost ones never return). */
static uint32_t pool_reachable(const struct blkfront *bf)
{
    uint32_t size = bf->pool_cap > bf->nr_pool ? bf->pool_cap : bf->nr_pool;
    return size - bf->nr_lost;
}

/* Pages a request can have now: free ones, and what the cap lets us add. */
static uint32_t pool_available(const struct blkfront *bf)
{
    uint32_t grow = bf->pool_cap > bf->nr_pool ? bf->pool_cap - bf->nr_pool
                                               : 0;
    return bf->nr_free + grow;
}

/* Give r's pages back: free ones to the free list, lost ones stay lost. */
static void pool_put(struct blkfront *bf, struct request *r)
{
    for (unsigned i = 0; i < r->nr_pages; i++) {
        struct bounce *b = &bf->pool[r->pages[i]];
        if (b->state == BOUNCE_LOST)
            continue;
        b->state = BOUNCE_FREE;
        bf->free_list[bf->nr_free++] = r->pages[i];
    }
    r->nr_pages = 0;
}

/* Give r `n` pages (pool_available said there are). */
static int pool_take(struct blkfront *bf, struct request *r, unsigned n)
{
    r->nr_pages = 0;
    while (r->nr_pages < n) {
        uint16_t i;
        if (bf->nr_free > 0) {
            i = bf->free_list[--bf->nr_free];
        } else {
            uint8_t *page = aligned_alloc(PAGE, PAGE);
            if (page == NULL) {
                pool_put(bf, r);
                return -XENABI_ENOMEM;
            }
            i = bf->nr_pool++;
            bf->pool[i] = (struct bounce){
                .page = page,
                .frame = xen_ptr_to_frame(page),
            };
            bf->stats.pool_pages = bf->nr_pool;
        }
        bf->pool[i].state = BOUNCE_TAKEN;
        r->pages[r->nr_pages++] = i;
    }
    return 0;
}

/*
 * Revoke every grant of r. A page whose grant the backend still holds
 * is lost: its grant is left to gnttab_reclaim_deferred and the page is
 * never used again. True if every grant was revoked.
 */
static bool end_grants(struct blkfront *bf, struct request *r)
{
    bool all = true;
    for (unsigned i = 0; i < r->nr_pages; i++) {
        struct bounce *b = &bf->pool[r->pages[i]];
        if (b->state != BOUNCE_GRANTED)
            continue;
        int rc = gnttab_end_access_deferred(b->ref);
        if (rc == 0) {
            b->state = BOUNCE_TAKEN;
            continue;
        }
        /* Deferred (1), or a reference that is not live (our bug): either
         * way the page's fate is unknown, so it is never used again. */
        if (rc == 1)
            bf->stats.grants_deferred++;
        b->state = BOUNCE_LOST;
        bf->nr_lost++;
        bf->stats.pages_lost++;
        all = false;
    }
    return all;
}

/* A read's bytes, out of its pages (no longer granted) into the caller's. */
static void copy_out(const struct blkfront *bf, const struct request *r)
{
    uint8_t *dest = r->dest;
    for (size_t i = 0, off = 0; off < r->len; i++, off += PAGE) {
        size_t n = r->len - off < PAGE ? r->len - off : PAGE;
        memcpy(dest + off, bf->pool[r->pages[i]].page, n);
    }
}

/* ---- completion ------------------------------------------------------------ */

/*
 * A request ends only once the backend can no longer reach any of its
 * pages. If it still maps one, the request never succeeds (-XENABI_EIO
 * where it answered OKAY): a real backend unmaps before it responds, and
 * a read's bytes in a page it can still write cannot be trusted.
 */
static void complete(struct blkfront *bf, struct request *r, int status)
{
    blkfront_done_fn done = r->done;
    void *arg = r->arg;
    if (!end_grants(bf, r)) {
        if (status == 0)
            status = -XENABI_EIO;
    } else if (status == 0 && r->data_op == XENABI_BLKIF_OP_READ
             && r->dest != NULL)
        copy_out(bf, r);
    pool_put(bf, r);
    r->dest = NULL;
    r->busy = false;
    r->gen++;
    r->done = NULL;
    bf->inflight--;
    bf->stats.completed++;
    if (status != 0)
        bf->stats.errors++;
    if (done != NULL)
        done(arg, status);
}

static int fail_all(struct blkfront *bf, int status)
{
    int n = 0;
    for (unsigned i = 0; i < MAX_SLOTS; i++)
        if (bf->reqs[i].busy) {
            complete(bf, &bf->reqs[i], status);
            n++;
        }
    return n;
}

static unsigned max_segments(const struct blkfront *bf);

/* ---- xenbus hooks ---------------------------------------------------------- */

static void release_ring(struct blkfront *bf)
{
    if (bf->port_bound)
        (void)evtchn_close(bf->port);
    bf->port_bound = false;
    unsigned held = 0;
    xenabi_grant_ref_t refs[MAX_RING_PAGES];
    for (unsigned i = 0; i < bf->nr_ring_refs; i++)
        if (gnttab_end_access_deferred(bf->ring_refs[i]) == 1) {
            bf->stats.grants_deferred++;
            refs[held++] = bf->ring_refs[i];
        }
    bf->nr_ring_refs = 0;
    if (held != 0) {
        /* The backend may still write it: keep the ring out of reuse. */
        free(bf->held_page); /* an older one: given up on, see close */
        bf->held_page = bf->ring_page;
        memcpy(bf->held_refs, refs, sizeof(refs));
        bf->nr_held = held;
    } else {
        free(bf->ring_page);
    }
    bf->ring_page = NULL;
}

static void on_event(xenabi_evtchn_port_t port, void *arg)
{
    /* Work is done in blkfront_poll; the event only wakes the waiter. */
    (void)port;
    (void)arg;
}

static int front_setup(struct xenbus_front *f)
{
    struct blkfront *bf = f->arg;
    /* A multi-page ring if the backend offers one (the largest we do). */
    uint32_t max_order = 0;
    int rc = xenbus_backend_read_u32(f, "max-ring-page-order", &max_order);
    if (rc == -XENABI_ENOENT)
        max_order = 0;
    else if (rc < 0)
        return rc;
    bf->ring_order = max_order < BLKFRONT_MAX_RING_ORDER
                         ? max_order
                         : BLKFRONT_MAX_RING_ORDER;
    size_t bytes = (size_t)PAGE << bf->ring_order;
    bf->ring_page = aligned_alloc(PAGE, bytes);
    if (bf->ring_page == NULL)
        return -XENABI_ENOMEM;
    memset(bf->ring_page, 0, bytes);
    xenabi_front_ring_init(&bf->ring, bf->ring_page, bytes,
                           sizeof(union xenabi_blkif_slot));
    bf->nr_slots = bf->ring.nr_slots;
    bf->pool_cap = BLKFRONT_POOL_PAGES(bf->nr_slots);
    /* A new backend sees nothing the last one left in our pages. */
    for (unsigned i = 0; i < bf->nr_free; i++)
        memset(bf->pool[bf->free_list[i]].page, 0, PAGE);
    bf->broken = false;
    rc = 0;
    for (unsigned i = 0; rc == 0 && i < 1u << bf->ring_order; i++) {
        rc = gnttab_grant_access(
            f->backend_id,
            xen_ptr_to_frame((uint8_t *)bf->ring_page + (size_t)i * PAGE),
            false, "blkfront.ring", &bf->ring_refs[i]);
        if (rc == 0)
            bf->nr_ring_refs++;
    }
    if (rc == 0)
        rc = evtchn_alloc_unbound(f->backend_id, &bf->port);
    if (rc == 0) {
        bf->port_bound = true;
        rc = evtchn_set_handler(bf->port, on_event, bf);
    }
    if (rc == 0)
        rc = evtchn_unmask(bf->port);
    if (rc < 0)
        release_ring(bf); /* teardown runs only after a successful setup */
    return rc;
}

static int front_publish(struct xenbus_front *f, xs_tx_t tx)
{
    struct blkfront *bf = f->arg;
    int rc = 0;
    if (bf->ring_order == 0) {
        rc = xenbus_front_printf(f, tx, "ring-ref", "%u",
                                 (unsigned)bf->ring_refs[0]);
    } else {
        rc = xenbus_front_printf(f, tx, "ring-page-order", "%u",
                                 bf->ring_order);
        for (unsigned i = 0; rc == 0 && i < bf->nr_ring_refs; i++) {
            char key[24];
            snprintf(key, sizeof(key), "ring-ref%u", i);
            rc = xenbus_front_printf(f, tx, key, "%u",
                                     (unsigned)bf->ring_refs[i]);
        }
    }
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "event-channel", "%u",
                                 (unsigned)bf->port);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "protocol", "%s", "x86_64-abi");
    return rc;
}

/* "<backend>/<key>" as a decimal uint64 (digits only, no leading zero). */
static int read_u64(struct xenbus_front *f, const char *key, uint64_t *out)
{
    char path[XENBUS_PATH_MAX + 40], buf[24];
    size_t len;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", f->backend, key)
        >= sizeof(path))
        return -XENABI_E2BIG;
    int rc = xs_read(XS_TX_NONE, path, buf, sizeof(buf), &len);
    if (rc == -XENABI_ERANGE)
        return -XENABI_EINVAL;
    if (rc < 0)
        return rc;
    if (len == 0 || (len > 1 && buf[0] == '0'))
        return -XENABI_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -XENABI_EINVAL;
        unsigned d = (unsigned)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -XENABI_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* An optional boolean feature node: missing is 0, else "0" or "1". */
static int read_feature(struct xenbus_front *f, const char *key, bool *out)
{
    uint32_t v = 0;
    int rc = xenbus_backend_read_u32(f, key, &v);
    if (rc == -XENABI_ENOENT)
        v = 0;
    else if (rc < 0)
        return rc;
    if (v > 1)
        return -XENABI_EINVAL;
    *out = v == 1;
    return 0;
}

static int front_connect(struct xenbus_front *f)
{
    struct blkfront *bf = f->arg;
    struct blkfront_info in = {0};
    int rc = read_u64(f, "sectors", &in.sectors);
    if (rc == 0)
        rc = xenbus_backend_read_u32(f, "sector-size", &in.sector_size);
    if (rc == 0)
        rc = xenbus_backend_read_u32(f, "info", &in.vdisk_info);
    if (rc == 0)
        rc = read_feature(f, "feature-flush-cache", &in.flush);
    if (rc == 0)
        rc = read_feature(f, "feature-barrier", &in.barrier);
    if (rc == 0) {
        rc = xenbus_backend_read_u32(f, "feature-max-indirect-segments",
                                     &in.max_indirect_segments);
        if (rc == -XENABI_ENOENT) {
            in.max_indirect_segments = 0;
            rc = 0;
        }
    }
    if (rc < 0)
        return rc;
    uint32_t ss = in.sector_size;
    if (ss < SECTOR || ss > PAGE || (ss & (ss - 1)) != 0)
        return -XENABI_EINVAL;
    if (in.sectors % (ss / SECTOR) != 0)
        return -XENABI_EINVAL;
    in.readonly = (in.vdisk_info & XENABI_VDISK_READONLY) != 0;
    in.ring_slots = bf->nr_slots;
    /* Indirect requests only pay off beyond what a slot carries. */
    uint32_t ind = in.max_indirect_segments < BLKFRONT_MAX_INDIRECT_SEGMENTS
                       ? in.max_indirect_segments
                       : BLKFRONT_MAX_INDIRECT_SEGMENTS;
    bf->indirect_segs = ind > BLKFRONT_MAX_SEGMENTS ? ind : 0;
    in.max_segments = max_segments(bf);
    bf->info = in;
    bf->connected = true;
    return 0;
}

static void front_teardown(struct xenbus_front *f)
{
    struct blkfront *bf = f->arg;
    bf->connected = false;
    fail_all(bf, -XENABI_ENOTCONN);
    release_ring(bf);
}

static const struct xenbus_front_ops front_ops = {
    .setup = front_setup,
    .publish = front_publish,
    .connect = front_connect,
    .teardown = front_teardown,
};

/* ---- the device ---------------------------------------------------------- */

static int parse_handle(const char *nodename, uint16_t *out)
{
    const char *last = strrchr(nodename, '/');
    last = last != NULL ? last + 1 : nodename;
    uint32_t v = 0;
    if (*last == '\0')
        return -XENABI_EINVAL;
    for (; *last != '\0'; last++) {
        if (*last < '0' || *last > '9')
            return -XENABI_EINVAL;
        v = v * 10 + (uint32_t)(*last - '0');
        if (v > UINT16_MAX)
            return -XENABI_EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

int blkfront_open(const char *nodename, struct blkfront **out)
{
    if (nodename == NULL || out == NULL)
        return -XENABI_EINVAL;
    struct blkfront *bf = calloc(1, sizeof(*bf));
    if (bf == NULL)
        return -XENABI_ENOMEM;
    int rc = parse_handle(nodename, &bf->handle);
    if (rc == 0)
        rc = xenbus_front_init(&bf->front, nodename, &front_ops, bf);
    if (rc < 0) {
        free(bf);
        return rc;
    }
    *out = bf;
    return 0;
}

int blkfront_wait_connected(struct blkfront *bf)
{
    return xenbus_front_wait_connected(&bf->front);
}

bool blkfront_connected(const struct blkfront *bf)
{
    return bf->connected && !bf->broken;
}

int blkfront_info(const struct blkfront *bf, struct blkfront_info *out)
{
    if (!bf->connected)
        return -XENABI_ENOTCONN;
    *out = bf->info;
    return 0;
}

unsigned blkfront_inflight(const struct blkfront *bf)
{
    return bf->inflight;
}

void blkfront_get_stats(const struct blkfront *bf, struct blkfront_stats *out)
{
    *out = bf->stats;
}

static int take_slot(struct blkfront *bf, struct request **out)
{
    if (!bf->connected)
        return -XENABI_ENOTCONN;
    if (bf->broken)
        return -XENABI_EIO;
    if (xenabi_front_ring_free(&bf->ring) == 0)
        return -XENABI_EBUSY;
    for (unsigned i = 0; i < bf->nr_slots; i++)
        if (!bf->reqs[i].busy) {
            *out = &bf->reqs[i];
            return 0;
        }
    return -XENABI_EBUSY;
}

/* Segments one request may carry: indirect ones if negotiated. */
static unsigned max_segments(const struct blkfront *bf)
{
    return bf->indirect_segs != 0 ? bf->indirect_segs : BLKFRONT_MAX_SEGMENTS;
}

static int check_range(const struct blkfront *bf, uint64_t sector,
                       const void *buf, size_t len)
{
    uintptr_t a = (uintptr_t)buf;
    uint32_t per = bf->info.sector_size / SECTOR;
    if (buf == NULL || len == 0 || a % SECTOR != 0
        || len % bf->info.sector_size != 0 || sector % per != 0)
        return -XENABI_EINVAL;
    if (len > (size_t)max_segments(bf) * PAGE)
        return -XENABI_E2BIG;
    uint64_t count = len / SECTOR;
    if (sector > bf->info.sectors || count > bf->info.sectors - sector)
        return -XENABI_ERANGE;
    return 0;
}

/*
 * Grant r's data pages (read-only for a write: the backend only reads
 * them) and describe them as segments: the data lies packed from the
 * first page's start, whatever the caller's buffer's alignment.
 */
static int build_segments(struct blkfront *bf, struct request *r,
                          struct xenabi_blkif_request_segment *segs,
                          unsigned nr, bool to_disk)
{
    for (unsigned i = 0; i < nr; i++) {
        struct bounce *b = &bf->pool[r->pages[i]];
        int rc = gnttab_grant_access(bf->front.backend_id, b->frame, to_disk,
                                     "blkfront.data", &b->ref);
        if (rc < 0)
            return rc;
        b->state = BOUNCE_GRANTED;
        size_t off = (size_t)i * PAGE;
        size_t n = r->len - off < PAGE ? r->len - off : PAGE;
        segs[i] = (struct xenabi_blkif_request_segment){
            .gref = b->ref,
            .first_sect = 0,
            .last_sect = (uint8_t)(n / SECTOR - 1),
        };
    }
    return 0;
}

/*
 * More than BLKFRONT_MAX_SEGMENTS pages: the segments go to a page of
 * their own (r's last), granted read-only, and the ring slot names it.
 */
static int build_indirect(struct blkfront *bf, struct request *r,
                          const struct xenabi_blkif_request *req,
                          unsigned nr, void *slot)
{
    struct bounce *ind_page = &bf->pool[r->pages[nr]];
    memset(ind_page->page, 0, PAGE);
    int rc = build_segments(bf, r, (void *)ind_page->page, nr,
                            req->operation == XENABI_BLKIF_OP_WRITE);
    if (rc == 0)
        rc = gnttab_grant_access(bf->front.backend_id, ind_page->frame, true,
                                 "blkfront.indirect", &ind_page->ref);
    if (rc < 0)
        return rc;
    ind_page->state = BOUNCE_GRANTED;
    struct xenabi_blkif_request_indirect ind;
    memset(&ind, 0, sizeof(ind));
    ind.operation = XENABI_BLKIF_OP_INDIRECT;
    ind.indirect_op = req->operation;
    ind.nr_segments = (uint16_t)nr;
    ind.id = req->id;
    ind.sector_number = req->sector_number;
    ind.handle = req->handle;
    ind.indirect_grefs[0] = ind_page->ref;
    memcpy(slot, &ind, sizeof(ind));
    return 0;
}

/*
 * Bounce pages for a read or write of `len` bytes: taken from the pool,
 * a write's bytes copied in (the tail of its last page zeroed), granted
 * and described in the slot. Undone entirely on failure.
 */
static int build_data(struct blkfront *bf, struct request *r,
                      struct xenabi_blkif_request *req, const void *buf,
                      size_t len, void *slot, uint8_t *wire_op)
{
    unsigned nr = (unsigned)((len + PAGE - 1) / PAGE);
    bool indirect = nr > BLKFRONT_MAX_SEGMENTS;
    unsigned need = nr + (indirect ? 1 : 0);
    /* The backend kept so many pages that this can never fit. */
    if (need > pool_reachable(bf))
        return -XENABI_EIO;
    if (need > pool_available(bf))
        return -XENABI_EBUSY;
    int rc = pool_take(bf, r, need);
    if (rc < 0)
        return rc;
    r->len = len;
    if (req->operation == XENABI_BLKIF_OP_WRITE) {
        for (size_t i = 0, off = 0; off < len; i++, off += PAGE) {
            size_t n = len - off < PAGE ? len - off : PAGE;
            uint8_t *page = bf->pool[r->pages[i]].page;
            memcpy(page, (const uint8_t *)buf + off, n);
            memset(page + n, 0, PAGE - n);
        }
    }
    if (indirect) {
        rc = build_indirect(bf, r, req, nr, slot);
        *wire_op = XENABI_BLKIF_OP_INDIRECT;
    } else {
        rc = build_segments(bf, r, req->seg, nr,
                            req->operation == XENABI_BLKIF_OP_WRITE);
        req->nr_segments = (uint8_t)nr;
    }
    if (rc < 0) {
        /* Never on the ring, but a backend may guess references. */
        (void)end_grants(bf, r);
        pool_put(bf, r);
    }
    return rc;
}

static int submit(struct blkfront *bf, uint8_t op, uint64_t sector,
                  const void *buf, size_t len, blkfront_done_fn done,
                  void *arg, struct request **out)
{
    struct request *r;
    int rc = take_slot(bf, &r);
    if (rc < 0)
        return rc;
    void *slot = xenabi_ring_slot(&bf->ring, bf->ring.prod);
    struct xenabi_blkif_request req;
    memset(&req, 0, sizeof(req));
    req.operation = op;
    req.handle = bf->handle;
    req.id = (uint64_t)r->gen << 32 | (uint64_t)(r - bf->reqs);
    req.sector_number = sector;
    uint8_t wire_op = op;
    r->dest = NULL;
    r->len = 0;
    if (op == XENABI_BLKIF_OP_READ || op == XENABI_BLKIF_OP_WRITE) {
        rc = check_range(bf, sector, buf, len);
        if (rc == 0 && op == XENABI_BLKIF_OP_WRITE && bf->info.readonly)
            rc = -XENABI_EROFS;
        if (rc == 0)
            rc = build_data(bf, r, &req, buf, len, slot, &wire_op);
        if (rc < 0)
            return rc;
        if (op == XENABI_BLKIF_OP_READ)
            r->dest = (void *)(uintptr_t)buf;
    }
    if (wire_op != XENABI_BLKIF_OP_INDIRECT)
        memcpy(slot, &req, sizeof(req));
    r->busy = true;
    r->op = wire_op;
    r->data_op = op;
    r->done = done;
    r->arg = arg;
    bf->inflight++;
    bf->ring.prod++;
    bf->stats.submitted++;
    if (xenabi_front_ring_push(&bf->ring)) {
        (void)evtchn_notify(bf->port);
        bf->stats.notifies++;
    }
    if (out != NULL)
        *out = r;
    return 0;
}

int blkfront_read_async(struct blkfront *bf, uint64_t sector, void *buf,
                        size_t len, blkfront_done_fn done, void *arg)
{
    return submit(bf, XENABI_BLKIF_OP_READ, sector, buf, len, done, arg,
                  NULL);
}

int blkfront_write_async(struct blkfront *bf, uint64_t sector,
                         const void *buf, size_t len, blkfront_done_fn done,
                         void *arg)
{
    return submit(bf, XENABI_BLKIF_OP_WRITE, sector, buf, len, done, arg,
                  NULL);
}

static int flush_op(const struct blkfront *bf, uint8_t *op)
{
    if (!bf->connected)
        return -XENABI_ENOTCONN;
    if (bf->info.flush)
        *op = XENABI_BLKIF_OP_FLUSH_DISKCACHE;
    else if (bf->info.barrier)
        *op = XENABI_BLKIF_OP_WRITE_BARRIER;
    else
        return -XENABI_EOPNOTSUPP;
    return 0;
}

int blkfront_flush_async(struct blkfront *bf, blkfront_done_fn done,
                         void *arg)
{
    uint8_t op;
    int rc = flush_op(bf, &op);
    return rc < 0 ? rc : submit(bf, op, 0, NULL, 0, done, arg, NULL);
}

/* ---- responses ----------------------------------------------------------- */

/* One response, already copied out of the ring: 1 if it completed one. */
static int take(struct blkfront *bf, const struct xenabi_blkif_response *rsp)
{
    uint32_t idx = (uint32_t)rsp->id;
    uint32_t gen = (uint32_t)(rsp->id >> 32);
    if (idx >= bf->nr_slots || !bf->reqs[idx].busy || bf->reqs[idx].gen != gen) {
        bf->stats.bad_id++;
        return 0;
    }
    struct request *r = &bf->reqs[idx];
    bool op_ok = rsp->operation == r->op
                 || (r->op == XENABI_BLKIF_OP_INDIRECT
                     && rsp->operation == r->data_op);
    if (!op_ok) {
        bf->stats.bad_op++;
        return 0;
    }
    int status;
    switch (rsp->status) {
    case XENABI_BLKIF_RSP_OKAY:
        status = 0;
        break;
    case XENABI_BLKIF_RSP_ERROR:
        status = -XENABI_EIO;
        break;
    case XENABI_BLKIF_RSP_EOPNOTSUPP:
        status = -XENABI_EOPNOTSUPP;
        break;
    default:
        bf->stats.bad_status++;
        return 0;
    }
    complete(bf, r, status);
    return 1;
}

int blkfront_poll(struct blkfront *bf)
{
    if (bf->broken)
        return -XENABI_EIO;
    if (!bf->connected)
        return 0;
    int done = 0;
    for (;;) {
        int64_t ready = xenabi_front_ring_final_check(&bf->ring);
        if (ready < 0) {
            /* More responses than requests: nothing on the ring can be
             * believed any more. */
            bf->stats.bad_index++;
            bf->broken = true;
            fail_all(bf, -XENABI_EIO);
            return -XENABI_EIO;
        }
        if (ready == 0)
            return done;
        for (; ready > 0; ready--) {
            struct xenabi_blkif_response rsp;
            xenabi_ring_copy_from_slot(
                &rsp, xenabi_ring_slot(&bf->ring, bf->ring.cons), sizeof(rsp));
            bf->ring.cons++;
            done += take(bf, &rsp);
            if (!bf->connected)
                return done; /* a callback closed the device */
        }
    }
}

int blkfront_port(const struct blkfront *bf, xenabi_evtchn_port_t *port)
{
    if (!bf->port_bound)
        return -XENABI_ENOTCONN;
    *port = bf->port;
    return 0;
}

/* ---- blocking forms -------------------------------------------------------- */

struct waiter {
    bool done;
    int status;
};

static void wake(void *arg, int status)
{
    struct waiter *w = arg;
    w->done = true;
    w->status = status;
}

/* One step of waiting: responses, xenstore (the backend may leave), events. */
static int wait_step(struct blkfront *bf)
{
    int rc = blkfront_poll(bf);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    (void)xs_poll();
    if (!bf->connected)
        return 0;
    return evtchn_wait();
}

static int run(struct blkfront *bf, uint8_t op, uint64_t sector,
               const void *buf, size_t len)
{
    struct waiter w = {0};
    struct request *r = NULL;
    int rc;
    while ((rc = submit(bf, op, sector, buf, len, wake, &w, &r))
           == -XENABI_EBUSY) {
        rc = wait_step(bf);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    while (!w.done) {
        rc = wait_step(bf);
        if (w.done)
            break;
        if (rc < 0) {
            /* w and the caller's buffer are about to go away: the
             * request completes later into neither. */
            r->done = NULL;
            r->dest = NULL;
            return rc;
        }
        if (!bf->connected && !w.done)
            return -XENABI_ENOTCONN;
    }
    return w.status;
}

int blkfront_read(struct blkfront *bf, uint64_t sector, void *buf, size_t len)
{
    return run(bf, XENABI_BLKIF_OP_READ, sector, buf, len);
}

int blkfront_write(struct blkfront *bf, uint64_t sector, const void *buf,
                   size_t len)
{
    return run(bf, XENABI_BLKIF_OP_WRITE, sector, buf, len);
}

int blkfront_flush(struct blkfront *bf)
{
    uint8_t op;
    int rc = flush_op(bf, &op);
    return rc < 0 ? rc : run(bf, op, 0, NULL, 0);
}

/* Is some grant still live (the backend keeps it) on `frame`? */
static bool frame_granted(const struct gnttab_grant_info *g, size_t n,
                          xenabi_pfn_t frame)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].frame == frame)
            return true;
    return false;
}

/*
 * After teardown no page is granted but lost ones. A lost page whose
 * grant the backend still holds is left to it, never freed: freed, it
 * would be handed out again while the backend can write it.
 */
static void free_pool(struct blkfront *bf)
{
    struct gnttab_grant_info *g = NULL;
    size_t n = bf->nr_lost != 0 ? gnttab_outstanding(NULL, 0) : 0;
    if (n != 0) {
        g = calloc(n, sizeof(*g));
        size_t got = g != NULL ? gnttab_outstanding(g, n) : n;
        n = got < n ? got : n;
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < bf->nr_pool; i++) {
        struct bounce *b = &bf->pool[i];
        /* Not knowing which grants are live, keep every lost page. */
        if (b->state == BOUNCE_LOST && n != 0
            && (g == NULL || frame_granted(g, n, b->frame))) {
            kept++;
            continue;
        }
        free(b->page);
    }
    free(g);
    if (kept != 0)
        printf("blkfront: the backend still maps %u of our pages; "
               "leaving them to it\n",
               kept);
}

/* Evtchn waits for the backend's Closed after ours (each ends at an event,
 * or after 100 ms with a polling wait: up to 20 s). */
#define CLOSE_WAITS 200

int blkfront_close(struct blkfront *bf)
{
    int rc = xenbus_front_close(&bf->front);
    /* Closed means teardown ran (or setup never did). Grants the backend
     * still mapped then were deferred: Linux's blkback unmaps the ring
     * only once it sees our Closed, so wait for its Closed and retry. */
    if (bf->stats.grants_deferred != 0
        && xenbus_front_wait_backend_closed(&bf->front, CLOSE_WAITS) == 0)
        (void)gnttab_reclaim_deferred();
    xenbus_front_destroy(&bf->front);
    free_pool(bf);
    if (bf->held_page != NULL) {
        bool live = false;
        struct gnttab_grant_info g[64];
        size_t n = gnttab_outstanding(g, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            for (unsigned j = 0; j < bf->nr_held; j++)
                live |= g[i].ref == bf->held_refs[j] && g[i].deferred;
        /* Still granted: leave the page to the backend rather than reuse. */
        if (!live)
            free(bf->held_page);
    }
    free(bf);
    return rc;
}
