/* The toolstack's shutdown requests (control/shutdown): <platform/xen/control.h>. */
#include <evtchn_sched/evtchn_sched.h>
#include <platform/xen/boot.h>
#include <platform/xen/control.h>
#include <platform/xen/hypercall_stats.h>
#include <sched/sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time/time.h>
#include <xenstore/xenstore.h>

#define NODE "control/shutdown"
/* The thread runs xs_poll when the store port signals; a watch event
 * that another thread's xs_poll delivered (the port's signal consumed)
 * only sets `changed`, seen within this long. */
#define RECHECK_NS TIME_NS_PER_S

static struct {
    bool started, changed;
    size_t nhandlers;
    struct {
        void (*fn)(void *);
        void *arg;
    } handlers[XEN_CONTROL_MAX_HANDLERS];
} ctl;

int xen_control_on_shutdown(void (*fn)(void *arg), void *arg)
{
    if (ctl.nhandlers == XEN_CONTROL_MAX_HANDLERS)
        return -XENABI_ENOSPC;
    ctl.handlers[ctl.nhandlers].fn = fn;
    ctl.handlers[ctl.nhandlers].arg = arg;
    ctl.nhandlers++;
    return 0;
}

static void on_change(int watch, const char *path, void *arg)
{
    (void)watch, (void)path, (void)arg;
    ctl.changed = true;
}

/* Act on the request in control/shutdown, if there is one. */
static void act(void)
{
    char req[32];
    size_t len = 0;
    int rc = xs_read(XS_TX_NONE, NODE, req, sizeof(req), &len);
    if (rc == -XENABI_ERANGE) {
        req[0] = '?';
        req[1] = '\0';
    } else if (rc != 0 || len == 0) {
        return; /* no node, or an empty one: nothing asked */
    }
    /* Acknowledge first: the toolstack waits for the node to empty. */
    (void)xs_write(XS_TX_NONE, NODE, "");
    bool reboot = strcmp(req, "reboot") == 0;
    if (!reboot && strcmp(req, "poweroff") != 0 && strcmp(req, "halt") != 0) {
        printf("[xen] control: \"%.20s\" requested by the toolstack: not supported, ignored\n",
               req);
        return;
    }
    printf("[xen] control: %s requested by the toolstack\n", reboot ? "reboot" : "poweroff");
    /* The guest's side of a profile (docs/benchmarks.md): the dom0
     * benchmark ends ours with `xl shutdown` to read these. */
    char line[512];
    xenplat_hcstats_format(line, sizeof(line));
    printf("[xen] profile: %s\n", line);
    evtchn_sched_print_stats();
    for (size_t i = 0; i < ctl.nhandlers; i++)
        ctl.handlers[i].fn(ctl.handlers[i].arg);
    if (reboot)
        xenplat_request_reboot();
    exit(0);
}

static int control_thread(void *arg)
{
    (void)arg;
    for (;;) {
        (void)xs_poll();
        if (ctl.changed) {
            ctl.changed = false;
            act();
        }
        uint64_t deadline = time_monotonic_ns() + RECHECK_NS;
        (void)evtchn_sched_wait(xs_port(), deadline);
    }
    return 0;
}

int xen_control_start(void)
{
    if (ctl.started)
        return 0;
    if (!xs_ready())
        return -XENABI_ENOTCONN;
    int rc = xs_write(XS_TX_NONE, "control/feature-poweroff", "1");
    if (rc == 0)
        rc = xs_write(XS_TX_NONE, "control/feature-reboot", "1");
    if (rc != 0)
        return rc;
    int w = xs_watch(NODE, on_change, NULL);
    if (w < 0)
        return w;
    struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT, .detached = true};
    if (sched_spawn("xen-control", control_thread, NULL, &attr) == NULL) {
        (void)xs_unwatch(w);
        return -XENABI_ENOMEM;
    }
    ctl.started = true;
    return 0;
}
