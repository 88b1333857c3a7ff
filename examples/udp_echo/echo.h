/*
 * The udp_echo appliance's protocol, kept apart from the driver so the
 * host can test it: answer ARP requests for our IPv4 address, and send
 * every UDP datagram addressed to us back where it came from.
 * Everything else is ignored. IPv4 only, no options, no fragments.
 */
#ifndef UDP_ECHO_ECHO_H
#define UDP_ECHO_ECHO_H

#include <stddef.h>
#include <stdint.h>

struct echo_host {
    uint8_t mac[6];
    uint8_t ip[4];
};

/* Parse a dotted quad ("10.0.0.2"); 0 on success, -1 if malformed. */
int echo_parse_ip(const char *text, uint8_t ip[4]);

/*
 * The reply to Ethernet frame `in` (len bytes) written to `out` (room
 * for len bytes: a reply is never longer), and its length; 0 for no
 * reply.
 */
size_t echo_reply(const struct echo_host *host, const uint8_t *in,
                  size_t len, uint8_t *out);

#endif /* UDP_ECHO_ECHO_H */
