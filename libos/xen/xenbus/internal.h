/*
 * Helpers of the xenbus frontend shared by its source files.
 */
#ifndef XENBUS_INTERNAL_H
#define XENBUS_INTERNAL_H

#include <xenbus/xenbus.h>

/* Conflicts are rare (the backend writes only its own directory). */
#define XENBUS_TX_ATTEMPTS 8

/* Write our state node (decimal, as the protocol wants). */
int xenbus_write_state(struct xenbus_front *f, xs_tx_t tx,
                       enum xenabi_xenbus_state state);

/* Read and check "<nodename>/backend" and "<nodename>/backend-id". */
int xenbus_read_backend(struct xenbus_front *f);

#endif /* XENBUS_INTERNAL_H */
