/*
 * The simulated netback of netback.h: one step of the handshake per
 * round, and while connected, the tx and rx rings.
 */
#include "netback.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenabi/grant_table.h>
#include <xensim/sim.h>

static struct netback nb;

static void fe_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nb.fe_error, sizeof(nb.fe_error), fmt, ap);
    va_end(ap);
    nb.fe_errors++;
    fprintf(stderr, "netback: frontend error: %s\n", nb.fe_error);
}

static void set_state(enum xenabi_xenbus_state s)
{
    char v[8];
    snprintf(v, sizeof(v), "%u", (unsigned)s);
    nb.state = s;
    sim_xs_write(NB_BE "/state", v);
}

/* A frontend node as a number; -1 if missing or not a number. */
static long fe_u32(const char *name)
{
    char path[160], value[32];
    snprintf(path, sizeof(path), "%s/%s", NB_FE, name);
    if (sim_xs_read(path, value, sizeof(value)) <= 0)
        return -1;
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    return *end == '\0' && v <= UINT32_MAX ? (long)v : -1;
}

static void on_kick(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    nb.kicks++;
}

static void disconnect(void)
{
    if (nb.tx_page != NULL)
        sim_gnttab_unmap(nb.tx_ref, false);
    if (nb.rx_page != NULL)
        sim_gnttab_unmap(nb.rx_ref, false);
    nb.tx_page = nb.rx_page = NULL;
    if (nb.port != 0)
        sim_evtchn_close(nb.port);
    nb.port = 0;
}

static bool connect(void)
{
    long tx = fe_u32("tx-ring-ref"), rx = fe_u32("rx-ring-ref");
    long port = fe_u32("event-channel");
    nb.rx_copy = fe_u32("request-rx-copy") == 1;
    nb.rx_notify = fe_u32("feature-rx-notify") == 1;
    nb.fe_sg = fe_u32("feature-sg") == 1;
    nb.fe_gso = fe_u32("feature-gso-tcpv4") == 1;
    nb.fe_csum = fe_u32("feature-no-csum-offload") != 1;
    if (tx < 0 || rx < 0 || port < 0 || !nb.rx_copy) {
        fe_error("incomplete or unsupported frontend details");
        return false;
    }
    if (sim_gnttab_map((uint32_t)tx, false, &nb.tx_page) != XENABI_GNTST_OKAY)
        nb.tx_page = NULL;
    nb.tx_ref = (uint32_t)tx;
    if (sim_gnttab_map((uint32_t)rx, false, &nb.rx_page) != XENABI_GNTST_OKAY)
        nb.rx_page = NULL;
    nb.rx_ref = (uint32_t)rx;
    if (nb.tx_page == NULL || nb.rx_page == NULL
        || sim_evtchn_bind((uint32_t)port, on_kick, NULL, &nb.port) != 0) {
        fe_error("cannot map the rings or bind the event channel");
        disconnect();
        return false;
    }
    /* The frontend initialised the rings; we attach at index 0. */
    xenabi_ring_attach(&nb.tx, nb.tx_page, XENABI_PAGE_SIZE,
                       sizeof(union xenabi_netif_tx_slot));
    xenabi_ring_attach(&nb.rx, nb.rx_page, XENABI_PAGE_SIZE,
                       sizeof(union xenabi_netif_rx_slot));
    return true;
}

void netback_push(void)
{
    bool tx = nb.tx_page != NULL && xenabi_back_ring_push(&nb.tx);
    bool rx = nb.rx_page != NULL && xenabi_back_ring_push(&nb.rx);
    if ((tx || rx) && nb.port != 0)
        sim_evtchn_notify(nb.port);
}

static void record(const uint8_t *data, size_t len, unsigned slots,
                   uint16_t flags)
{
    struct nb_frame *f = &nb.sent[nb.tx_frames % NB_SENT_MAX];
    f->flags = flags;
    free(f->data);
    f->data = malloc(len);
    memcpy(f->data, data, len);
    f->len = len;
    f->slots = slots;
    nb.tx_frames++;
    if (nb.echo)
        netback_queue_rx(data, len);
}

/* Copy `len` bytes at `offset` of the page behind `gref` (read-only). */
static bool copy_from_grant(uint32_t gref, uint16_t offset, size_t len,
                            uint8_t *to)
{
    void *page;
    if (offset + len > XENABI_PAGE_SIZE) {
        fe_error("tx data %u+%zu beyond its page", offset, len);
        return false;
    }
    if (sim_gnttab_map(gref, true, &page) != XENABI_GNTST_OKAY) {
        fe_error("tx grant %u does not map", gref);
        return false;
    }
    memcpy(to, (uint8_t *)page + offset, len);
    sim_gnttab_unmap(gref, true);
    return true;
}

/* One tx frame: its requests are all pending (the frontend pushes whole
 * frames). */
static bool tx_frame(int64_t *ready)
{
    static uint8_t frame[NB_MAX_FRAME];
    struct xenabi_netif_tx_request reqs[XENABI_NETIF_NR_SLOTS_MIN];
    unsigned n = 0;
    for (;;) {
        if (*ready == 0 || n == XENABI_NETIF_NR_SLOTS_MIN) {
            fe_error("tx chain incomplete or longer than %d slots",
                     XENABI_NETIF_NR_SLOTS_MIN);
            return false;
        }
        xenabi_ring_copy_from_slot(&reqs[n], xenabi_ring_slot(&nb.tx,
                                                              nb.tx.cons),
                                   sizeof(reqs[n]));
        nb.tx.cons++;
        (*ready)--;
        if ((reqs[n++].flags & XENABI_NETTXF_MORE_DATA) == 0)
            break;
    }
    if (n > 1 && nb.no_sg)
        fe_error("tx chain of %u slots without feature-sg", n);
    /* The first request's size is the frame's; its own share is what the
     * others leave. */
    size_t total = reqs[0].size, rest = 0;
    for (unsigned i = 1; i < n; i++)
        rest += reqs[i].size;
    bool ok = rest < total;
    if (!ok)
        fe_error("tx first size %zu not above the rest %zu", total, rest);
    size_t at = 0;
    for (unsigned i = 0; ok && i < n; i++) {
        size_t len = i == 0 ? total - rest : reqs[i].size;
        ok = copy_from_grant(reqs[i].gref, reqs[i].offset, len, frame + at);
        at += len;
    }
    for (unsigned i = 0; i < n; i++)
        netback_put_tx(reqs[i].id,
                       ok ? nb.tx_status : XENABI_NETIF_RSP_ERROR);
    nb.tx_slots += n;
    if (ok)
        record(frame, total, n, reqs[0].flags);
    return true;
}

static bool do_tx(void)
{
    if (nb.manual_tx)
        return false;
    bool progress = false;
    for (;;) {
        int64_t ready = xenabi_back_ring_final_check(&nb.tx);
        if (ready < 0) {
            fe_error("tx req_prod beyond the ring");
            return progress;
        }
        if (ready == 0)
            break;
        while (ready > 0 && tx_frame(&ready))
            progress = true;
    }
    return progress;
}

/* Deliver queued frames while the frontend has posted enough buffers.
 * A GSO frame goes as Linux's netback sends one: its first data slot
 * says NETRXF_EXTRA_INFO (and csum_blank), the GSO extra follows in the
 * next slot (using up that request), then the rest of the data. */
static bool do_rx(void)
{
    if (nb.manual_rx)
        return false;
    bool progress = false;
    while (nb.rxq_len > 0) {
        struct nb_frame *f = &nb.rxq[nb.rxq_head];
        unsigned data_slots = (unsigned)((f->len + XENABI_PAGE_SIZE - 1)
                                         / XENABI_PAGE_SIZE);
        bool gso = f->gso_size != 0;
        unsigned slots = data_slots + (gso ? 1 : 0);
        if ((data_slots > 1 && !nb.fe_sg)
            || (gso && (!nb.fe_gso || !nb.fe_csum))) {
            nb.rx_dropped++; /* Linux would segment it: not simulated */
        } else {
            int64_t ready = xenabi_back_ring_pending(&nb.rx);
            if (ready < (int64_t)slots) {
                /* Wake when the frontend posted enough. */
                xenabi_ring_write_idx(&nb.rx.shared->req_event,
                                      nb.rx.cons + slots);
                xenabi_ring_mb();
                if (xenabi_back_ring_pending(&nb.rx) < (int64_t)slots)
                    break;
            }
            size_t at = 0;
            for (unsigned s = 0; s < data_slots; s++) {
                struct xenabi_netif_rx_request req;
                netback_take_rx(&req);
                size_t len = f->len - at < XENABI_PAGE_SIZE
                                 ? f->len - at
                                 : XENABI_PAGE_SIZE;
                netback_fill(req.gref, 0, f->data + at, len);
                uint16_t flags = s + 1 < data_slots ? XENABI_NETRXF_MORE_DATA
                                                    : 0;
                if (s == 0)
                    flags |= nb.rx_flags;
                if (s == 0 && gso)
                    flags |= XENABI_NETRXF_EXTRA_INFO
                             | XENABI_NETRXF_CSUM_BLANK
                             | XENABI_NETRXF_DATA_VALIDATED;
                netback_put_rx(req.id, 0, flags, (int16_t)len);
                if (s == 0 && gso) {
                    netback_take_rx(&req);
                    netback_put_rx_extra(XENABI_NETIF_EXTRA_TYPE_GSO, 0,
                                         f->gso_size,
                                         XENABI_NETIF_GSO_TYPE_TCPV4);
                }
                at += len;
            }
            nb.rx_frames++;
            nb.rx_slots += slots;
        }
        free(f->data);
        f->data = NULL;
        nb.rxq_head = (nb.rxq_head + 1) % NB_RXQ_MAX;
        nb.rxq_len--;
        progress = true;
    }
    return progress;
}

static bool round_fn(void *arg)
{
    (void)arg;
    long fs = fe_u32("state");
    bool fe_closing = fs < 0 || fs == XENABI_XENBUS_STATE_CLOSING
                      || fs == XENABI_XENBUS_STATE_CLOSED;
    switch (nb.state) {
    case XENABI_XENBUS_STATE_INITIALISING:
        /* Written here, after the test configured us, as netback does
         * before InitWait. */
        sim_xs_write(NB_BE "/feature-sg", nb.no_sg ? "0" : "1");
        if (!nb.no_rx_copy)
            sim_xs_write(NB_BE "/feature-rx-copy", "1");
        if (nb.no_csum)
            sim_xs_write(NB_BE "/feature-no-csum-offload", "1");
        if (nb.ipv6_csum)
            sim_xs_write(NB_BE "/feature-ipv6-csum-offload", "1");
        set_state(XENABI_XENBUS_STATE_INIT_WAIT);
        return true;
    case XENABI_XENBUS_STATE_INIT_WAIT:
        if (nb.close_requested || fe_closing) {
            set_state(XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        /* Like Linux's netback: Initialised is not enough, the frontend
         * must say Connected before the rings are mapped. */
        if (fs != XENABI_XENBUS_STATE_CONNECTED)
            return false;
        if (!connect()) {
            set_state(XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        set_state(XENABI_XENBUS_STATE_CONNECTED);
        sim_evtchn_notify(nb.port);
        return true;
    case XENABI_XENBUS_STATE_CONNECTED: {
        if (nb.close_requested || fe_closing) {
            disconnect();
            set_state(XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        bool progress = do_tx();
        progress |= do_rx();
        if (progress)
            netback_push();
        return progress;
    }
    case XENABI_XENBUS_STATE_CLOSING:
        if (fs >= 0 && fs != XENABI_XENBUS_STATE_CLOSED)
            return false;
        set_state(XENABI_XENBUS_STATE_CLOSED);
        return true;
    case XENABI_XENBUS_STATE_CLOSED:
        if (fs != XENABI_XENBUS_STATE_INITIALISING)
            return false;
        nb.close_requested = false;
        set_state(XENABI_XENBUS_STATE_INIT_WAIT);
        return true;
    default:
        return false;
    }
}

void netback_destroy(void)
{
    for (unsigned i = 0; i < NB_SENT_MAX; i++)
        free(nb.sent[i].data);
    for (unsigned i = 0; i < NB_RXQ_MAX; i++)
        free(nb.rxq[i].data);
    memset(&nb, 0, sizeof(nb));
}

struct netback *netback_create(const char *mac)
{
    netback_destroy();
    nb.tx_status = XENABI_NETIF_RSP_OKAY;
    sim_xs_write(NB_FE "/backend", NB_BE);
    sim_xs_write(NB_FE "/backend-id", "0");
    sim_xs_write(NB_FE "/state", "1");
    if (mac != NULL)
        sim_xs_write(NB_FE "/mac", mac);
    sim_xs_write(NB_BE "/frontend", NB_FE);
    sim_xs_write(NB_BE "/frontend-id", "1");
    set_state(XENABI_XENBUS_STATE_INITIALISING);
    sim_set_round_hook(round_fn, NULL);
    return &nb;
}

void netback_queue_rx(const void *data, size_t len)
{
    netback_queue_rx_gso(data, len, 0);
}

void netback_queue_rx_gso(const void *data, size_t len, uint16_t gso_size)
{
    if (nb.rxq_len == NB_RXQ_MAX) {
        fprintf(stderr, "netback: rx queue full\n");
        abort();
    }
    struct nb_frame *f = &nb.rxq[(nb.rxq_head + nb.rxq_len) % NB_RXQ_MAX];
    f->data = malloc(len);
    memcpy(f->data, data, len);
    f->len = len;
    f->gso_size = gso_size;
    nb.rxq_len++;
}

void netback_close(void)
{
    nb.close_requested = true;
}

bool netback_take_rx(struct xenabi_netif_rx_request *req)
{
    if (nb.rx_page == NULL || xenabi_back_ring_pending(&nb.rx) <= 0)
        return false;
    xenabi_ring_copy_from_slot(req, xenabi_ring_slot(&nb.rx, nb.rx.cons),
                               sizeof(*req));
    nb.rx.cons++;
    return true;
}

bool netback_take_tx(struct xenabi_netif_tx_request *req)
{
    if (nb.tx_page == NULL || xenabi_back_ring_pending(&nb.tx) <= 0)
        return false;
    xenabi_ring_copy_from_slot(req, xenabi_ring_slot(&nb.tx, nb.tx.cons),
                               sizeof(*req));
    nb.tx.cons++;
    return true;
}

void netback_fill(uint32_t gref, uint16_t offset, const void *data,
                  size_t len)
{
    void *page;
    if (offset + len > XENABI_PAGE_SIZE
        || sim_gnttab_map(gref, false, &page) != XENABI_GNTST_OKAY) {
        fe_error("rx grant %u does not map writable", gref);
        return;
    }
    memcpy((uint8_t *)page + offset, data, len);
    sim_gnttab_unmap(gref, false);
}

void netback_put_rx(uint16_t id, uint16_t offset, uint16_t flags,
                    int16_t status)
{
    struct xenabi_netif_rx_response *rsp =
        xenabi_ring_slot(&nb.rx, nb.rx.prod++);
    rsp->id = id;
    rsp->offset = offset;
    rsp->flags = flags;
    rsp->status = status;
}

void netback_put_rx_extra(uint8_t type, uint8_t flags, uint16_t gso_size,
                          uint8_t gso_type)
{
    struct xenabi_netif_extra_info *x =
        xenabi_ring_slot(&nb.rx, nb.rx.prod++);
    memset(x, 0, sizeof(*x));
    x->type = type;
    x->flags = flags;
    x->u.gso.size = gso_size;
    x->u.gso.type = gso_type;
}

void netback_put_tx(uint16_t id, int16_t status)
{
    struct xenabi_netif_tx_response *rsp =
        xenabi_ring_slot(&nb.tx, nb.tx.prod++);
    rsp->id = id;
    rsp->status = status;
}

void netback_set_rsp_prod(bool tx, uint32_t value)
{
    struct xenabi_ring *r = tx ? &nb.tx : &nb.rx;
    xenabi_ring_write_idx(&r->shared->rsp_prod, value);
}
