/*
 * xenabi/xenbus.h - the connection states of a split device, written as
 * decimal text to the "state" node of each end's xenstore directory
 * (e.g. device/vif/0/state for the frontend, and the path in its
 * "backend" node for the backend).
 *
 * A block frontend, for example, starts in Initialising; once the backend
 * is in InitWait it publishes ring-ref and event-channel and moves to
 * Initialised; once the backend is Connected it reads the disk's details
 * and moves to Connected. Either side detaches through Closing to Closed.
 */
#ifndef XENABI_XENBUS_H
#define XENABI_XENBUS_H

enum xenabi_xenbus_state {
    XENABI_XENBUS_STATE_UNKNOWN = 0,
    XENABI_XENBUS_STATE_INITIALISING = 1,
    XENABI_XENBUS_STATE_INIT_WAIT = 2,     /* waiting for the peer's details */
    XENABI_XENBUS_STATE_INITIALISED = 3,   /* details published, waiting */
    XENABI_XENBUS_STATE_CONNECTED = 4,
    XENABI_XENBUS_STATE_CLOSING = 5,       /* tearing down */
    XENABI_XENBUS_STATE_CLOSED = 6,
    XENABI_XENBUS_STATE_RECONFIGURING = 7,
    XENABI_XENBUS_STATE_RECONFIGURED = 8,
};

#endif /* XENABI_XENBUS_H */
