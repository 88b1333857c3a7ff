/*
 * The Xen platform core inside an image booted by QEMU, which is not Xen:
 * built by the freestanding toolchain and linked with
 * //libos/xen/hypervisor:absent (or :pvh, off Xen), every library must say so (ENOSYS from
 * its init, ENOTCONN from everything else) instead of touching pages
 * that are not there. Calls every public entry point, so the link checks
 * that all of them resolve in an image.
 */
#include <stdio.h>
#include <string.h>

#include <testing/check.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <xenbus/xenbus.h>
#include <xenstore/xenstore.h>


static int wait_hook(void *arg)
{
    (void)arg;
    return 0;
}

static void on_event(xenabi_evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static void on_watch(int watch, const char *path, void *arg)
{
    (void)watch;
    (void)path;
    (void)arg;
}

static int body(xs_tx_t tx, void *arg)
{
    (void)tx;
    (void)arg;
    return 0;
}

int main(void)
{
    int rc = evtchn_init();
    CHECK_EQ(rc, -XENABI_ENOSYS);
    if (rc == -XENABI_ENOSYS)
        puts("xen core: not on Xen (evtchn_init: ENOSYS)");
    CHECK_EQ(gnttab_init(), -XENABI_ENOSYS);
    CHECK_EQ(xs_init(), -XENABI_ENOTCONN);

    xenabi_evtchn_port_t port;
    CHECK_EQ(evtchn_ready(), 0);
    CHECK_EQ(evtchn_shared_info(), NULL);
    CHECK_EQ(evtchn_alloc_unbound(0, &port), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_bind_interdomain(0, 1, &port), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_bind_virq(XENABI_VIRQ_TIMER, &port), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_set_handler(1, on_event, NULL), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_mask(1), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_unmask(1), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_notify(1), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_close(1), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_dispatch(), 0);
    evtchn_set_wait(wait_hook, NULL);
    CHECK_EQ(evtchn_wait(), -XENABI_ENOTCONN);
    struct evtchn_stats es;
    evtchn_get_stats(&es);
    CHECK_EQ(es.dispatched, 0);

    xenabi_grant_ref_t ref;
    CHECK_EQ(gnttab_ready(), 0);
    CHECK_EQ(gnttab_grant_access(0, 1, false, "image", &ref), -XENABI_ENOTCONN);
    CHECK_EQ(gnttab_end_access(8), -XENABI_ENOTCONN);
    CHECK_EQ(gnttab_end_access_deferred(8), -XENABI_ENOTCONN);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    CHECK_EQ(gnttab_outstanding(NULL, 0), 0);
    CHECK_EQ(gnttab_report_leaks(), 0);
    struct gnttab_stats gs;
    gnttab_get_stats(&gs);
    CHECK_EQ(gs.capacity, 0);

    char buf[16];
    xs_tx_t tx;
    uint32_t value;
    CHECK_EQ(xs_ready(), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "x", buf, sizeof(buf), NULL), -XENABI_ENOTCONN);
    CHECK_EQ(xs_read_u32(XS_TX_NONE, "x", &value), -XENABI_ENOTCONN);
    CHECK_EQ(xs_write(XS_TX_NONE, "x", "y"), -XENABI_ENOTCONN);
    CHECK_EQ(xs_printf(XS_TX_NONE, "x", "%d", 1), -XENABI_ENOTCONN);
    CHECK_EQ(xs_mkdir(XS_TX_NONE, "x"), -XENABI_ENOTCONN);
    CHECK_EQ(xs_rm(XS_TX_NONE, "x"), -XENABI_ENOTCONN);
    CHECK_EQ(xs_directory(XS_TX_NONE, "x", buf, sizeof(buf)), -XENABI_ENOTCONN);
    CHECK_EQ(xs_watch("x", on_watch, NULL), -XENABI_ENOTCONN);
    CHECK_EQ(xs_unwatch(0), -XENABI_ENOTCONN);
    CHECK_EQ(xs_poll(), -XENABI_ENOTCONN);
    CHECK_EQ(xs_transaction_start(&tx), -XENABI_ENOTCONN);
    CHECK_EQ(xs_transaction_end(1, true), -XENABI_ENOTCONN);
    CHECK_EQ(xs_transaction(body, NULL, 3), -XENABI_ENOTCONN);
    CHECK_EQ(strcmp(xs_error_name(-XENABI_ENOTCONN), "ENOTCONN"), 0);
    struct xs_stats xs;
    xs_get_stats(&xs);
    CHECK_EQ(xs.requests, 0);

    static struct xenbus_front front;
    static const struct xenbus_front_ops ops;
    CHECK_EQ(xenbus_front_init(&front, "device/vif/0", &ops, NULL),
           -XENABI_ENOTCONN);
    CHECK_EQ(strcmp(xenbus_state_name(XENABI_XENBUS_STATE_CONNECTED),
                  "Connected"),
           0);

    return check_finish();
}
