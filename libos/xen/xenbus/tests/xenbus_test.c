/*
 * The frontend handshake against the simulator's scripted backend: up to
 * Connected and down to Closed from either side, a backend that vanishes,
 * hangs, refuses, or keeps our page mapped, failing driver hooks, and a
 * publish transaction that has to be retried.
 */
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>
#include <xenbus/xenbus.h>
#include <testing/check.h>
#include <xensim/sim.h>

#define FE "/local/domain/1/device/vif/0"
#define BE "/local/domain/0/backend/vif/1/0"

/* A minimal driver: one ring page, one event channel. */
struct drv {
    int setups, publishes, connects, teardowns;
    int setup_rc, connect_rc;
    int conflicts; /* publishes that meet a concurrent write */
    xenabi_evtchn_port_t port;
    xenabi_grant_ref_t ref;
    unsigned events;
    uint32_t feature;
    int teardown_end; /* gnttab_end_access_deferred's answer */
};

static _Alignas(4096) uint8_t ring[4096];

static void on_event(xenabi_evtchn_port_t port, void *arg)
{
    (void)port;
    ((struct drv *)arg)->events++;
}

static int drv_setup(struct xenbus_front *f)
{
    struct drv *d = f->arg;
    d->setups++;
    if (d->setup_rc != 0)
        return d->setup_rc;
    memset(ring, 0, sizeof(ring));
    int rc = evtchn_alloc_unbound(f->backend_id, &d->port);
    if (rc == 0)
        rc = evtchn_set_handler(d->port, on_event, d);
    if (rc == 0)
        rc = evtchn_unmask(d->port);
    if (rc == 0)
        rc = gnttab_grant_access(f->backend_id, xen_ptr_to_frame(ring), false,
                                 "test.ring", &d->ref);
    return rc;
}

static int drv_publish(struct xenbus_front *f, xs_tx_t tx)
{
    struct drv *d = f->arg;
    if (d->publishes++ < d->conflicts)
        sim_xs_write("/local/domain/0/noise", "x");
    int rc = xenbus_front_printf(f, tx, "ring-ref", "%u", (unsigned)d->ref);
    if (rc == 0)
        rc = xenbus_front_printf(f, tx, "event-channel", "%u",
                                 (unsigned)d->port);
    return rc;
}

static int drv_connect(struct xenbus_front *f)
{
    struct drv *d = f->arg;
    d->connects++;
    if (d->connect_rc != 0)
        return d->connect_rc;
    return xenbus_backend_read_u32(f, "feature-sim", &d->feature);
}

static void drv_teardown(struct xenbus_front *f)
{
    struct drv *d = f->arg;
    d->teardowns++;
    d->teardown_end = gnttab_end_access_deferred(d->ref);
    (void)evtchn_close(d->port);
}

static const struct xenbus_front_ops ops = {
    .setup = drv_setup,
    .publish = drv_publish,
    .connect = drv_connect,
    .teardown = drv_teardown,
};

static struct drv drv;
static struct xenbus_front front;

static void boot(void)
{
    memset(&drv, 0, sizeof(drv));
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
}

static struct gnttab_stats grants(void)
{
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    return st;
}

static void check_node(const char *path, const char *want, const char *file,
                       int line)
{
    char buf[64] = "";
    sim_xs_read(path, buf, sizeof(buf));
    check_true(strcmp(buf, want) == 0, path, file, line);
}
#define CHECK_NODE(path, want) check_node(path, want, __FILE__, __LINE__)

/* Create the device and bring it up; checks everything on the way. */
static struct sim_backend *connect_device(unsigned flags)
{
    struct sim_backend *b = sim_backend_create("vif", 0, flags);
    boot();
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK(strcmp(front.backend, BE) == 0);
    CHECK_EQ(front.backend_id, SIM_BACKEND_DOMID);
    CHECK_EQ(xenbus_front_wait_connected(&front), 0);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CONNECTED);
    CHECK_EQ(drv.setups, 1);
    CHECK_EQ(drv.connects, 1);
    CHECK_EQ(drv.teardowns, 0);
    CHECK_NODE(FE "/state", "4");
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CONNECTED);
    return b;
}

static void check_clean_close(void)
{
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_NODE(FE "/state", "6");
    CHECK_EQ(drv.teardowns, 1);
    CHECK_EQ(drv.teardown_end, 0); /* revoked at once: backend let go */
    CHECK_EQ(grants().in_use, 0);
    CHECK_EQ(gnttab_report_leaks(), 0);
    CHECK_EQ(sim_gnttab_mapped(), 0);
}

static void test_up_and_down_by_the_frontend(void)
{
    struct sim_backend *b = connect_device(0);
    /* The backend mapped our page through the grant and wrote to it. */
    CHECK(strcmp((char *)ring, "sim-backend connected") == 0);
    CHECK(sim_backend_ring(b) == ring);
    CHECK_EQ(drv.feature, 4096);
    CHECK_NODE(FE "/ring-ref", "8");
    /* The event channel works both ways (the backend echoes). */
    unsigned before = drv.events;
    CHECK_EQ(evtchn_notify(drv.port), 0);
    CHECK_EQ(evtchn_wait(), 0);
    CHECK_EQ(drv.events, before + 1);
    CHECK_EQ(sim_evtchn_received(sim_backend_port(b)), 1);

    CHECK_EQ(xenbus_front_close(&front), 0);
    check_clean_close();
    sim_run();
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CLOSED);
    xenbus_front_destroy(&front);
    CHECK_EQ(xenbus_front_close(&front), 0); /* closed already */
}

static void test_backend_closes(void)
{
    struct sim_backend *b = connect_device(0);
    sim_backend_close(b);
    CHECK_EQ(xenbus_front_wait_closed(&front), 0);
    check_clean_close();
    CHECK(!front.backend_gone);
    sim_run();
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CLOSED);
    /* Waiting to connect now fails: the connection is over. */
    CHECK_EQ(xenbus_front_wait_connected(&front), -XENABI_ENOTCONN);
}

static void test_backend_vanishes(void)
{
    struct sim_backend *b = connect_device(0);
    sim_backend_vanish(b);
    CHECK_EQ(xenbus_front_wait_closed(&front), 0);
    CHECK(front.backend_gone);
    check_clean_close();
}

static void test_backend_keeps_our_page_mapped(void)
{
    struct sim_backend *b = connect_device(SIM_BACKEND_KEEP_MAP);
    CHECK_EQ(xenbus_front_close(&front), 0);
    CHECK_EQ(drv.teardowns, 1);
    CHECK_EQ(drv.teardown_end, 1); /* deferred, not revoked */
    CHECK_EQ(grants().deferred, 1);
    CHECK_EQ(grants().in_use, 1);
    struct gnttab_grant_info info;
    CHECK_EQ(gnttab_outstanding(&info, 1), 1);
    CHECK(strcmp(info.tag, "test.ring") == 0 && info.deferred);
    CHECK_EQ(gnttab_reclaim_deferred(), 1);
    sim_backend_unmap(b);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    CHECK_EQ(grants().in_use, 0);
}

/*
 * Linux's blkback unmaps our ring only when it sees our Closed: at
 * teardown the grant is deferred; waiting for the backend's Closed and
 * reclaiming then ends it.
 */
static void test_backend_unmaps_only_after_our_closed(void)
{
    struct sim_backend *b = connect_device(SIM_BACKEND_UNMAP_ON_CLOSED);
    CHECK_EQ(xenbus_front_close(&front), 0);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(drv.teardown_end, 1); /* still mapped at our Closing */
    CHECK_EQ(xenbus_front_wait_backend_closed(&front, 10), 0);
    CHECK_EQ(front.backend_state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    CHECK_EQ(grants().in_use, 0);
    CHECK_EQ(sim_gnttab_mapped(), 0);
    xenbus_front_destroy(&front);
}

/* A backend that never follows our Closed: the wait is bounded. */
static void test_wait_backend_closed_gives_up(void)
{
    struct sim_backend *b = connect_device(0);
    sim_backend_hold(b, true); /* stays Connected */
    CHECK_EQ(xenbus_front_close(&front), -XENABI_ETIMEDOUT);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(xenbus_front_wait_backend_closed(&front, 3), -XENABI_ETIMEDOUT);
    CHECK_EQ(front.backend_state, XENABI_XENBUS_STATE_CONNECTED);
    /* It comes back: our Closed is still there for it to follow. */
    sim_backend_hold(b, false);
    CHECK_EQ(xenbus_front_wait_backend_closed(&front, 10), 0);
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CLOSED);
    xenbus_front_destroy(&front);
}

static void test_backend_hangs(void)
{
    struct sim_backend *b = sim_backend_create("vif", 0, 0);
    sim_backend_hold(b, true); /* stays in Initialising */
    boot();
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK_EQ(xenbus_front_wait_connected(&front), -XENABI_ETIMEDOUT);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_INITIALISING);
    CHECK_EQ(drv.setups, 0);
    /* Closing waits for the backend in vain, then detaches anyway. */
    CHECK_EQ(xenbus_front_close(&front), -XENABI_ETIMEDOUT);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_NODE(FE "/state", "6");
    CHECK_EQ(drv.teardowns, 0); /* nothing was set up */
}

static void test_backend_refuses(void)
{
    sim_backend_create("vif", 0, SIM_BACKEND_REFUSE);
    boot();
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK_EQ(xenbus_front_wait_connected(&front), -XENABI_ENOTCONN);
    CHECK_EQ(drv.setups, 1);
    CHECK_EQ(drv.connects, 0);
    check_clean_close();
}

static void test_setup_fails(void)
{
    struct sim_backend *b = sim_backend_create("vif", 0, 0);
    boot();
    drv.setup_rc = -XENABI_ENOSPC;
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK_EQ(xenbus_front_wait_connected(&front), -XENABI_ENOSPC);
    CHECK_EQ(front.error, -XENABI_ENOSPC);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(drv.teardowns, 0);
    sim_run();
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CLOSED);
}

static void test_connect_hook_fails(void)
{
    sim_backend_create("vif", 0, 0);
    boot();
    drv.connect_rc = -XENABI_EINVAL;
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK_EQ(xenbus_front_wait_connected(&front), -XENABI_EINVAL);
    check_clean_close();
}

static void test_publish_is_retried_after_a_conflict(void)
{
    sim_backend_create("vif", 0, 0);
    boot();
    drv.conflicts = 2;
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK_EQ(xenbus_front_wait_connected(&front), 0);
    CHECK_EQ(drv.publishes, 3);
    CHECK_EQ(drv.setups, 1); /* allocation is not repeated */
    struct xs_stats st;
    xs_get_stats(&st);
    CHECK_EQ(st.tx_retries, 2);
    CHECK_EQ(grants().in_use, 1);
}

static void test_reconnect_after_close(void)
{
    struct sim_backend *b = connect_device(0);
    CHECK_EQ(xenbus_front_close(&front), 0);
    xenbus_front_destroy(&front);
    sim_run();
    CHECK_EQ(sim_backend_state(b), XENABI_XENBUS_STATE_CLOSED);
    /* The new frontend first sees the old connection's Closed... */
    sim_backend_hold(b, true);
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv), 0);
    CHECK_EQ(xs_poll(), 1);
    CHECK_EQ(front.backend_state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_INITIALISING);
    /* ...and waits for the backend to offer a new one. */
    sim_backend_hold(b, false);
    CHECK_EQ(xenbus_front_wait_connected(&front), 0);
    CHECK_EQ(drv.setups, 2);
    CHECK_EQ(drv.connects, 2);
    CHECK_EQ(grants().in_use, 1);
    CHECK_EQ(xenbus_front_close(&front), 0);
    CHECK_EQ(drv.teardowns, 2);
    CHECK_EQ(grants().in_use, 0);
    CHECK_EQ(grants().peak, 1);
}

static void test_nonsense_backend_state_is_ignored(void)
{
    connect_device(0);
    sim_xs_write(BE "/state", "banana");
    sim_run();
    CHECK(xs_poll() >= 1);
    sim_xs_write(BE "/state", "42");
    sim_run();
    CHECK(xs_poll() >= 1);
    CHECK_EQ(front.state, XENABI_XENBUS_STATE_CONNECTED);
    CHECK_EQ(drv.teardowns, 0);
    CHECK_EQ(xenbus_front_close(&front), 0);
    check_clean_close();
}

static void test_bad_device_nodes(void)
{
    sim_backend_create("vif", 0, 0);
    boot();
    CHECK_EQ(xenbus_front_init(&front, "device/vif/9", &ops, &drv),
             -XENABI_ENOENT);
    sim_xs_write(FE "/backend-id", "abc");
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv),
             -XENABI_EINVAL);
    sim_xs_write(FE "/backend-id", "32752"); /* DOMID_SELF */
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv),
             -XENABI_EINVAL);
    sim_xs_write(FE "/backend-id", "0");
    sim_xs_write(FE "/backend", "relative/path");
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv),
             -XENABI_EINVAL);
    char longpath[XENBUS_PATH_MAX + 8] = "/";
    memset(longpath + 1, 'a', XENBUS_PATH_MAX + 2);
    sim_xs_write(FE "/backend", longpath);
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, &drv),
             -XENABI_E2BIG);
    CHECK_EQ(xenbus_front_init(&front, "", &ops, &drv), -XENABI_EINVAL);
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", NULL, &drv),
             -XENABI_EINVAL);
}

static void test_state_names(void)
{
    CHECK(strcmp(xenbus_state_name(XENABI_XENBUS_STATE_INIT_WAIT),
                 "InitWait") == 0);
    CHECK(strcmp(xenbus_state_name(XENABI_XENBUS_STATE_CLOSED), "Closed")
          == 0);
    CHECK(strcmp(xenbus_state_name((enum xenabi_xenbus_state)77), "Unknown")
          == 0);
}

int main(void)
{
    RUN(test_up_and_down_by_the_frontend);
    RUN(test_backend_closes);
    RUN(test_backend_vanishes);
    RUN(test_backend_keeps_our_page_mapped);
    RUN(test_backend_unmaps_only_after_our_closed);
    RUN(test_wait_backend_closed_gives_up);
    RUN(test_backend_hangs);
    RUN(test_backend_refuses);
    RUN(test_setup_fails);
    RUN(test_connect_hook_fails);
    RUN(test_publish_is_retried_after_a_conflict);
    RUN(test_reconnect_after_close);
    RUN(test_nonsense_backend_state_is_ignored);
    RUN(test_bad_device_nodes);
    RUN(test_state_names);
    return check_finish();
}
