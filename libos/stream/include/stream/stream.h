/*
 * stream/stream.h - byte streams for an appliance, over the transport its
 * image picks by one dep (component slot "stream_transport"):
 *
 *     //libos/stream:tcp    TCP on //libos/net (BSD sockets), on the
 *                           image's NIC (<netdev/nic.h>) and the loopback
 *     //libos/stream:vchan  a vchan (//drivers/vchan) to another domain of
 *                           the same host, libxenvchan-compatible
 *
 * The appliance's code is the same for both:
 *
 *     char err[STREAM_ERROR_MAX];
 *     if (stream_start(argc, argv, err) != 0) { puts(err); return 2; }
 *     struct stream_listener *l;
 *     stream_listen(7, &l);
 *     struct stream *s;
 *     while (stream_accept(l, &s) == 0)
 *         ... stream_read(s, buf, n) / stream_write(s, buf, n) ...
 *         stream_close(s);
 *
 * stream_start reads the transport's words of the command line: for TCP
 * those of <net/config.h> (ip=A.B.C.D/N, gw=, dns=, ip=dhcp); for vchan
 * vchan_peer=N, the domain allowed to connect (default 0, dom0), and
 * vchan_ring_order=N, rings of 2^N bytes each way (12..15, default 15). Words it
 * does not know are left to the application.
 *
 * A port is the service's number: TCP port `port`, or for vchan the
 * channel announced at <home>/data/stream/<port> (the client connects
 * to /local/domain/<our id>/data/stream/<port>). A vchan is one
 * point-to-point link: a vchan listener has at most one connection at a
 * time; stream_accept waits until the previous one is closed.
 *
 * Calls park only the calling thread (//libos/sched). Errors are negative
 * errno values; stream_read returns the bytes read (>= 1), 0 at the end of
 * the stream, or an error; stream_write writes everything or fails
 * (-EPIPE once the peer is gone).
 */
#ifndef STREAM_STREAM_H
#define STREAM_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_ERROR_MAX 160

struct stream_listener;
struct stream;

int stream_start(int argc, char **argv, char err[STREAM_ERROR_MAX]);

/* The transport's name ("tcp", "vchan") and where it listens, in words. */
const char *stream_transport_name(void);

int stream_listen(uint16_t port, struct stream_listener **out);
int stream_accept(struct stream_listener *l, struct stream **out);

long stream_read(struct stream *s, void *buf, size_t len);
long stream_write(struct stream *s, const void *buf, size_t len);
void stream_close(struct stream *s);

#endif /* STREAM_STREAM_H */
