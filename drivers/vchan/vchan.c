/*
 * The channel: set-up for both roles, the two byte rings, notification.
 *
 * Our own indexes (the prod of the ring we write, the cons of the ring we
 * read) are kept privately and only published to the page; the peer's
 * are read once per call and checked: the bytes in a ring, prod - cons,
 * can never exceed its size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>
#include <vchan/vchan.h>
#include <xenstore/xenstore.h>

#define PAGE XENABI_PAGE_SIZE
#define MAX_GRANTS (1 + VCHAN_MAX_RING_PAGES)
#define PATH_MAX_LEN 200

struct vchan {
    bool server;
    bool broken;
    struct xenabi_vchan_interface *ctrl;
    uint8_t *rd_ring, *wr_ring;
    uint32_t rd_size, wr_size;
    struct xenabi_vchan_ring_shared *rd, *wr;
    uint8_t *own_notify;  /* bits the peer set for us to act on */
    uint8_t *peer_notify; /* bits we set for the peer */
    uint8_t *own_live, *peer_live;
    uint32_t rd_cons, wr_prod; /* private copies of our indexes */
    xenabi_evtchn_port_t port;
    bool port_owned;
    xenabi_domid_t peer;
    xenabi_domid_t self; /* the server's own domid, from xenstore "domid" */

    /* Server: our memory and its grants (grants[0] is the control page). */
    void *left_mem, *right_mem;
    xenabi_grant_ref_t grants[MAX_GRANTS];
    unsigned nr_grants;
    char path[PATH_MAX_LEN + 1];

    /* Client through vchan_client_open: what we mapped. */
    void *mapped[3]; /* control page, left, right */
    size_t mapped_bytes[3];
    xenabi_grant_handle_t handles[MAX_GRANTS];
    uint64_t handle_addr[MAX_GRANTS];
    void *handle_page[MAX_GRANTS];
    unsigned nr_handles;
    bool lost_frames; /* a frame could not be given back: never free */

    struct vchan_stats stats;
};

static void on_event(xenabi_evtchn_port_t port, void *arg)
{
    /* Nothing to do here: the waiting forms look at the rings again. */
    (void)port;
    (void)arg;
}

static int check_orders(unsigned left, unsigned right)
{
    if (left < VCHAN_MIN_ORDER || left > VCHAN_MAX_ORDER
        || right < VCHAN_MIN_ORDER || right > VCHAN_MAX_ORDER)
        return -XENABI_EINVAL;
    /* Orders 10 and 11 each have one spot in the control page. */
    if (left < XENABI_VCHAN_ORDER_OWN_PAGES && left == right)
        return -XENABI_EINVAL;
    return 0;
}

static uint8_t *in_page_ring(struct xenabi_vchan_interface *ctrl,
                             unsigned order)
{
    return (uint8_t *)ctrl
           + (order == XENABI_VCHAN_ORDER_IN_PAGE_1K ? 1024 : 2048);
}

static unsigned ring_pages(unsigned order)
{
    return order < XENABI_VCHAN_ORDER_OWN_PAGES
               ? 0
               : 1u << (order - XENABI_VCHAN_ORDER_OWN_PAGES);
}

/* Wire up the pointers for our role once the pages are in place. */
static void set_role(struct vchan *v, bool server, uint8_t *left,
                     uint8_t *right, unsigned lo, unsigned ro)
{
    struct xenabi_vchan_interface *c = v->ctrl;
    v->server = server;
    if (server) {
        v->rd = &c->left;
        v->wr = &c->right;
        v->rd_ring = left;
        v->wr_ring = right;
        v->rd_size = 1u << lo;
        v->wr_size = 1u << ro;
        v->own_notify = &c->srv_notify;
        v->peer_notify = &c->cli_notify;
        v->own_live = &c->srv_live;
        v->peer_live = &c->cli_live;
    } else {
        v->rd = &c->right;
        v->wr = &c->left;
        v->rd_ring = right;
        v->wr_ring = left;
        v->rd_size = 1u << ro;
        v->wr_size = 1u << lo;
        v->own_notify = &c->cli_notify;
        v->peer_notify = &c->srv_notify;
        v->own_live = &c->cli_live;
        v->peer_live = &c->srv_live;
    }
    v->rd_cons = __atomic_load_n(&v->rd->cons, __ATOMIC_ACQUIRE);
    v->wr_prod = __atomic_load_n(&v->wr->prod, __ATOMIC_ACQUIRE);
}

/* ---- server ------------------------------------------------------------------ */

static void server_release(struct vchan *v)
{
    bool held = false;
    for (unsigned i = 0; i < v->nr_grants; i++)
        held |= gnttab_end_access_deferred(v->grants[i]) == 1;
    v->nr_grants = 0;
    /* Pages the client still maps are never reused: leave them be. */
    if (!held) {
        free(v->left_mem);
        free(v->right_mem);
        free(v->ctrl);
    }
    v->ctrl = NULL;
}

static int grant_run(struct vchan *v, void *mem, unsigned pages)
{
    for (unsigned i = 0; i < pages; i++) {
        xenabi_grant_ref_t ref;
        int rc = gnttab_grant_access(v->peer,
                                     xen_ptr_to_frame((uint8_t *)mem + i * PAGE),
                                     false, "vchan.ring", &ref);
        if (rc < 0)
            return rc;
        v->grants[v->nr_grants++] = ref;
        v->ctrl->grants[v->nr_grants - 2] = ref; /* grants[0]: the page */
    }
    return 0;
}

/* Write "<path>/<name>" = value, readable by the client and nobody else. */
static int publish_node(struct vchan *v, xs_tx_t tx, const char *name,
                        unsigned value)
{
    char key[PATH_MAX_LEN + 20];
    snprintf(key, sizeof(key), "%s/%s", v->path, name);
    int rc = xs_printf(tx, key, "%u", value);
    if (rc < 0)
        return rc;
    /* Owner: us, no access for others; then read access for the client. */
    char perms[32];
    int n = snprintf(perms, sizeof(perms), "n%u", (unsigned)v->self);
    n += 1 + snprintf(perms + n + 1, sizeof(perms) - (size_t)n - 1, "r%u",
                      (unsigned)v->peer);
    return xs_set_perms(tx, key, perms, (size_t)n + 1);
}

static int publish_body(xs_tx_t tx, void *arg)
{
    struct vchan *v = arg;
    int rc = publish_node(v, tx, "event-channel", v->port);
    if (rc == 0)
        rc = publish_node(v, tx, "ring-ref", v->grants[0]);
    return rc;
}

int vchan_server_open(xenabi_domid_t client, const char *path,
                      unsigned left_order, unsigned right_order,
                      struct vchan **out)
{
    if (path == NULL || out == NULL || strlen(path) > PATH_MAX_LEN)
        return -XENABI_EINVAL;
    int rc = check_orders(left_order, right_order);
    if (rc < 0)
        return rc;
    struct vchan *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return -XENABI_ENOMEM;
    v->peer = client;
    strcpy(v->path, path);
    unsigned lp = ring_pages(left_order), rp = ring_pages(right_order);
    v->ctrl = aligned_alloc(PAGE, PAGE);
    if (lp != 0)
        v->left_mem = aligned_alloc(PAGE, (size_t)lp * PAGE);
    if (rp != 0)
        v->right_mem = aligned_alloc(PAGE, (size_t)rp * PAGE);
    if (v->ctrl == NULL || (lp != 0 && v->left_mem == NULL)
        || (rp != 0 && v->right_mem == NULL)) {
        rc = -XENABI_ENOMEM;
        goto fail;
    }
    memset(v->ctrl, 0, PAGE);
    if (lp != 0)
        memset(v->left_mem, 0, (size_t)lp * PAGE);
    if (rp != 0)
        memset(v->right_mem, 0, (size_t)rp * PAGE);
    struct xenabi_vchan_interface *c = v->ctrl;
    c->left_order = (uint16_t)left_order;
    c->right_order = (uint16_t)right_order;
    c->cli_live = XENABI_VCHAN_LIVE_WAITING;
    c->srv_live = XENABI_VCHAN_LIVE_CONNECTED;

    rc = gnttab_grant_access(client, xen_ptr_to_frame(c), false,
                             "vchan.ctrl", &v->grants[0]);
    if (rc < 0)
        goto fail;
    v->nr_grants = 1;
    rc = grant_run(v, v->left_mem, lp);
    if (rc == 0)
        rc = grant_run(v, v->right_mem, rp);
    if (rc < 0)
        goto fail;
    uint8_t *left = lp != 0 ? v->left_mem : in_page_ring(c, left_order);
    uint8_t *right = rp != 0 ? v->right_mem : in_page_ring(c, right_order);
    set_role(v, true, left, right, left_order, right_order);

    uint32_t self;
    rc = xs_read_u32(XS_TX_NONE, "domid", &self);
    if (rc == 0 && self >= XENABI_DOMID_FIRST_RESERVED)
        rc = -XENABI_EINVAL;
    if (rc < 0)
        goto fail;
    v->self = (xenabi_domid_t)self;
    rc = evtchn_alloc_unbound(client, &v->port);
    if (rc < 0)
        goto fail;
    v->port_owned = true;
    rc = evtchn_set_handler(v->port, on_event, v);
    if (rc == 0)
        rc = evtchn_unmask(v->port);
    if (rc == 0)
        rc = xs_transaction(publish_body, v, 8);
    if (rc < 0)
        goto fail;
    *out = v;
    return 0;
fail:
    if (v->port_owned)
        (void)evtchn_close(v->port);
    if (v->ctrl != NULL)
        server_release(v);
    else {
        free(v->left_mem);
        free(v->right_mem);
    }
    free(v);
    return rc;
}

/* ---- client ------------------------------------------------------------------- */

int vchan_client_attach(struct xenabi_vchan_interface *ctrl, void *left,
                        void *right, uint32_t port, struct vchan **out)
{
    if (ctrl == NULL || out == NULL)
        return -XENABI_EINVAL;
    /* The orders, once: what we use from now on, whatever the page says. */
    unsigned lo = __atomic_load_n(&ctrl->left_order, __ATOMIC_ACQUIRE);
    unsigned ro = __atomic_load_n(&ctrl->right_order, __ATOMIC_ACQUIRE);
    int rc = check_orders(lo, ro);
    if (rc < 0)
        return rc;
    if ((ring_pages(lo) != 0 && left == NULL)
        || (ring_pages(ro) != 0 && right == NULL))
        return -XENABI_EINVAL;
    struct vchan *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return -XENABI_ENOMEM;
    v->ctrl = ctrl;
    v->port = port;
    set_role(v, false, ring_pages(lo) != 0 ? left : in_page_ring(ctrl, lo),
             ring_pages(ro) != 0 ? right : in_page_ring(ctrl, ro), lo, ro);
    __atomic_store_n(v->own_live, XENABI_VCHAN_LIVE_CONNECTED,
                     __ATOMIC_SEQ_CST);
    (void)evtchn_notify(port); /* the server may wait for us */
    v->stats.notifies++;
    *out = v;
    return 0;
}

/*
 * A grant is mapped over a hole, not over RAM. On PVH the guest's
 * physical address space is Xen's p2m: mapping a grant where RAM is
 * orphans that RAM frame, and unmapping leaves a hole where the heap
 * expects memory (reads of ~0, writes lost). So the frame under a page we
 * map into goes back to Xen first (XENMEM_decrease_reservation) and is
 * populated again after the unmap, before the page returns to the heap.
 */
static int reservation(uint32_t cmd, void *page)
{
    xenabi_pfn_t gfn = xen_ptr_to_frame(page);
    struct xenabi_memory_reservation r = {
        .extent_start = xenabi_handle(&gfn),
        .nr_extents = 1,
        .extent_order = 0,
        .domid = XENABI_DOMID_SELF,
    };
    long rc = xen_memory_op(cmd, &r);
    if (rc < 0)
        return (int)rc;
    return rc == 1 ? 0 : -XENABI_ENOMEM; /* extents done */
}

static int map_one(struct vchan *v, xenabi_grant_ref_t ref, void *page)
{
    int hole = reservation(XENABI_XENMEM_DECREASE_RESERVATION, page);
    if (hole < 0)
        return hole;
    struct xenabi_gnttab_map_grant_ref m = {
        .host_addr = (uint64_t)xen_ptr_to_frame(page) << XENABI_PAGE_SHIFT,
        .flags = XENABI_GNTMAP_HOST_MAP,
        .ref = ref,
        .dom = v->peer,
    };
    long rc = xen_grant_table_op(XENABI_GNTTABOP_MAP_GRANT_REF, &m, 1);
    if (rc == 0 && m.status != XENABI_GNTST_OKAY)
        rc = -XENABI_EACCES;
    if (rc < 0) {
        if (reservation(XENABI_XENMEM_POPULATE_PHYSMAP, page) < 0)
            v->lost_frames = true;
        return (int)rc;
    }
    v->handles[v->nr_handles] = m.handle;
    v->handle_page[v->nr_handles] = page;
    v->handle_addr[v->nr_handles++] = m.host_addr;
    return 0;
}

static void client_unmap(struct vchan *v)
{
    for (unsigned i = 0; i < v->nr_handles; i++) {
        struct xenabi_gnttab_unmap_grant_ref u = {
            .host_addr = v->handle_addr[i],
            .handle = v->handles[i],
        };
        long rc = xen_grant_table_op(XENABI_GNTTABOP_UNMAP_GRANT_REF, &u, 1);
        void *page = v->handle_page[i];
        if (rc < 0 || u.status != XENABI_GNTST_OKAY
            || reservation(XENABI_XENMEM_POPULATE_PHYSMAP, page) < 0)
            v->lost_frames = true;
    }
    v->nr_handles = 0;
    /* A page without memory behind it must never reach the heap again. */
    for (unsigned i = 0; i < 3 && !v->lost_frames; i++)
        free(v->mapped[i]);
}

/* Map the run of grants for one ring (grants copied once from the page). */
static int map_ring(struct vchan *v, unsigned slot, unsigned order,
                    unsigned *next)
{
    unsigned pages = ring_pages(order);
    if (pages == 0)
        return 0;
    v->mapped[slot] = aligned_alloc(PAGE, (size_t)pages * PAGE);
    if (v->mapped[slot] == NULL)
        return -XENABI_ENOMEM;
    for (unsigned i = 0; i < pages; i++) {
        xenabi_grant_ref_t ref =
            __atomic_load_n(&v->ctrl->grants[(*next)++], __ATOMIC_ACQUIRE);
        int rc = map_one(v, ref, (uint8_t *)v->mapped[slot] + i * PAGE);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vchan_client_open(xenabi_domid_t server, const char *path,
                      struct vchan **out)
{
    if (path == NULL || out == NULL || strlen(path) > PATH_MAX_LEN)
        return -XENABI_EINVAL;
    char key[PATH_MAX_LEN + 20];
    uint32_t ref, port;
    snprintf(key, sizeof(key), "%s/ring-ref", path);
    int rc = xs_read_u32(XS_TX_NONE, key, &ref);
    if (rc < 0)
        return rc;
    snprintf(key, sizeof(key), "%s/event-channel", path);
    rc = xs_read_u32(XS_TX_NONE, key, &port);
    if (rc < 0)
        return rc;

    struct vchan m = {0}; /* the mappings, until attached */
    m.peer = server;
    m.mapped[0] = aligned_alloc(PAGE, PAGE);
    if (m.mapped[0] == NULL)
        return -XENABI_ENOMEM;
    rc = map_one(&m, ref, m.mapped[0]);
    unsigned lo = 0, ro = 0, next = 0;
    if (rc == 0) {
        m.ctrl = m.mapped[0];
        lo = __atomic_load_n(&m.ctrl->left_order, __ATOMIC_ACQUIRE);
        ro = __atomic_load_n(&m.ctrl->right_order, __ATOMIC_ACQUIRE);
        rc = check_orders(lo, ro);
    }
    if (rc == 0)
        rc = map_ring(&m, 1, lo, &next);
    if (rc == 0)
        rc = map_ring(&m, 2, ro, &next);
    xenabi_evtchn_port_t local = 0;
    if (rc == 0)
        rc = evtchn_bind_interdomain(server, port, &local);
    if (rc == 0) {
        (void)evtchn_set_handler(local, on_event, NULL);
        (void)evtchn_unmask(local);
    }
    struct vchan *v = NULL;
    if (rc == 0) {
        /* Attach exactly what we mapped, with the orders we checked:
         * rewrite nothing in the page, pass our own copies. */
        rc = vchan_client_attach(m.ctrl, m.mapped[1], m.mapped[2], local, &v);
        if (rc == 0 && (v->rd_size != 1u << ro || v->wr_size != 1u << lo))
            rc = -XENABI_EINVAL; /* the server changed them meanwhile */
        if (rc < 0 && v != NULL) {
            free(v);
            v = NULL;
        }
    }
    if (rc < 0) {
        if (local != 0)
            (void)evtchn_close(local);
        client_unmap(&m);
        return rc;
    }
    v->port_owned = true;
    v->peer = server;
    memcpy(v->mapped, m.mapped, sizeof(v->mapped));
    memcpy(v->handles, m.handles, sizeof(v->handles));
    memcpy(v->handle_addr, m.handle_addr, sizeof(v->handle_addr));
    memcpy(v->handle_page, m.handle_page, sizeof(v->handle_page));
    v->nr_handles = m.nr_handles;
    v->lost_frames = m.lost_frames;
    *out = v;
    return 0;
}

/* ---- the rings ------------------------------------------------------------------- */

static long broken(struct vchan *v)
{
    if (!v->broken)
        v->stats.bad_index++;
    v->broken = true;
    return -XENABI_EIO;
}

/* We moved data: signal the peer if it asked to hear of it (`bit`). */
static void moved(struct vchan *v, uint8_t bit)
{
    uint8_t was = __atomic_fetch_and(v->own_notify, (uint8_t)~bit,
                                     __ATOMIC_SEQ_CST);
    if (was & bit) {
        (void)evtchn_notify(v->port);
        v->stats.notifies++;
    }
}

long vchan_buffer_space(struct vchan *v)
{
    if (v->broken)
        return -XENABI_EIO;
    uint32_t cons = __atomic_load_n(&v->wr->cons, __ATOMIC_ACQUIRE);
    uint32_t used = v->wr_prod - cons;
    if (used > v->wr_size)
        return broken(v);
    return (long)(v->wr_size - used);
}

long vchan_data_ready(struct vchan *v)
{
    if (v->broken)
        return -XENABI_EIO;
    uint32_t prod = __atomic_load_n(&v->rd->prod, __ATOMIC_ACQUIRE);
    uint32_t ready = prod - v->rd_cons;
    if (ready > v->rd_size)
        return broken(v);
    return (long)ready;
}

long vchan_write(struct vchan *v, const void *buf, size_t len)
{
    long space = vchan_buffer_space(v);
    if (space <= 0)
        return space;
    uint32_t n = len < (size_t)space ? (uint32_t)len : (uint32_t)space;
    if (n == 0)
        return 0;
    uint32_t off = v->wr_prod & (v->wr_size - 1);
    uint32_t first = n < v->wr_size - off ? n : v->wr_size - off;
    memcpy(v->wr_ring + off, buf, first);
    memcpy(v->wr_ring, (const uint8_t *)buf + first, n - first);
    v->wr_prod += n;
    /* The bytes before the index that publishes them. */
    __atomic_store_n(&v->wr->prod, v->wr_prod, __ATOMIC_RELEASE);
    v->stats.written += n;
    moved(v, XENABI_VCHAN_NOTIFY_WRITE);
    return n;
}

long vchan_read(struct vchan *v, void *buf, size_t len)
{
    long ready = vchan_data_ready(v);
    if (ready <= 0)
        return ready;
    uint32_t n = len < (size_t)ready ? (uint32_t)len : (uint32_t)ready;
    if (n == 0)
        return 0;
    uint32_t off = v->rd_cons & (v->rd_size - 1);
    uint32_t first = n < v->rd_size - off ? n : v->rd_size - off;
    memcpy(buf, v->rd_ring + off, first);
    memcpy((uint8_t *)buf + first, v->rd_ring, n - first);
    v->rd_cons += n;
    /* Our reads of the bytes before the index that frees their space. */
    __atomic_store_n(&v->rd->cons, v->rd_cons, __ATOMIC_SEQ_CST);
    v->stats.read += n;
    moved(v, XENABI_VCHAN_NOTIFY_READ);
    return n;
}

bool vchan_peer_connected(struct vchan *v)
{
    return __atomic_load_n(v->peer_live, __ATOMIC_ACQUIRE)
           == XENABI_VCHAN_LIVE_CONNECTED;
}

/* The peer has left for good (a server's client that never came has not). */
static bool peer_gone(struct vchan *v)
{
    uint8_t live = __atomic_load_n(v->peer_live, __ATOMIC_ACQUIRE);
    if (live == XENABI_VCHAN_LIVE_CONNECTED)
        return false;
    return !(v->server && live == XENABI_VCHAN_LIVE_WAITING);
}

/*
 * Nothing to do: ask the peer to signal after it does `bit`, look once
 * more (it may have acted before seeing the request), then wait.
 */
static int wait_for(struct vchan *v, uint8_t bit, long (*look)(struct vchan *))
{
    __atomic_fetch_or(v->peer_notify, bit, __ATOMIC_SEQ_CST);
    long now = look(v);
    if (now != 0)
        return now < 0 ? (int)now : 0;
    if (peer_gone(v))
        return -XENABI_ENOTCONN;
    v->stats.waits++;
    return evtchn_wait();
}

long vchan_write_all(struct vchan *v, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        if (peer_gone(v))
            return -XENABI_ENOTCONN;
        long n = vchan_write(v, (const uint8_t *)buf + done, len - done);
        if (n < 0)
            return n;
        done += (size_t)n;
        if (n == 0) {
            int rc = wait_for(v, XENABI_VCHAN_NOTIFY_READ, vchan_buffer_space);
            if (rc < 0)
                return rc;
        }
    }
    return (long)len;
}

long vchan_read_exact(struct vchan *v, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        long n = vchan_read(v, (uint8_t *)buf + done, len - done);
        if (n < 0)
            return n;
        done += (size_t)n;
        if (n == 0) {
            int rc = wait_for(v, XENABI_VCHAN_NOTIFY_WRITE, vchan_data_ready);
            if (rc < 0)
                return rc;
        }
    }
    return (long)len;
}

size_t vchan_read_size(const struct vchan *v) { return v->rd_size; }
size_t vchan_write_size(const struct vchan *v) { return v->wr_size; }
uint32_t vchan_port(const struct vchan *v) { return v->port; }

void vchan_get_stats(const struct vchan *v, struct vchan_stats *out)
{
    *out = v->stats;
}

void vchan_close(struct vchan *v)
{
    if (v == NULL)
        return;
    __atomic_store_n(v->own_live, XENABI_VCHAN_LIVE_EXITED, __ATOMIC_SEQ_CST);
    (void)evtchn_notify(v->port);
    if (v->port_owned)
        (void)evtchn_close(v->port);
    if (v->server) {
        char key[PATH_MAX_LEN + 20];
        snprintf(key, sizeof(key), "%s/ring-ref", v->path);
        (void)xs_rm(XS_TX_NONE, key);
        snprintf(key, sizeof(key), "%s/event-channel", v->path);
        (void)xs_rm(XS_TX_NONE, key);
        server_release(v);
    } else {
        client_unmap(v);
    }
    free(v);
}
