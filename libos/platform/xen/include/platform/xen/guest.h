/*
 * platform/xen/guest.h - start the Xen services a guest's drivers use.
 *
 * xen_guest_start() brings up, once per boot, event channels on the
 * scheduler (//libos/xen/evtchn_sched: the upcall, pvclock), the grant
 * table and the xenstore client, in that order, then listens to the
 * toolstack's `xl shutdown` / `xl reboot` (<platform/xen/control.h>; a
 * failure there is printed, not returned). Later calls return the
 * first call's result without doing it again, so each driver can call it
 * before it opens its device.
 *
 * 0 on Xen; -XENABI_ENOSYS when the image does not run on Xen (QEMU
 * without Xen: the hypercalls fail), or the first failing step's error.
 */
#ifndef PLATFORM_XEN_GUEST_H
#define PLATFORM_XEN_GUEST_H

int xen_guest_start(void);

#endif /* PLATFORM_XEN_GUEST_H */
