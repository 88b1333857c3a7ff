/*
 * platform/xen/console_ring.h - the one implementation of writing into
 * Xen's PV console ring (<xenabi/console.h>, the `out` half), shared by
 * the boot path's early console (//libos/platform/xen, until the hand-over)
 * and the console driver (//drivers/xencons). Host-buildable and pure:
 * it neither notifies nor waits; each caller does that its own way (the
 * early console yields to Xen, the driver parks the thread on the event
 * channel).
 *
 * The console daemon is not trusted: out_cons is read once per call and
 * must leave between 0 and XENABI_CONSOLE_OUT_SIZE bytes in the ring;
 * anything else breaks the ring (-XENABI_EIO from then on). Our out_prod
 * is kept privately and only published, so the daemon cannot move it.
 *
 * Hand-over: a second writer attaches where the first stopped (attach
 * reads the published out_prod once); the first must write nothing more,
 * so that the ring keeps one producer.
 */
#ifndef PLATFORM_XEN_CONSOLE_RING_H
#define PLATFORM_XEN_CONSOLE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenabi/console.h>

struct xenplat_console_ring {
    /* Private. */
    struct xenabi_console_interface *page;
    xenabi_console_ring_idx_t out_prod; /* ours, published after the bytes */
    bool broken;
};

/* Start writing at the out_prod the page holds now. */
void xenplat_console_ring_attach(struct xenplat_console_ring *r,
                                 struct xenabi_console_interface *page);

/*
 * Put up to `len` bytes of `buf` into the ring and publish them; returns
 * how many fitted (0 when the ring is full), or -XENABI_EIO when the
 * daemon's index is impossible (and from then on). The caller notifies
 * the daemon when the result is positive.
 */
long xenplat_console_ring_put(struct xenplat_console_ring *r,
                              const void *buf, size_t len);

/*
 * Bytes written and not yet consumed by the daemon (0: drained), or
 * -XENABI_EIO as above.
 */
long xenplat_console_ring_pending(struct xenplat_console_ring *r);

#endif /* PLATFORM_XEN_CONSOLE_RING_H */
