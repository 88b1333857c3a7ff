/*
 * <dns/zone.h>: a zone as the zone compiler (zonec/, the dns_zone rule)
 * emits it: every response the zone can give, precomputed in wire form.
 *
 * A response is the header, the question (copied from the query, so it
 * keeps the client's case) and a body: the answer, authority and
 * additional sections. The question name always starts at offset 12 and
 * its length is the node's name length, so every position in a node's
 * body is known at build time and its compression pointers (to the
 * question name, its suffixes and earlier names in the body) are final.
 * Only NXDOMAIN, whose question name can be any name in the zone, has
 * pointers to the apex inside the question that are patched at run time
 * (nx_patch). README.md explains the design.
 */
#ifndef DNS_ZONE_H
#define DNS_ZONE_H

#include <stdint.h>

/* One precomputed body. */
struct dns_answer {
    uint32_t off;       /* its bytes: zone->data[off .. off + len) */
    uint16_t qtype;     /* the question type it answers */
    uint16_t len;       /* answer + authority + additional */
    uint16_t len_noadd; /* answer + authority: the prefix sent when the additional section does not fit */
    uint16_t ancount;
    uint16_t nscount;
    uint16_t arcount;
    uint8_t rcode; /* 0, or 3 (NXDOMAIN) when a CNAME chain ends at a name the zone lacks */
};

/* One name of the zone (empty non-terminals included). */
struct dns_node {
    uint32_t name_off; /* lowercase wire name in zone->names */
    uint32_t first;    /* its answers: answers[first .. first + count), by qtype */
    uint32_t other;    /* the answer to any other qtype (NODATA, or a CNAME chain) */
    uint16_t count;
    uint8_t name_len;
};

#define DNS_NX_PATCH_MAX 4

struct dns_zone {
    const uint8_t *apex; /* lowercase wire name */
    uint8_t apex_len;
    uint32_t node_count;
    const struct dns_node *nodes; /* sorted by lowercase wire name, bytewise */
    const struct dns_answer *answers;
    const uint8_t *names;
    const uint8_t *data;
    /* NXDOMAIN (SOA in authority): pointers at these body offsets are
     * 0xc000 and get the question's apex offset added. */
    struct dns_answer nxdomain;
    uint8_t nx_patch_count;
    uint16_t nx_patch[DNS_NX_PATCH_MAX];
};

/* The zone an image serves: the one dns_zone target it links. */
extern const struct dns_zone dns_zone;

#endif /* DNS_ZONE_H */
