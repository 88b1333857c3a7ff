/*
 * netfront: the connection. Pages are allocated once in netfront_open;
 * each connection (setup .. teardown) grants the two ring pages, binds
 * an event channel, and grants buffer pages as they are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>
#include <xenstore/xenstore.h>

#include "internal.h"

#define NR_PAGES \
    (2 + NETFRONT_TX_SLOTS + NETFRONT_RX_SLOTS + NETFRONT_RX_LOANS)

static void on_event(xenabi_evtchn_port_t port, void *arg)
{
    (void)port;
    struct netfront *nf = arg;
    /* Interrupt context on the image: only note it; netfront_poll works. */
    nf->kicked = true;
    nf->stats.events++;
}

bool netfront_end_grant(struct netfront *nf, struct netfront_buf *b)
{
    if (gnttab_end_access_deferred(b->ref) == 0)
        return true;
    /* The backend still maps the page: it may write it at any time, so
     * the page is retired, and its grant is revoked when it lets go. */
    nf->stats.busy_grants++;
    nf->leaked_pages = true;
    b->state = BUF_LOST;
    return false;
}

int64_t netfront_ring_ready(const struct xenabi_ring *r)
{
    xenabi_ring_idx_t rsp_prod = xenabi_ring_read_idx(&r->shared->rsp_prod);
    xenabi_ring_rmb();
    /* Compare with our private req_prod: the shared copy is writable by
     * the backend too. */
    xenabi_ring_idx_t ready = rsp_prod - r->cons;
    if (ready > (xenabi_ring_idx_t)(r->prod - r->cons))
        return -1;
    return ready;
}

void netfront_notify(struct netfront *nf)
{
    if (nf->port_bound) {
        nf->stats.notifies++;
        (void)evtchn_notify(nf->port);
    }
}

static int read_mac(struct netfront *nf)
{
    char path[XENBUS_PATH_MAX + 8];
    char text[32];
    snprintf(path, sizeof(path), "%s/mac", nf->front.nodename);
    int rc = xs_read(XS_TX_NONE, path, text, sizeof(text), NULL);
    if (rc == -XENABI_ERANGE)
        return -XENABI_EINVAL;
    if (rc < 0)
        return rc;
    return netfront_parse_mac(text, nf->mac);
}

/* A backend feature flag: missing means 0; anything but 0/1 is an error. */
static int read_feature(struct netfront *nf, const char *key, bool *on)
{
    uint32_t v = 0;
    int rc = xenbus_backend_read_u32(&nf->front, key, &v);
    if (rc == -XENABI_ENOENT)
        v = 0;
    else if (rc < 0)
        return rc;
    if (v > 1)
        return -XENABI_EINVAL;
    *on = v == 1;
    return 0;
}

static void release_rings(struct netfront *nf)
{
    if (nf->port_bound) {
        (void)evtchn_close(nf->port);
        nf->port_bound = false;
    }
    if (nf->rings_granted) {
        if (gnttab_end_access_deferred(nf->tx_ring_ref) != 0
            || gnttab_end_access_deferred(nf->rx_ring_ref) != 0) {
            nf->stats.busy_grants++;
            nf->leaked_pages = true;
        }
        nf->rings_granted = false;
    }
}

static void front_teardown(struct xenbus_front *f)
{
    struct netfront *nf = f->arg;
    nf->connected = false;
    netfront_tx_release(nf);
    netfront_rx_release(nf);
    release_rings(nf);
}

static int front_setup(struct xenbus_front *f)
{
    struct netfront *nf = f->arg;
    bool rx_copy = false;
    int rc = read_mac(nf);
    if (rc == 0)
        rc = read_feature(nf, "feature-rx-copy", &rx_copy);
    if (rc == 0)
        rc = read_feature(nf, "feature-sg", &nf->backend_sg);
    /* Checksum offload on transmit: on for IPv4 unless the backend says
     * feature-no-csum-offload, off for IPv6 unless it says
     * feature-ipv6-csum-offload (Xen's io/netif.h). */
    bool no_csum = false;
    if (rc == 0)
        rc = read_feature(nf, "feature-no-csum-offload", &no_csum);
    if (rc == 0)
        rc = read_feature(nf, "feature-ipv6-csum-offload", &nf->backend_csum6);
    nf->backend_csum = !no_csum;
    /* We only receive by copy (our pages, the backend writes them). */
    if (rc == 0 && !rx_copy)
        rc = -XENABI_EOPNOTSUPP;
    if (rc < 0)
        return rc;

    memset(nf->tx_ring_page, 0, XENABI_PAGE_SIZE);
    memset(nf->rx_ring_page, 0, XENABI_PAGE_SIZE);
    xenabi_front_ring_init(&nf->tx, nf->tx_ring_page, XENABI_PAGE_SIZE,
                           sizeof(union xenabi_netif_tx_slot));
    xenabi_front_ring_init(&nf->rx, nf->rx_ring_page, XENABI_PAGE_SIZE,
                           sizeof(union xenabi_netif_rx_slot));
    netfront_tx_reset(nf);
    netfront_rx_reset(nf);

    rc = gnttab_grant_access(f->backend_id, xen_ptr_to_frame(nf->tx_ring_page),
                             false, "netfront.tx-ring", &nf->tx_ring_ref);
    if (rc < 0)
        return rc;
    rc = gnttab_grant_access(f->backend_id, xen_ptr_to_frame(nf->rx_ring_page),
                             false, "netfront.rx-ring", &nf->rx_ring_ref);
    if (rc < 0) {
        (void)gnttab_end_access(nf->tx_ring_ref);
        return rc;
    }
    nf->rings_granted = true;
    rc = evtchn_alloc_unbound(f->backend_id, &nf->port);
    if (rc == 0) {
        nf->port_bound = true;
        rc = evtchn_set_handler(nf->port, on_event, nf);
    }
    if (rc == 0)
        rc = evtchn_unmask(nf->port);
    /* Buffers for the backend to fill as soon as it connects. */
    if (rc == 0)
        netfront_rx_refill(nf);
    if (rc < 0)
        /* xenbus runs teardown only after a setup that worked */
        front_teardown(f);
    return rc;
}

static int front_publish(struct xenbus_front *f, xs_tx_t tx)
{
    struct netfront *nf = f->arg;
    int rc = xenbus_front_printf(f, tx, "tx-ring-ref", "%u",
                                 (unsigned)nf->tx_ring_ref);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "rx-ring-ref", "%u",
                                 (unsigned)nf->rx_ring_ref);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "event-channel", "%u",
                                 (unsigned)nf->port);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "request-rx-copy", "1");
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "feature-rx-notify", "1");
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "feature-sg", "1");
    /*
     * Unless the caller honours csum_blank (netfront_set_rx_offload),
     * every frame we hand up must carry its checksums: without this key a
     * backend may pass on frames whose TCP/UDP checksum was left blank
     * for offload (Linux does, for dom0's own TCP), which a stack that
     * checks them (lwIP) drops. Found by tests/xenlab's tcp-echo-pv: ping
     * answered, every TCP connection timed out.
     *
     * With receive offload, the keys Linux's netback reads to give us
     * large TCP segments (GSO): it turns TSO on for the vif only with
     * checksum offload too (Linux drops TSO from a device without it).
     */
    const char *off = nf->rx_offload ? "1" : "0";
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "feature-no-csum-offload", "%s",
                                 nf->rx_offload ? "0" : "1");
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "feature-ipv6-csum-offload", "%s",
                                 off);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "feature-gso-tcpv4", "%s", off);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "feature-gso-tcpv6", "%s", off);
    return rc;
}

static int front_connect(struct xenbus_front *f)
{
    struct netfront *nf = f->arg;
    nf->connected = true;
    netfront_rx_refill(nf);
    /* The rx requests went out before the backend listened. */
    netfront_notify(nf);
    return 0;
}

static const struct xenbus_front_ops front_ops = {
    .setup = front_setup,
    .publish = front_publish,
    .connect = front_connect,
    .teardown = front_teardown,
    /* netback connects only once the frontend says Connected. */
    .announce_connected = true,
};

int netfront_open(const char *nodename, netfront_rx_fn rx, void *arg,
                  struct netfront **out)
{
    if (nodename == NULL || rx == NULL || out == NULL)
        return -XENABI_EINVAL;
    struct netfront *nf = calloc(1, sizeof(*nf));
    if (nf == NULL)
        return -XENABI_ENOMEM;
    nf->pages = aligned_alloc(XENABI_PAGE_SIZE,
                              (size_t)NR_PAGES * XENABI_PAGE_SIZE);
    nf->frame = malloc(NETFRONT_MAX_FRAME);
    if (nf->pages == NULL || nf->frame == NULL) {
        free(nf->pages);
        free(nf->frame);
        free(nf);
        return -XENABI_ENOMEM;
    }
    memset(nf->pages, 0, (size_t)NR_PAGES * XENABI_PAGE_SIZE);
    nf->tx_ring_page = nf->pages;
    nf->rx_ring_page = nf->pages + XENABI_PAGE_SIZE;
    uint8_t *p = nf->pages + 2 * XENABI_PAGE_SIZE;
    for (unsigned i = 0; i < NETFRONT_TX_SLOTS; i++, p += XENABI_PAGE_SIZE)
        nf->tx_bufs[i].page = p;
    nf->rx_pool = p;
    for (unsigned i = 0; i < NETFRONT_RX_SLOTS; i++, p += XENABI_PAGE_SIZE)
        nf->rx_bufs[i].page = p;
    for (unsigned i = 0; i < NETFRONT_RX_LOANS; i++, p += XENABI_PAGE_SIZE)
        nf->rx_spare[nf->rx_nspare++] = p;
    nf->rx_fn = rx;
    nf->rx_arg = arg;

    int rc = xenbus_front_init(&nf->front, nodename, &front_ops, nf);
    if (rc < 0) {
        free(nf->pages);
        free(nf->frame);
        free(nf);
        return rc;
    }
    *out = nf;
    return 0;
}

int netfront_wait_connected(struct netfront *nf)
{
    return xenbus_front_wait_connected(&nf->front);
}

bool netfront_connected(const struct netfront *nf)
{
    return nf->connected
           && nf->front.state == XENABI_XENBUS_STATE_CONNECTED;
}

bool netfront_tx_csum_offload(const struct netfront *nf)
{
    return nf->connected && nf->backend_csum && nf->backend_csum6;
}

void netfront_set_rx_offload(struct netfront *nf, bool on)
{
    nf->rx_offload = on;
}

unsigned netfront_rx_flags(const struct netfront *nf)
{
    return nf->rx_flags;
}

int netfront_port(const struct netfront *nf, xenabi_evtchn_port_t *port)
{
    if (!nf->port_bound)
        return -XENABI_ENOTCONN;
    *port = nf->port;
    return 0;
}

void netfront_mac(const struct netfront *nf, uint8_t mac[NETFRONT_MAC_LEN])
{
    memcpy(mac, nf->mac, NETFRONT_MAC_LEN);
}

int netfront_poll(struct netfront *nf)
{
    /* Watch events (the backend closing) run the state machine. */
    (void)xs_poll();
    if (!netfront_connected(nf))
        return -XENABI_ENOTCONN;
    nf->kicked = false;
    netfront_tx_reclaim(nf);
    int frames = netfront_rx_receive(nf);
    netfront_rx_refill(nf);
    return frames;
}

int netfront_close(struct netfront *nf)
{
    return xenbus_front_close(&nf->front);
}

void netfront_free(struct netfront *nf)
{
    if (nf == NULL)
        return;
    if (nf->front.state != XENABI_XENBUS_STATE_CLOSED)
        (void)netfront_close(nf);
    xenbus_front_destroy(&nf->front);
    /* A page the backend may still write is never handed back. */
    if (nf->leaked_pages && gnttab_reclaim_deferred() != 0)
        printf("netfront: backend still maps pages; not freeing them\n");
    else
        free(nf->pages);
    free(nf->frame);
    free(nf);
}

void netfront_get_stats(const struct netfront *nf, struct netfront_stats *out)
{
    *out = nf->stats;
}
