/*
 * <dns/server.h>: answering one DNS query from a compiled zone
 * (<dns/zone.h>). Pure computation on two buffers: no sockets, no
 * allocation, so the host tests drive it with hostile input under
 * ASan/UBSan and the image's UDP and TCP loops (main.c) only move bytes.
 */
#ifndef DNS_SERVER_H
#define DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dns/zone.h>

/* The UDP payload size the server offers in EDNS(0) and the most it sends
 * over UDP (the 2020 DNS flag day's value: no IP fragmentation). */
#define DNS_EDNS_UDP_SIZE 1232
/* UDP without EDNS (RFC 1035 4.2.1). */
#define DNS_UDP_PLAIN 512
/* The largest message over TCP (its 2-byte length prefix). */
#define DNS_TCP_MAX 65535

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_BADVERS 16 /* extended: in the OPT record */

/*
 * Writes the response to `query` (len bytes, as received) into out (cap
 * bytes) and returns its length, or 0 when nothing must be sent (shorter
 * than a header, or a response: QR set). `tcp` lifts the size limit from
 * the client's UDP size (512 without EDNS) to 65535; what does not fit is
 * sent without the additional section, or else empty with TC set.
 * cap >= DNS_EDNS_UDP_SIZE for UDP, DNS_TCP_MAX for TCP.
 */
size_t dns_respond(const struct dns_zone *zone, const uint8_t *query,
                   size_t len, uint8_t *out, size_t cap, bool tcp);

#endif /* DNS_SERVER_H */
