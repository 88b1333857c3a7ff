/*
 * platform/xen/control.h - the toolstack's requests: `xl shutdown`,
 * `xl reboot` (//libos/platform/xen:control).
 *
 * xen_control_start() (after xen_guest_start) tells the toolstack this
 * guest acts on control/shutdown (control/feature-poweroff and
 * feature-reboot = 1: without them xl refuses to ask a PVH guest), then
 * watches control/shutdown from a thread of its own. On "poweroff" or
 * "halt" it acknowledges the request (the node is emptied, as the
 * protocol asks), prints "[xen] control: poweroff requested by the
 * toolstack" and the guest's profile counters ("[xen] profile:
 * hypercalls ...", <platform/xen/hypercall_stats.h>, and "[evtchn] ..."),
 * runs the handlers given to xen_control_on_shutdown() in the
 * order they were given, and ends the domain with exit status 0; on
 * "reboot" the same, ending it with SHUTDOWN_reboot so xl restarts it
 * (or destroys it, as the domain's on_reboot says). "suspend" and
 * anything else are refused: the node is emptied and a line says so.
 *
 * 0; -XENABI_ENOTCONN when the Xen services are not started; a
 * xenstore error. Without Xen the appliance simply does not call it.
 */
#ifndef PLATFORM_XEN_CONTROL_H
#define PLATFORM_XEN_CONTROL_H

#define XEN_CONTROL_MAX_HANDLERS 8

int xen_control_start(void);

/* A handler runs on the control thread before the domain ends (flush a
 * disk, close a device). -XENABI_ENOSPC past XEN_CONTROL_MAX_HANDLERS. */
int xen_control_on_shutdown(void (*fn)(void *arg), void *arg);

#endif /* PLATFORM_XEN_CONTROL_H */
