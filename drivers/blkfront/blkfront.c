/*
 * The block frontend: xenbus hooks that build and tear down the ring,
 * request submission, and response validation.
 *
 * A request in flight owns one entry of reqs[] (as many as ring slots)
 * and is named on the wire by id = generation << 32 | entry. The
 * generation moves on at every completion, so a late or duplicated
 * response for an entry that was reused since is told apart.
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

_Static_assert(BLKFRONT_MAX_INDIRECT_SEGMENTS
                   <= XENABI_BLKIF_SEGS_PER_INDIRECT_PAGE,
               "the segments of an indirect request fit one page");

struct request {
    bool busy;
    uint8_t op;      /* on the wire: READ, WRITE, INDIRECT, flush, barrier */
    uint8_t data_op; /* READ or WRITE for an indirect request */
    uint8_t nr_grants;
    uint32_t gen;
    /* Data pages, then the indirect page if any. */
    xenabi_grant_ref_t grants[BLKFRONT_MAX_INDIRECT_SEGMENTS + 1];
    void *indirect; /* the page of segments of an indirect request */
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
};

/* ---- completion ------------------------------------------------------------ */

static void end_grants(struct blkfront *bf, struct request *r)
{
    bool held = false;
    for (unsigned i = 0; i < r->nr_grants; i++)
        if (gnttab_end_access_deferred(r->grants[i]) == 1) {
            bf->stats.grants_deferred++;
            held = true;
        }
    r->nr_grants = 0;
    /* An indirect page the backend may still read is not reused. */
    if (!held)
        free(r->indirect);
    r->indirect = NULL;
}

static void complete(struct blkfront *bf, struct request *r, int status)
{
    blkfront_done_fn done = r->done;
    void *arg = r->arg;
    end_grants(bf, r);
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

/* Grant the pages under buf..buf+len and describe them as segments. */
static int build_segments(struct blkfront *bf, struct request *r,
                          struct xenabi_blkif_request_segment *segs,
                          uintptr_t a, size_t len, bool to_disk)
{
    uintptr_t end = a + len;
    uintptr_t page = a & ~(uintptr_t)(PAGE - 1);
    unsigned n = 0;
    for (; page < end; page += PAGE, n++) {
        uintptr_t from = a > page ? a : page;
        uintptr_t to = end < page + PAGE ? end : page + PAGE;
        /* A write only lets the backend read our page. */
        int rc = gnttab_grant_access(bf->front.backend_id,
                                     xen_ptr_to_frame((const void *)page),
                                     to_disk, "blkfront.data",
                                     &r->grants[n]);
        if (rc < 0) {
            r->nr_grants = (uint8_t)n;
            end_grants(bf, r);
            return rc;
        }
        struct xenabi_blkif_request_segment seg = {
            .gref = r->grants[n],
            .first_sect = (uint8_t)((from - page) / SECTOR),
            .last_sect = (uint8_t)((to - page) / SECTOR - 1),
        };
        segs[n] = seg;
    }
    r->nr_grants = (uint8_t)n;
    return (int)n;
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
    uintptr_t first = a & ~(uintptr_t)(PAGE - 1);
    uintptr_t last = (a + len - 1) & ~(uintptr_t)(PAGE - 1);
    if ((last - first) / PAGE + 1 > max_segments(bf))
        return -XENABI_E2BIG;
    uint64_t count = len / SECTOR;
    if (sector > bf->info.sectors || count > bf->info.sectors - sector)
        return -XENABI_ERANGE;
    return 0;
}

/*
 * More than BLKFRONT_MAX_SEGMENTS pages: the segments go to a page of
 * their own, granted read-only, and the ring slot names it.
 */
static int build_indirect(struct blkfront *bf, struct request *r,
                          const struct xenabi_blkif_request *req,
                          uintptr_t a, size_t len, void *slot)
{
    r->indirect = aligned_alloc(PAGE, PAGE);
    if (r->indirect == NULL)
        return -XENABI_ENOMEM;
    memset(r->indirect, 0, PAGE);
    int n = build_segments(bf, r, r->indirect, a, len,
                           req->operation == XENABI_BLKIF_OP_WRITE);
    xenabi_grant_ref_t ref;
    int rc = n < 0 ? n
                   : gnttab_grant_access(bf->front.backend_id,
                                         xen_ptr_to_frame(r->indirect), true,
                                         "blkfront.indirect", &ref);
    if (rc < 0) {
        end_grants(bf, r);
        free(r->indirect);
        r->indirect = NULL;
        return rc;
    }
    r->grants[r->nr_grants++] = ref;
    struct xenabi_blkif_request_indirect ind;
    memset(&ind, 0, sizeof(ind));
    ind.operation = XENABI_BLKIF_OP_INDIRECT;
    ind.indirect_op = req->operation;
    ind.nr_segments = (uint16_t)n;
    ind.id = req->id;
    ind.sector_number = req->sector_number;
    ind.handle = req->handle;
    ind.indirect_grefs[0] = ref;
    memcpy(slot, &ind, sizeof(ind));
    return 0;
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
    if (op == XENABI_BLKIF_OP_READ || op == XENABI_BLKIF_OP_WRITE) {
        rc = check_range(bf, sector, buf, len);
        if (rc == 0 && op == XENABI_BLKIF_OP_WRITE && bf->info.readonly)
            rc = -XENABI_EROFS;
        if (rc < 0)
            return rc;
        uintptr_t a = (uintptr_t)buf;
        uintptr_t pages = (((a + len - 1) & ~(uintptr_t)(PAGE - 1))
                           - (a & ~(uintptr_t)(PAGE - 1))) / PAGE + 1;
        if (pages > BLKFRONT_MAX_SEGMENTS) {
            rc = build_indirect(bf, r, &req, a, len, slot);
            wire_op = XENABI_BLKIF_OP_INDIRECT;
        } else {
            rc = build_segments(bf, r, req.seg, a, len,
                                op == XENABI_BLKIF_OP_WRITE);
            req.nr_segments = (uint8_t)rc;
        }
        if (rc < 0)
            return rc;
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
            r->done = NULL; /* w is about to go away */
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
