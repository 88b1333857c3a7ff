/*
 * xencons/xencons.h - the Xen PV console (<xenabi/console.h>): a page
 * with two byte rings shared with the console daemon in dom0, found
 * through HVM_PARAM_CONSOLE_PFN and HVM_PARAM_CONSOLE_EVTCHN (the port is
 * bound by the toolstack before we start).
 *
 *     static struct xencons con;
 *     xencons_init(&con);                   after evtchn_init()
 *     xencons_write_all(&con, "hi\n", 3);
 *     n = xencons_read(&con, buf, sizeof(buf));
 *
 * The daemon is not trusted: out_cons and in_prod are read once per call
 * and checked against the ring sizes; impossible values break the
 * console (-XENABI_EIO from then on, counted in bad_index). Functions
 * return 0 (or a byte count) or -XENABI_E*.
 */
#ifndef XENCONS_XENCONS_H
#define XENCONS_XENCONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <platform/xen/console_ring.h>
#include <xenabi/console.h>
#include <xenabi/errno.h>

struct xencons_stats {
    uint64_t written, read; /* bytes */
    uint64_t notifies;
    uint64_t waits;
    uint64_t bad_index;
};

struct xencons {
    /* Private. */
    struct xenabi_console_interface *page;
    uint32_t port;
    struct xenplat_console_ring out; /* the output, with our out_prod */
    xenabi_console_ring_idx_t in_cons; /* ours, kept privately */
    bool broken;
    struct xencons_stats stats;
};

/*
 * Find the console page and port from Xen and attach. Needs
 * evtchn_init(). -XENABI_ENOSYS when not on Xen, -XENABI_ENOENT when the
 * domain has no PV console (the parameters are 0).
 */
int xencons_init(struct xencons *c);

/* Attach to a console page and a bound port (what xencons_init does). */
int xencons_attach(struct xencons *c, struct xenabi_console_interface *page,
                   uint32_t port);

/* Put up to len bytes in the out ring; returns how many fitted. Signals
 * the daemon when something was written. */
long xencons_write(struct xencons *c, const void *buf, size_t len);

/* All of buf, waiting (evtchn_wait) for the daemon to make room. */
long xencons_write_all(struct xencons *c, const void *buf, size_t len);

/* Take up to len bytes of input; returns how many there were. */
long xencons_read(struct xencons *c, void *buf, size_t len);

void xencons_get_stats(const struct xencons *c, struct xencons_stats *out);

/*
 * Image only (//drivers/xencons:stdout): make this driver the image's
 * standard output. Attaches to the domain's console (xencons_init, so
 * after evtchn_init) and takes the ring's output over from the boot
 * path, which wrote the boot messages into it (xenplat_console_handover
 * in <platform/xen/xen.h>); from then on printf goes through
 * xencons_write_all.
 * Returns xencons_init's error, and then changes nothing.
 */
int xencons_stdout_init(void);

#endif /* XENCONS_XENCONS_H */
