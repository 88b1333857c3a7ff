/* The simulated vchan client (see peer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenabi/grant_table.h>
#include <xenabi/vchan.h>
#include <xensim/sim.h>

#include "peer.h"

#define MAXP 8

struct peer {
    char path[160];
    enum peer_mode mode;
    enum peer_fault fault;
    uint32_t chunk;
    bool connected;
    uint32_t ctrl_ref;
    struct xenabi_vchan_interface *ctrl;
    uint32_t refs[2][MAXP];
    uint8_t *pages[2][MAXP]; /* 0: left (we write), 1: right (we read) */
    unsigned npages[2];
    uint32_t size[2];
    uint32_t port;
    uint8_t *out; /* queued for the server */
    size_t out_len, out_sent;
    uint8_t *in;
    size_t in_len;
    /* A round's bytes: here, not on the stack, since a round may run on
     * a small scheduler thread's stack (//testing/hostsched's idle). */
    uint8_t tmp[65536];
};

static uint8_t *byte(struct peer *p, int r, uint32_t i)
{
    i &= p->size[r] - 1;
    if (p->npages[r] == 0) /* inside the control page */
        return (uint8_t *)p->ctrl + (p->size[r] == 1024 ? 1024 : 2048) + i;
    return p->pages[r][i / 4096] + i % 4096;
}

static void no_op(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static long read_num(const struct peer *p, const char *key)
{
    char path[200], v[32];
    snprintf(path, sizeof(path), "%s/%s", p->path, key);
    if (sim_xs_read(path, v, sizeof(v)) <= 0)
        return -1;
    return strtol(v, NULL, 10);
}

static bool try_connect(struct peer *p)
{
    long ref = read_num(p, "ring-ref"), port = read_num(p, "event-channel");
    if (ref < 0 || port < 0)
        return false;
    void *page;
    if (sim_gnttab_map((uint32_t)ref, false, &page) != XENABI_GNTST_OKAY)
        return false;
    p->ctrl = page;
    p->ctrl_ref = (uint32_t)ref;
    unsigned order[2] = {p->ctrl->left_order, p->ctrl->right_order};
    unsigned g = 0;
    for (int r = 0; r < 2; r++) {
        p->size[r] = 1u << order[r];
        p->npages[r] = order[r] >= 12 ? 1u << (order[r] - 12) : 0;
        for (unsigned i = 0; i < p->npages[r]; i++) {
            p->refs[r][i] = p->ctrl->grants[g++];
            void *pg;
            if (sim_gnttab_map(p->refs[r][i], false, &pg)
                != XENABI_GNTST_OKAY)
                abort();
            p->pages[r][i] = pg;
        }
    }
    if (sim_evtchn_bind((uint32_t)port, no_op, p, &p->port) != 0)
        abort();
    __atomic_store_n(&p->ctrl->cli_live, XENABI_VCHAN_LIVE_CONNECTED,
                     __ATOMIC_SEQ_CST);
    sim_evtchn_notify(p->port);
    p->connected = true;
    return true;
}

static void signal_if(struct peer *p, uint8_t bit)
{
    uint8_t was = __atomic_fetch_and(&p->ctrl->cli_notify, (uint8_t)~bit,
                                     __ATOMIC_SEQ_CST);
    if (was & bit)
        sim_evtchn_notify(p->port);
}

/* Read up to max bytes from the right ring into dst. */
static uint32_t take(struct peer *p, uint8_t *dst, uint32_t max)
{
    struct xenabi_vchan_ring_shared *r = &p->ctrl->right;
    uint32_t cons = r->cons, prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
    uint32_t n = prod - cons;
    if (n > max)
        n = max;
    for (uint32_t i = 0; i < n; i++)
        dst[i] = *byte(p, 1, cons + i);
    __atomic_store_n(&r->cons, cons + n, __ATOMIC_SEQ_CST);
    if (n)
        signal_if(p, XENABI_VCHAN_NOTIFY_READ);
    return n;
}

static uint32_t put(struct peer *p, const uint8_t *src, uint32_t len)
{
    struct xenabi_vchan_ring_shared *l = &p->ctrl->left;
    uint32_t prod = l->prod, cons = __atomic_load_n(&l->cons, __ATOMIC_ACQUIRE);
    uint32_t space = p->size[0] - (prod - cons);
    uint32_t n = len < space ? len : space;
    for (uint32_t i = 0; i < n; i++)
        *byte(p, 0, prod + i) = src[i];
    __atomic_store_n(&l->prod, prod + n, __ATOMIC_RELEASE);
    if (n)
        signal_if(p, XENABI_VCHAN_NOTIFY_WRITE);
    return n;
}

static void apply_fault(struct peer *p)
{
    struct xenabi_vchan_interface *c = p->ctrl;
    switch (p->fault) {
    case PEER_CONS_AHEAD:
        c->right.cons = c->right.prod + 5000;
        break;
    case PEER_PROD_AHEAD:
        c->left.prod = c->left.cons + p->size[0] + 1;
        break;
    case PEER_PROD_BACK:
        c->left.prod = c->left.cons - 1;
        break;
    case PEER_REWRITE_ORDERS:
        c->left_order = 20;
        c->right_order = 20;
        break;
    case PEER_NOTIFY_GARBAGE:
        c->srv_notify = 0xff;
        break;
    default:
        return;
    }
    p->fault = PEER_FAULT_NONE;
}

static bool round_fn(void *arg)
{
    struct peer *p = arg;
    if (!p->connected)
        return try_connect(p);
    if (p->ctrl == NULL)
        return false;
    bool progress = false;
    if (p->fault != PEER_FAULT_NONE) {
        apply_fault(p);
        progress = true;
    }
    if (p->out_sent < p->out_len) {
        uint32_t n = put(p, p->out + p->out_sent,
                         (uint32_t)(p->out_len - p->out_sent));
        p->out_sent += n;
        progress |= n != 0;
    }
    uint8_t *tmp = p->tmp;
    uint32_t max = p->chunk < sizeof(p->tmp) ? p->chunk : sizeof(p->tmp);
    if (p->mode == PEER_ECHO) {
        struct xenabi_vchan_ring_shared *l = &p->ctrl->left;
        uint32_t space = p->size[0] - (l->prod - l->cons);
        if (space < max)
            max = space;
        uint32_t n = take(p, tmp, max);
        if (n) {
            if (put(p, tmp, n) != n)
                abort();
            progress = true;
        }
    } else if (p->mode == PEER_SINK) {
        uint32_t n = take(p, tmp, max);
        if (n) {
            p->in = realloc(p->in, p->in_len + n);
            memcpy(p->in + p->in_len, tmp, n);
            p->in_len += n;
            progress = true;
        }
    }
    return progress;
}

struct peer *peer_create(const char *rel, enum peer_mode mode, uint32_t chunk)
{
    struct peer *p = calloc(1, sizeof(*p));
    snprintf(p->path, sizeof(p->path), "/local/domain/%d/%s", SIM_GUEST_DOMID,
             rel);
    p->mode = mode;
    p->chunk = chunk;
    sim_set_round_hook(round_fn, p);
    return p;
}

void peer_set_mode(struct peer *p, enum peer_mode mode) { p->mode = mode; }
void peer_fault(struct peer *p, enum peer_fault f) { p->fault = f; }
bool peer_connected(const struct peer *p) { return p->connected; }
struct xenabi_vchan_interface *peer_control(struct peer *p)
{
    return p->connected ? p->ctrl : NULL;
}

void peer_send(struct peer *p, const void *buf, size_t len)
{
    p->out = realloc(p->out, p->out_len + len);
    memcpy(p->out + p->out_len, buf, len);
    p->out_len += len;
}

const uint8_t *peer_received(const struct peer *p, size_t *len)
{
    *len = p->in_len;
    return p->in;
}

void peer_request(struct peer *p, uint8_t bits)
{
    __atomic_fetch_or(&p->ctrl->srv_notify, bits, __ATOMIC_SEQ_CST);
}

uint8_t peer_cli_notify(const struct peer *p)
{
    return __atomic_load_n(&p->ctrl->cli_notify, __ATOMIC_SEQ_CST);
}

uint64_t peer_events_received(const struct peer *p)
{
    return p->port ? sim_evtchn_received(p->port) : 0;
}

void peer_disconnect(struct peer *p)
{
    if (p->ctrl == NULL)
        return;
    __atomic_store_n(&p->ctrl->cli_live, XENABI_VCHAN_LIVE_EXITED,
                     __ATOMIC_SEQ_CST);
    for (int r = 0; r < 2; r++)
        for (unsigned i = 0; i < p->npages[r]; i++)
            sim_gnttab_unmap(p->refs[r][i], false);
    sim_gnttab_unmap(p->ctrl_ref, false);
    p->ctrl = NULL;
    if (p->port)
        sim_evtchn_close(p->port);
    p->port = 0;
}

void peer_close(struct peer *p)
{
    if (p->ctrl == NULL)
        return;
    __atomic_store_n(&p->ctrl->cli_live, XENABI_VCHAN_LIVE_EXITED,
                     __ATOMIC_SEQ_CST);
    if (p->port)
        sim_evtchn_notify(p->port);
    peer_disconnect(p);
}

void peer_destroy(struct peer *p)
{
    sim_set_round_hook(NULL, NULL);
    peer_disconnect(p);
    free(p->out);
    free(p->in);
    free(p);
}
