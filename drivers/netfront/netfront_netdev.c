/*
 * netfront behind <netdev/netdev.h>: an adapter over netfront's public
 * API. A frame netfront lends in its own page becomes a netdev_buf as it
 * is; one it copies (several slots, or no spare page) is copied once
 * more into a page of the adapter's, since netfront's copy is valid only
 * during its callback.
 */
#include <errno.h>
#include <evtchn_sched/evtchn_sched.h>
#include <netfront/netfront_netdev.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time/time.h>

#define PAGE 4096u
_Static_assert(NETFRONT_MAX_FRAME <= NETDEV_RX_GSO_MAX, "frame bound");

struct slot {
    struct netdev_buf buf;
    uint8_t *page; /* the adapter's own, for copied frames */
    uint8_t *lent; /* netfront's page while the stack holds it, or NULL */
    bool held;
};

struct adapter {
    struct netdev nd;
    struct netfront *nf;
    struct slot slots[NETFRONT_NETDEV_RX_BUFS];
    uint16_t free[NETFRONT_NETDEV_RX_BUFS];
    uint16_t nfree;
    uint8_t *pages;
    struct netfront_netdev_stats stats;
};

static struct adapter *of(struct netdev *nd)
{
    return (struct adapter *)((char *)nd - offsetof(struct adapter, nd));
}

/* netfront's errors are Xen's numbers (the same as Linux's for these). */
static int to_errno(int xen)
{
    switch (xen) {
    case -XENABI_EAGAIN: return -EAGAIN;
    case -XENABI_EINVAL: return -EINVAL;
    case -XENABI_E2BIG: return -EMSGSIZE;
    case -XENABI_ENOMEM: return -ENOMEM;
    case -XENABI_ENOTCONN: return -ENOTCONN;
    default: return xen < 0 ? -EIO : xen;
    }
}

/*
 * Slots for a frame of len bytes, a page each, chained (netdev_buf.next),
 * or NULL (dropped and counted). A page holds an Ethernet frame; a large
 * TCP segment from the backend (GSO, up to 64 KiB) takes several.
 */
static struct slot *take_slots(struct adapter *a, size_t len)
{
    if (a->nd.rx == NULL) {
        a->stats.rx_dropped++;
        return NULL;
    }
    size_t n = (len + PAGE - 1) / PAGE;
    if (len == 0 || n > a->nfree) {
        a->stats.rx_no_buffer++;
        return NULL;
    }
    uint32_t flags = (netfront_rx_flags(a->nf) & NETFRONT_RX_CSUM_VALID)
                         ? NETDEV_RX_CSUM_VALID
                         : 0;
    struct slot *head = NULL, *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &a->slots[a->free[--a->nfree]];
        s->buf.data = s->page;
        s->buf.len = len - i * PAGE < PAGE ? len - i * PAGE : PAGE;
        s->buf.flags = flags;
        s->buf.next = NULL;
        s->held = true;
        if (prev != NULL)
            prev->buf.next = &s->buf;
        else
            head = s;
        prev = s;
    }
    return head;
}

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
    struct adapter *a = arg;
    struct slot *s = take_slots(a, len);
    if (s == NULL)
        return;
    size_t at = 0;
    for (struct netdev_buf *b = &s->buf; b != NULL; b = b->next) {
        memcpy(b->data, frame + at, b->len);
        at += b->len;
    }
    a->stats.rx_copied++;
    a->nd.rx(a->nd.rx_arg, &s->buf);
}

/* A frame in netfront's page, private again (its grant ended): no copy. */
static bool on_page(void *arg, uint8_t *page, size_t offset, size_t len)
{
    struct adapter *a = arg;
    struct slot *s = take_slots(a, len); /* one: len is within the page */
    if (s == NULL)
        return false;
    s->lent = page;
    s->buf.data = page + offset;
    a->nd.rx(a->nd.rx_arg, &s->buf);
    return true;
}

static int nn_send(struct netdev *nd, const struct netdev_frag *frags,
                   size_t n, const struct netdev_tx *tx)
{
    struct netfront_frag nfrags[NETDEV_MAX_FRAGS];
    /* The frame is copied into granted pages of netfront's own, so no
     * completion (NETDEV_F_TX_SG) is taken. */
    if (n == 0 || n > NETDEV_MAX_FRAGS || (tx != NULL && tx->done != NULL))
        return -EINVAL;
    bool csum = tx != NULL && tx->csum;
    if (csum && !(nd->features & NETDEV_F_TX_CSUM))
        return -EINVAL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        nfrags[i].data = frags[i].data;
        nfrags[i].len = frags[i].len;
        total += frags[i].len;
    }
    if (total > (size_t)nd->mtu + 14)
        return -EMSGSIZE;
    return to_errno(netfront_send_flags(of(nd)->nf, nfrags, n,
                                        csum ? NETFRONT_TX_CSUM_BLANK : 0));
}

static int nn_poll(struct netdev *nd)
{
    return to_errno(netfront_poll(of(nd)->nf));
}

static int nn_wait(struct netdev *nd, uint64_t deadline_ns)
{
    xenabi_evtchn_port_t port;
    if (netfront_port(of(nd)->nf, &port) != 0)
        return -ENOTCONN;
    int rc = evtchn_sched_wait(port, deadline_ns == 0 ? TIME_NEVER
                                                      : deadline_ns);
    if (rc < 0)
        return to_errno(rc);
    return rc == 0 ? -ETIMEDOUT : 0;
}

static void nn_release(struct netdev *nd, struct netdev_buf *buf)
{
    struct adapter *a = of(nd);
    uintptr_t i = buf->cookie;
    if (i >= NETFRONT_NETDEV_RX_BUFS || buf != &a->slots[i].buf
        || !a->slots[i].held) {
        a->stats.bad_release++;
        return;
    }
    a->slots[i].held = false;
    if (a->slots[i].lent != NULL) {
        netfront_rx_page_release(a->nf, a->slots[i].lent);
        a->slots[i].lent = NULL;
    }
    a->free[a->nfree++] = (uint16_t)i;
}

static const struct netdev_ops ops = {
    .send = nn_send,
    .poll = nn_poll,
    .wait = nn_wait,
    .release = nn_release,
};

int netfront_netdev_open(const char *nodename, struct netdev **out)
{
    struct adapter *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->pages = aligned_alloc(PAGE, (size_t)NETFRONT_NETDEV_RX_BUFS * PAGE);
    if (a->pages == NULL) {
        free(a);
        return -ENOMEM;
    }
    for (uint16_t i = 0; i < NETFRONT_NETDEV_RX_BUFS; i++) {
        struct slot *s = &a->slots[i];
        s->page = a->pages + (size_t)i * PAGE;
        s->buf.data = s->page;
        s->buf.dev = &a->nd;
        s->buf.cookie = i;
        a->free[a->nfree++] = (uint16_t)(NETFRONT_NETDEV_RX_BUFS - 1 - i);
    }
    a->nd.ops = &ops;
    a->nd.name = "vif";
    a->nd.mtu = 1500;
    /* Frames come in one slot each from netback (rx-copy fills a page
     * per frame up to the MTU), so they are lent: no NETDEV_F_RX_COPIES.
     * Large TCP segments (GSO) come in several and are copied. */
    a->nd.features = 0;

    int rc = netfront_open(nodename, on_frame, a, &a->nf);
    if (rc == 0) {
        netfront_set_rx_page(a->nf, on_page);
        /* The stack skips the checksum check of frames marked valid
         * (csum_blank ones too) and takes chained frames up to 64 KiB. */
        netfront_set_rx_offload(a->nf, true);
        rc = netfront_wait_connected(a->nf);
    }
    if (rc != 0) {
        if (a->nf != NULL)
            netfront_free(a->nf);
        free(a->pages);
        free(a);
        return to_errno(rc);
    }
    netfront_mac(a->nf, a->nd.mac);
    /* Read at this connection; a backend that reconnects without the
     * offload makes such sends fail (-EIO) until the image restarts. */
    if (netfront_tx_csum_offload(a->nf))
        a->nd.features |= NETDEV_F_TX_CSUM;
    a->nd.features |= NETDEV_F_RX_CSUM | NETDEV_F_RX_GSO;
    *out = &a->nd;
    return 0;
}

struct netfront *netfront_netdev_netfront(struct netdev *nd)
{
    return of(nd)->nf;
}

void netfront_netdev_get_stats(struct netdev *nd,
                               struct netfront_netdev_stats *out)
{
    *out = of(nd)->stats;
}

int netfront_netdev_format_stats(struct netdev *nd, char *buf, size_t n)
{
    struct netfront_stats nf;
    const struct adapter *a = of(nd);
    netfront_get_stats(a->nf, &nf);
    return snprintf(buf, n,
                    "netfront: rx %llu frames: %llu lent (no copy), %llu copied"
                    ", %llu dropped; tx %llu frames in %llu slots; rx %llu"
                    " gso; events %llu in, %llu out",
                    (unsigned long long)nf.rx_frames,
                    (unsigned long long)nf.rx_loaned,
                    (unsigned long long)nf.rx_copied,
                    (unsigned long long)(a->stats.rx_no_buffer
                                         + a->stats.rx_dropped),
                    (unsigned long long)nf.tx_frames,
                    (unsigned long long)nf.tx_slots,
                    (unsigned long long)nf.rx_gso,
                    (unsigned long long)nf.events,
                    (unsigned long long)nf.notifies);
}

void netfront_netdev_free(struct netdev *nd)
{
    struct adapter *a = of(nd);
    netfront_free(a->nf);
    free(a->pages);
    free(a);
}
