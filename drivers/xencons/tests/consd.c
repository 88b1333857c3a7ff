/* The simulated console daemon (see consd.h). */
#include <stdlib.h>
#include <string.h>

#include <xensim/sim.h>

#include "consd.h"

struct consd {
    struct xenabi_console_interface *page;
    uint32_t port, chunk;
    bool held;
    enum consd_fault fault;
    uint8_t *log, *input;
    size_t log_len, in_len, in_sent;
};

static void no_op(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static bool round_fn(void *arg)
{
    struct consd *d = arg;
    struct xenabi_console_interface *p = d->page;
    if (d->fault == CONSD_OUT_CONS_AHEAD) {
        p->out_cons = p->out_prod + 3000;
        d->fault = CONSD_FAULT_NONE;
        return true;
    }
    if (d->fault == CONSD_IN_PROD_AHEAD) {
        p->in_prod = p->in_cons + XENABI_CONSOLE_IN_SIZE + 1;
        d->fault = CONSD_FAULT_NONE;
        return true;
    }
    if (d->held)
        return false;
    bool moved = false;
    uint32_t cons = p->out_cons, prod = __atomic_load_n(&p->out_prod,
                                                        __ATOMIC_ACQUIRE);
    uint32_t n = prod - cons;
    if (n > d->chunk)
        n = d->chunk;
    if (n > 0) {
        d->log = realloc(d->log, d->log_len + n);
        for (uint32_t i = 0; i < n; i++)
            d->log[d->log_len++] =
                (uint8_t)p->out[xenabi_console_out_mask(cons + i)];
        __atomic_store_n(&p->out_cons, cons + n, __ATOMIC_RELEASE);
        moved = true;
    }
    uint32_t ip = p->in_prod, ic = __atomic_load_n(&p->in_cons,
                                                   __ATOMIC_ACQUIRE);
    uint32_t space = XENABI_CONSOLE_IN_SIZE - (ip - ic);
    uint32_t m = (uint32_t)(d->in_len - d->in_sent);
    if (m > space)
        m = space;
    if (m > 0) {
        for (uint32_t i = 0; i < m; i++)
            p->in[xenabi_console_in_mask(ip + i)] =
                (char)d->input[d->in_sent++];
        __atomic_store_n(&p->in_prod, ip + m, __ATOMIC_RELEASE);
        moved = true;
    }
    if (moved)
        sim_evtchn_notify(d->port);
    return moved;
}

struct consd *consd_create(struct xenabi_console_interface *page,
                           uint32_t guest_port, uint32_t chunk)
{
    struct consd *d = calloc(1, sizeof(*d));
    d->page = page;
    d->chunk = chunk;
    if (sim_evtchn_bind(guest_port, no_op, d, &d->port) != 0)
        abort();
    sim_set_round_hook(round_fn, d);
    return d;
}

void consd_hold(struct consd *d, bool hold) { d->held = hold; }
void consd_fault(struct consd *d, enum consd_fault f) { d->fault = f; }

void consd_input(struct consd *d, const void *buf, size_t len)
{
    d->input = realloc(d->input, d->in_len + len);
    memcpy(d->input + d->in_len, buf, len);
    d->in_len += len;
}

const uint8_t *consd_log(const struct consd *d, size_t *len)
{
    *len = d->log_len;
    return d->log;
}

uint64_t consd_events(const struct consd *d)
{
    return sim_evtchn_received(d->port);
}

void consd_destroy(struct consd *d)
{
    sim_set_round_hook(NULL, NULL);
    sim_evtchn_close(d->port);
    free(d->log);
    free(d->input);
    free(d);
}
