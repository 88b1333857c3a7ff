/*
 * Event channels against the simulated hypervisor: binding both ways,
 * notifying, the 2-level upcall (pending and selector bits, masking,
 * coalescing, events arriving during dispatch), waiting, closing.
 */
#include <string.h>

#include <evtchn/evtchn.h>
#include <testing/check.h>
#include <xensim/sim.h>

/* What handlers saw. */
static struct {
    unsigned calls;
    xenabi_evtchn_port_t last_port;
    void *last_arg;
    xenabi_evtchn_port_t order[64];
} seen;

static void record(xenabi_evtchn_port_t port, void *arg)
{
    if (seen.calls < 64)
        seen.order[seen.calls] = port;
    seen.calls++;
    seen.last_port = port;
    seen.last_arg = arg;
}

static void boot(void)
{
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ(evtchn_init(), 0);
}

/* A guest port the backend has bound; handler installed and unmasked. */
static xenabi_evtchn_port_t connected_port(uint32_t *backend_port)
{
    xenabi_evtchn_port_t port = 0;
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    CHECK_EQ(evtchn_set_handler(port, record, &seen), 0);
    CHECK_EQ(evtchn_unmask(port), 0);
    CHECK_EQ(sim_evtchn_bind(port, NULL, NULL, backend_port), 0);
    return port;
}

static void test_not_on_xen(void)
{
    sim_set_absent(true);
    CHECK_EQ(evtchn_init(), -XENABI_ENOSYS);
    CHECK(!evtchn_ready());
    CHECK(evtchn_shared_info() == NULL);
    xenabi_evtchn_port_t port;
    CHECK_EQ(evtchn_alloc_unbound(0, &port), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_notify(1), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_set_handler(1, record, NULL), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_unmask(1), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_wait(), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_dispatch(), 0);
}

static void test_init_masks_everything(void)
{
    boot();
    CHECK(evtchn_ready());
    CHECK(evtchn_shared_info() != NULL);
    CHECK(sim_guest_port_masked(0));
    CHECK(sim_guest_port_masked(SIM_STORE_PORT));
    CHECK(sim_guest_port_masked(4095));
}

static void test_unbound_port_both_directions(void)
{
    boot();
    uint32_t bport;
    xenabi_evtchn_port_t port = connected_port(&bport);
    CHECK(port != 0 && port != SIM_STORE_PORT);
    CHECK_EQ(sim_evtchn_peer(bport), port);

    /* Backend -> guest: pending bit, selector, upcall; dispatch clears. */
    CHECK_EQ(sim_evtchn_notify(bport), 0);
    CHECK(sim_guest_port_pending(port));
    struct xenabi_shared_info *s = evtchn_shared_info();
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 1);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.calls, 1);
    CHECK_EQ(seen.last_port, port);
    CHECK(seen.last_arg == &seen);
    CHECK(!sim_guest_port_pending(port));
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 0);
    CHECK_EQ(s->vcpu_info[0].evtchn_pending_sel, 0);
    CHECK_EQ(evtchn_dispatch(), 0); /* nothing left */

    /* Guest -> backend. */
    CHECK_EQ(evtchn_notify(port), 0);
    CHECK_EQ(evtchn_notify(port), 0);
    CHECK_EQ(sim_evtchn_received(bport), 2);
}

static void test_bind_interdomain(void)
{
    boot();
    uint32_t bport;
    CHECK_EQ(sim_evtchn_alloc_unbound(NULL, NULL, &bport), 0);
    xenabi_evtchn_port_t port = 0;
    CHECK_EQ(evtchn_bind_interdomain(SIM_BACKEND_DOMID, bport, &port), 0);
    CHECK_EQ(sim_evtchn_peer(bport), port);
    CHECK(sim_guest_port_masked(port)); /* new ports start masked */
    CHECK_EQ(evtchn_set_handler(port, record, NULL), 0);
    /* Xen raises a freshly bound port; unmasking lets it through. */
    CHECK_EQ(evtchn_dispatch(), 0);
    CHECK_EQ(evtchn_unmask(port), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(evtchn_notify(port), 0);
    CHECK_EQ(sim_evtchn_received(bport), 1);
    /* Binding to a port that is not waiting for us fails. */
    CHECK_EQ(evtchn_bind_interdomain(SIM_BACKEND_DOMID, bport, &port),
             -XENABI_EINVAL);
}

static void test_mask_holds_events_until_unmask(void)
{
    boot();
    uint32_t bport;
    xenabi_evtchn_port_t port = connected_port(&bport);
    CHECK_EQ(evtchn_mask(port), 0);
    CHECK_EQ(sim_evtchn_notify(bport), 0);
    CHECK(sim_guest_port_pending(port));
    CHECK_EQ(evtchn_shared_info()->vcpu_info[0].evtchn_upcall_pending, 0);
    CHECK_EQ(evtchn_dispatch(), 0);
    CHECK_EQ(seen.calls, 0);
    /* Unmask re-raises the upcall for the event that waited. */
    CHECK_EQ(evtchn_unmask(port), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.calls, 1);
}

/*
 * A masked port's event must stay pending even when another port of the
 * same bitmap word raises the upcall: the guest filters by the mask too.
 */
static void test_mask_applies_within_a_word(void)
{
    boot();
    uint32_t b1, b2;
    xenabi_evtchn_port_t p1 = connected_port(&b1);
    xenabi_evtchn_port_t p2 = connected_port(&b2);
    CHECK_EQ(p1 / 64, p2 / 64);
    CHECK_EQ(evtchn_mask(p1), 0);
    CHECK_EQ(sim_evtchn_notify(b1), 0);
    CHECK_EQ(sim_evtchn_notify(b2), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.last_port, p2);
    CHECK(sim_guest_port_pending(p1));
    CHECK_EQ(evtchn_unmask(p1), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.last_port, p1);
}

static void test_events_coalesce(void)
{
    boot();
    uint32_t bport;
    connected_port(&bport);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(sim_evtchn_notify(bport), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.calls, 1);
}

static void test_many_ports_across_words(void)
{
    boot();
    /* 200 ports span bitmap words 0 to 3. */
    enum { N = 200 };
    uint32_t bports[N];
    xenabi_evtchn_port_t ports[N];
    for (int i = 0; i < N; i++)
        ports[i] = connected_port(&bports[i]);
    CHECK(ports[N - 1] >= 192);
    /* Raise every 7th one, in reverse order. */
    unsigned raised = 0;
    for (int i = N - 1; i >= 0; i -= 7) {
        CHECK_EQ(sim_evtchn_notify(bports[i]), 0);
        raised++;
    }
    CHECK_EQ(evtchn_dispatch(), raised);
    CHECK_EQ(seen.calls, raised);
    /* Delivered in port order, each once. */
    bool ascending = true;
    for (unsigned i = 1; i < raised && i < 64; i++)
        ascending &= seen.order[i] > seen.order[i - 1];
    CHECK(ascending);
}

/* A handler during which another event arrives (and which nests). */
static uint32_t chained_backend_port;
static void chain(xenabi_evtchn_port_t port, void *arg)
{
    record(port, arg);
    CHECK_EQ(evtchn_dispatch(), 0); /* nested: the outer call handles it */
    if (chained_backend_port != 0) {
        sim_evtchn_notify(chained_backend_port);
        chained_backend_port = 0;
    }
}

static void test_event_arriving_during_dispatch(void)
{
    boot();
    uint32_t b1, b2;
    xenabi_evtchn_port_t p1 = connected_port(&b1);
    connected_port(&b2);
    CHECK_EQ(evtchn_set_handler(p1, chain, NULL), 0);
    chained_backend_port = b2;
    CHECK_EQ(sim_evtchn_notify(b1), 0);
    /* One call takes both: the second arrived while the first ran. */
    CHECK_EQ(evtchn_dispatch(), 2);
    CHECK_EQ(seen.calls, 2);
}

static void test_spurious_events_are_counted(void)
{
    boot();
    uint32_t bport;
    xenabi_evtchn_port_t port = connected_port(&bport);
    CHECK_EQ(evtchn_set_handler(port, NULL, NULL), 0);
    CHECK_EQ(sim_evtchn_notify(bport), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    struct evtchn_stats st;
    evtchn_get_stats(&st);
    CHECK_EQ(st.spurious, 1);
    CHECK_EQ(st.dispatched, 0);
    CHECK_EQ(seen.calls, 0);
}

static void test_virq(void)
{
    boot();
    xenabi_evtchn_port_t port;
    CHECK_EQ(evtchn_bind_virq(XENABI_VIRQ_TIMER, &port), 0);
    CHECK_EQ(evtchn_bind_virq(XENABI_VIRQ_TIMER, &port), -XENABI_EEXIST);
    CHECK_EQ(evtchn_bind_virq(XENABI_NR_VIRQS, &port), -XENABI_EINVAL);
    CHECK_EQ(evtchn_set_handler(port, record, NULL), 0);
    CHECK_EQ(evtchn_unmask(port), 0);
    CHECK_EQ(sim_raise_virq(XENABI_VIRQ_TIMER), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.last_port, port);
}

static void test_close(void)
{
    boot();
    uint32_t bport;
    xenabi_evtchn_port_t port = connected_port(&bport);
    CHECK_EQ(sim_evtchn_notify(bport), 0); /* pending when closed */
    CHECK_EQ(evtchn_close(port), 0);
    CHECK(sim_guest_port_masked(port));
    CHECK(!sim_guest_port_pending(port)); /* the stale event is gone */
    CHECK_EQ(sim_evtchn_peer(bport), 0);  /* the backend end is unbound */
    CHECK_EQ(evtchn_dispatch(), 0);
    CHECK_EQ(seen.calls, 0);
    CHECK_EQ(evtchn_close(port), -XENABI_EINVAL); /* Xen: not bound */
    CHECK_EQ(evtchn_close(EVTCHN_NR_PORTS), -XENABI_EINVAL);
    CHECK_EQ(evtchn_notify(EVTCHN_NR_PORTS), -XENABI_EINVAL);
}

static void test_port_table_full(void)
{
    boot();
    /* Ports 1 .. EVTCHN_NR_PORTS - 1 fit (1 is the store's). */
    xenabi_evtchn_port_t port;
    unsigned got = 0;
    while (evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port) == 0)
        got++;
    CHECK_EQ(got, EVTCHN_NR_PORTS - 2);
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), -XENABI_ENOSPC);
    /* The port Xen handed out beyond our table was given back. */
    CHECK_EQ(evtchn_close(EVTCHN_NR_PORTS - 1), 0);
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    CHECK_EQ(port, EVTCHN_NR_PORTS - 1);
}

/* The backend notifies after a few rounds, while the guest waits. */
static unsigned rounds_left;
static uint32_t late_port;
static bool late_notify(void *arg)
{
    (void)arg;
    if (rounds_left == 0)
        return false;
    if (--rounds_left == 0)
        sim_evtchn_notify(late_port);
    return true;
}

static void test_wait_blocks_until_an_event(void)
{
    boot();
    xenabi_evtchn_port_t port = connected_port(&late_port);
    (void)port;
    rounds_left = 3;
    sim_set_round_hook(late_notify, NULL);
    CHECK_EQ(evtchn_wait(), 0);
    CHECK_EQ(seen.calls, 1);
    struct evtchn_stats st;
    evtchn_get_stats(&st);
    CHECK_EQ(st.blocks, 1);
    /* Nothing left to happen: the simulator says so instead of hanging. */
    CHECK_EQ(evtchn_wait(), -XENABI_ETIMEDOUT);
    struct sim_stats sst;
    sim_get_stats(&sst);
    CHECK_EQ(sst.deadlocks, 1);
}

/* A port raised locally: the next dispatch (and so wait) finds it. */
static void test_raise(void)
{
    boot();
    uint32_t bport;
    xenabi_evtchn_port_t port = connected_port(&bport);
    CHECK_EQ(evtchn_raise(port), 0);
    CHECK(sim_guest_port_pending(port));
    CHECK_EQ(evtchn_wait(), 0); /* does not block: the event is here */
    CHECK_EQ(seen.calls, 1);
    CHECK_EQ(seen.last_port, port);
    struct evtchn_stats st;
    evtchn_get_stats(&st);
    CHECK_EQ(st.blocks, 0);
    /* Masked: pending, but no upcall until unmasked (as from Xen). */
    CHECK_EQ(evtchn_mask(port), 0);
    CHECK_EQ(evtchn_raise(port), 0);
    CHECK_EQ(evtchn_shared_info()->vcpu_info[0].evtchn_upcall_pending, 0);
    CHECK_EQ(evtchn_dispatch(), 0);
    CHECK_EQ(evtchn_unmask(port), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(seen.calls, 2);
    CHECK_EQ(evtchn_raise(EVTCHN_NR_PORTS), -XENABI_EINVAL);
}

static int custom_waits;
static int custom_wait(void *arg)
{
    CHECK(arg == &custom_waits);
    custom_waits++;
    return 0;
}

static void test_wait_hook(void)
{
    boot();
    evtchn_set_wait(custom_wait, &custom_waits);
    CHECK_EQ(evtchn_wait(), 0);
    CHECK_EQ(custom_waits, 1);
    evtchn_set_wait(NULL, NULL);
    CHECK_EQ(evtchn_wait(), -XENABI_ETIMEDOUT); /* the default blocks */
}

/* The observer sees every event before the handler, also on ports
 * without a handler (which then are not spurious); evtchn_init drops it. */
static struct {
    unsigned calls;
    unsigned handler_calls_before; /* seen.calls when the observer ran */
    xenabi_evtchn_port_t last_port;
} observed;

static void observer(xenabi_evtchn_port_t port, void *arg)
{
    CHECK(arg == &observed);
    observed.calls++;
    observed.handler_calls_before = seen.calls;
    observed.last_port = port;
}

static void test_observer(void)
{
    boot();
    memset(&observed, 0, sizeof observed);
    uint32_t backend_a, backend_b;
    xenabi_evtchn_port_t a = connected_port(&backend_a);
    xenabi_evtchn_port_t b = 0;
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &b), 0);
    CHECK_EQ(evtchn_unmask(b), 0);
    CHECK_EQ(sim_evtchn_bind(b, NULL, NULL, &backend_b), 0);
    evtchn_set_observer(observer, &observed);

    CHECK_EQ(sim_evtchn_notify(backend_a), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(observed.calls, 1);
    CHECK_EQ(observed.last_port, a);
    CHECK_EQ(observed.handler_calls_before, 0); /* before the handler */
    CHECK_EQ(seen.calls, 1);

    CHECK_EQ(sim_evtchn_notify(backend_b), 0); /* no handler on b */
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(observed.calls, 2);
    CHECK_EQ(observed.last_port, b);
    struct evtchn_stats st;
    evtchn_get_stats(&st);
    CHECK_EQ(st.observed, 2);
    CHECK_EQ(st.dispatched, 1);
    CHECK_EQ(st.spurious, 0);

    /* Removed: b's events are spurious again. */
    evtchn_set_observer(NULL, NULL);
    CHECK_EQ(sim_evtchn_notify(backend_b), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(observed.calls, 2);
    evtchn_get_stats(&st);
    CHECK_EQ(st.spurious, 1);

    /* evtchn_init forgets it. */
    evtchn_set_observer(observer, &observed);
    boot();
    a = connected_port(&backend_a);
    CHECK_EQ(sim_evtchn_notify(backend_a), 0);
    CHECK_EQ(evtchn_dispatch(), 1);
    CHECK_EQ(observed.calls, 2);
}

int main(void)
{
    RUN(test_not_on_xen);
    RUN(test_init_masks_everything);
    RUN(test_unbound_port_both_directions);
    RUN(test_bind_interdomain);
    RUN(test_mask_holds_events_until_unmask);
    RUN(test_mask_applies_within_a_word);
    RUN(test_events_coalesce);
    RUN(test_many_ports_across_words);
    RUN(test_event_arriving_during_dispatch);
    RUN(test_spurious_events_are_counted);
    RUN(test_virq);
    RUN(test_close);
    RUN(test_port_table_full);
    RUN(test_wait_blocks_until_an_event);
    RUN(test_wait_hook);
    RUN(test_observer);
    RUN(test_raise);
    return check_finish();
}
