/*
 * net/config.h - a NIC's addresses, from the image's command line.
 *
 * The words the network stack reads (others belong to the application
 * and are ignored; each key at most once):
 *
 *   ip=A.B.C.D/N   a static IPv4 address with its prefix length (1-32)
 *   ip=dhcp        ask a DHCP server (lwIP's client)
 *   gw=A.B.C.D     the default gateway (static only; inside the prefix)
 *   dns=A.B.C.D[,A.B.C.D]   up to NET_CONFIG_DNS_MAX resolvers
 *   ip6=X:X::X/64  a static global IPv6 address (the stack takes its /64
 *                  as on-link; beside the link-local and SLAAC ones)
 *
 * Without ip= the NIC has no IPv4 address (IPv6 link-local and SLAAC
 * still run where the stack has IPv6). In BUILD the same words go into
 * the image's `cmdline` attribute (config as code):
 *
 *     unikernel_image(name = "image", deps = [":app"],
 *                     cmdline = "ip=10.0.0.2/24 gw=10.0.0.1 dns=10.0.0.1")
 *
 * The parser is plain C (no lwIP), host-tested with bad inputs.
 */
#ifndef NET_CONFIG_H
#define NET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_CONFIG_DNS_MAX 2
#define NET_CONFIG_ERROR_MAX 160 /* bytes of an error message, with NUL */
#define NET_CONFIG_IP6_TEXT 40   /* an IPv6 address as text, with NUL */

enum net_addr_mode {
    NET_ADDR_NONE = 0, /* no ip= word */
    NET_ADDR_STATIC,
    NET_ADDR_DHCP,
};

/* IPv4 addresses in host byte order (10.0.0.2 is 0x0a000002). */
struct net_config {
    enum net_addr_mode mode;
    uint32_t ip;
    uint32_t netmask;
    uint8_t prefix;
    uint32_t gw; /* 0: none */
    uint32_t dns[NET_CONFIG_DNS_MAX];
    size_t dns_count;
    bool has_ip6;    /* ip6= given */
    uint8_t ip6[16]; /* network byte order */
};

/*
 * Read the stack's words among argv[0..argc) into *out. 0 on success;
 * -1 on bad input, with one line in err (NET_CONFIG_ERROR_MAX bytes)
 * naming the word, the problem and the fix, e.g.
 * "net: ip=10.0.0.300/24: 300 is not a number from 0 to 255 (write ip=A.B.C.D/N or ip=dhcp)".
 */
int net_config_parse(int argc, char *const argv[], struct net_config *out,
                     char *err);

/* "A.B.C.D" of a host-order address into buf (16 bytes). */
void net_config_format_ip(uint32_t ip, char buf[16]);

/* An IPv6 address in its short text form (RFC 5952: lower case, the
 * longest run of zero groups as "::"). */
void net_config_format_ip6(const uint8_t ip6[16], char buf[NET_CONFIG_IP6_TEXT]);

#endif /* NET_CONFIG_H */
