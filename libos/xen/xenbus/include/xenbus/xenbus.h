/*
 * xenbus/xenbus.h - the frontend half of a split device's connection
 * handshake, driven through xenstore.
 *
 * A paravirtual device (a vif, a vbd, a console) has two xenstore
 * directories: the frontend's, here "device/<type>/<id>" in our home,
 * and the backend's, in the backend domain's home. Each side writes its
 * connection state (<xenabi/xenbus.h>) to a "state" node in its own
 * directory and watches the other's. The frontend side of the protocol:
 *
 *   we           backend         what happens
 *   Initialising                 xenbus_front_init: read "backend" and
 *                                "backend-id", watch <backend>/state
 *                InitWait        ops->setup (allocate ring pages, grant
 *                                them, allocate an event channel), then
 *                                one transaction: ops->publish (write
 *                                "ring-ref", "event-channel", ...) and
 *                                our state := Initialised
 *   Initialised  Connected       ops->connect (read the backend's
 *                                details); our state := Connected
 *   Connected                    the device works
 *   Closing      Closing         either side starts detaching (we by
 *                                xenbus_front_close); when the backend
 *                                says Closing or Closed: ops->teardown
 *                                (end grants, close the event channel);
 *   Closed                       our state := Closed
 *                Closed          the backend follows
 *
 * While we are Initialising, a backend in Closing or Closed is taken to
 * be left over from an earlier connection, and we wait for its InitWait.
 * The backend's directory disappearing (its domain died, the toolstack
 * removed the device) counts as Closed, in any state. ops->teardown runs exactly once
 * for each ops->setup. Linux's netback unmaps our grants before it says
 * Closing; its blkback only once we are Closed (seen on real Xen 4.17).
 * A grant still mapped makes gnttab_end_access fail with -XENABI_EBUSY,
 * and the driver's teardown defers those (gnttab_end_access_deferred);
 * after xenbus_front_wait_backend_closed, gnttab_reclaim_deferred ends
 * them.
 *
 * The state machine runs in watch callbacks, i.e. inside xs_poll(). The
 * waiting functions below call xs_poll() and evtchn_wait() in a loop;
 * code with its own loop can call xs_poll() itself instead.
 *
 * Functions return 0 on success and -XENABI_E* on failure (see
 * <xenstore/xenstore.h> for the xenstore ones).
 */
#ifndef XENBUS_XENBUS_H
#define XENBUS_XENBUS_H

#include <stdbool.h>
#include <stdint.h>

#include <xenabi/types.h>
#include <xenabi/xenbus.h>
#include <xenstore/xenstore.h>

/* Longest frontend or backend directory path, without NUL. */
#define XENBUS_PATH_MAX 200

struct xenbus_front;

/*
 * What the driver does at each step; `front->arg` is the driver's own
 * pointer. Hooks may use xenstore.
 *
 * Naming, the same in every driver (netfront, blkfront): the table is
 * `front_ops` and each hook is `front_` + its member (front_setup,
 * front_publish, front_connect, front_teardown); a driver's event-channel
 * handler is `on_event` (netfront, blkfront, vchan, xencons).
 */
struct xenbus_front_ops {
    /* The backend waits for us: allocate what publish will announce. */
    int (*setup)(struct xenbus_front *front);
    /*
     * Write our details with `tx` (xenbus_front_printf). Runs inside a
     * transaction that may be retried, so it must only write.
     */
    int (*publish)(struct xenbus_front *front, xs_tx_t tx);
    /* The backend is Connected: read its details; 0 lets us connect. */
    int (*connect)(struct xenbus_front *front);
    /* Release everything setup allocated (runs once per setup). */
    void (*teardown)(struct xenbus_front *front);
    /*
     * What to announce once published. false: Initialised, then wait for
     * the backend to connect (blkback connects on Initialised). true:
     * Connected straight away, because the backend connects only when the
     * frontend says Connected (Linux's netback ignores Initialised). Either
     * way the connect hook runs when the backend reaches Connected.
     */
    bool announce_connected;
};

struct xenbus_front {
    /* Read-only for drivers. */
    char nodename[XENBUS_PATH_MAX + 1]; /* "device/vif/0" */
    char backend[XENBUS_PATH_MAX + 1];  /* the backend's directory */
    xenabi_domid_t backend_id;
    enum xenabi_xenbus_state state;         /* ours */
    enum xenabi_xenbus_state backend_state; /* last seen; UNKNOWN if gone */
    bool backend_gone;
    int error; /* the first hook or xenstore error; the cause of a close */
    void *arg;

    /* Private. */
    const struct xenbus_front_ops *ops;
    int watch;
    bool set_up; /* setup ran and teardown has not */
};

/*
 * Start the handshake for the device at `nodename` ("device/vif/0"):
 * read the backend's location, write our state Initialising, watch the
 * backend's state. Nothing else happens until xs_poll() delivers the
 * watch event.
 */
int xenbus_front_init(struct xenbus_front *front, const char *nodename,
                      const struct xenbus_front_ops *ops, void *arg);

/*
 * Wait until we are Connected. Fails with front->error (or
 * -XENABI_ENOTCONN) if the connection closed instead, or with what
 * waiting returned.
 */
int xenbus_front_wait_connected(struct xenbus_front *front);

/*
 * Detach: our state := Closing, wait for the backend to follow (Closing,
 * Closed or gone), teardown, our state := Closed. If waiting fails (the
 * backend hangs), tears down and writes Closed anyway, and returns the
 * waiting error.
 */
int xenbus_front_close(struct xenbus_front *front);

/* Wait until we are Closed (the backend closed, or went away). */
int xenbus_front_wait_closed(struct xenbus_front *front);

/*
 * After our Closed: wait until the backend is Closed too (or gone), for
 * at most `max_waits` evtchn_wait() calls (-XENABI_ETIMEDOUT then). A
 * backend may keep our ring mapped until it sees our Closed (Linux's
 * blkback does), so a driver that had to defer ending a grant at
 * teardown waits here before gnttab_reclaim_deferred(). Call it before
 * xenbus_front_destroy (it needs the watch).
 */
int xenbus_front_wait_backend_closed(struct xenbus_front *front,
                                     unsigned max_waits);

/* Stop watching the backend. Call when Closed, before reusing `front`. */
void xenbus_front_destroy(struct xenbus_front *front);

/* Write "<nodename>/<key>" = printf(fmt, ...), within `tx`. */
int xenbus_front_printf(struct xenbus_front *front, xs_tx_t tx,
                        const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Read the backend's "<backend>/<key>" as an unsigned decimal number. */
int xenbus_backend_read_u32(struct xenbus_front *front, const char *key,
                            uint32_t *value);

/* "Initialising", "InitWait", ..., "Unknown" for anything else. */
const char *xenbus_state_name(enum xenabi_xenbus_state state);

#endif /* XENBUS_XENBUS_H */
