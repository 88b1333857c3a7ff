/*
 * A simulated vchan client in the backend domain of //testing/xensim, for
 * the tests of a guest vchan server. Written independently of the
 * driver, from <xenabi/vchan.h>: it finds ring-ref and event-channel in
 * xenstore, maps the control page and ring grants, binds the event
 * channel and says cli_live = connected; then, each round, moves bytes
 * as its mode says and follows the notify bits like libxenvchan.
 */
#ifndef VCHAN_TESTS_PEER_H
#define VCHAN_TESTS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum peer_mode {
    PEER_ECHO,  /* what the server writes comes back (chunk bytes a round) */
    PEER_SINK,  /* only reads, into peer_received */
    PEER_IDLE,  /* does nothing (a busy or hung client) */
};

/* Faults, applied once at the next round. */
enum peer_fault {
    PEER_FAULT_NONE,
    PEER_CONS_AHEAD,    /* right.cons published 5000 beyond right.prod */
    PEER_PROD_AHEAD,    /* left.prod published a ring and a byte ahead */
    PEER_PROD_BACK,     /* left.prod moved backwards (below the server's cons) */
    PEER_REWRITE_ORDERS, /* left/right_order := 20 after connecting */
    PEER_NOTIFY_GARBAGE, /* srv_notify := 0xff */
};

struct peer;

/* Looks for the channel at guest path `rel` (below /local/domain/1). */
struct peer *peer_create(const char *rel, enum peer_mode mode,
                         uint32_t chunk);
void peer_set_mode(struct peer *p, enum peer_mode mode);
void peer_fault(struct peer *p, enum peer_fault f);
bool peer_connected(const struct peer *p);
/* Queue bytes to write to the server (sent as space allows). */
void peer_send(struct peer *p, const void *buf, size_t len);
/* Everything read so far (SINK mode). */
const uint8_t *peer_received(const struct peer *p, size_t *len);
/* Ask the server to notify us after it writes (srv_notify bit). */
void peer_request(struct peer *p, uint8_t bits);
uint8_t peer_cli_notify(const struct peer *p);
uint64_t peer_events_received(const struct peer *p);
/* Unmap everything and say cli_live = exited. */
void peer_disconnect(struct peer *p);
/* Close as libxenvchan's client does: cli_live = exited, an event to
 * the server, then unmap everything. */
void peer_close(struct peer *p);
void peer_destroy(struct peer *p);
/* The control page as the client maps it (NULL before connecting): a
 * hostile client's pen, for the fuzz target. */
struct xenabi_vchan_interface *peer_control(struct peer *p);

#endif
