/*
 * server.c: one query in, one response out (<dns/server.h>).
 *
 * The query is untrusted: it is read once, field by field, with every
 * offset checked against its length, into a struct query; nothing after
 * that looks at the packet again except to copy nothing. The response is
 * the header, the question as the client spelled it (its case kept), and
 * a body the zone compiler precomputed (<dns/zone.h>).
 */
#include <string.h>

#include <dns/server.h>

#define HEADER 12
#define NAME_MAX_WIRE 255
#define T_OPT 41
#define T_IXFR 251
#define T_AXFR 252
#define T_ANY 255
#define C_IN 1
#define C_ANY 255
#define OPT_COOKIE 10
#define OPT_RR_LEN 11

struct query {
    uint16_t id;
    uint8_t opcode;
    bool rd;
    uint8_t qname[NAME_MAX_WIRE]; /* uncompressed, the client's case */
    uint8_t qname_len;
    uint16_t qtype;
    uint16_t qclass;
    bool edns;
    uint8_t edns_version;
    uint16_t udp_size;
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/*
 * Reads the name at *pos (RFC 1035 4.1.4) into out (or just skips it if
 * out is NULL), leaving *pos after its bytes in place. A pointer must aim
 * before the start of the run of labels it ends, and after the header:
 * each jump goes strictly backwards, so a loop is impossible, and the
 * whole name stays within 255 bytes. Labels of type 01 and 10 (RFC 6891
 * 5: extended, obsolete) are refused, which also refuses length 64..191.
 */
static bool read_name(const uint8_t *m, size_t len, size_t *pos,
                      uint8_t *out, uint8_t *out_len)
{
    size_t p = *pos, run_start = *pos, total = 0;
    bool jumped = false;
    for (;;) {
        if (p >= len)
            return false;
        uint8_t l = m[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len)
                return false;
            size_t target = (size_t)(l & 0x3f) << 8 | m[p + 1];
            if (target < HEADER || target >= run_start)
                return false;
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = run_start = target;
            continue;
        }
        if (l & 0xc0)
            return false;
        if (total + 1u + l > NAME_MAX_WIRE || p + 1u + l > len)
            return false;
        if (out)
            memcpy(out + total, m + p, 1u + l);
        total += 1u + l;
        p += 1u + l;
        if (l == 0)
            break;
    }
    if (!jumped)
        *pos = p;
    if (out_len)
        *out_len = (uint8_t)total;
    return true;
}

/* Every option of an OPT record fills its RDATA exactly; a cookie (RFC
 * 7873 4) is 8 bytes (client) or 16 to 40 (client and server). */
static bool options_ok(const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (n < 4)
            return false;
        uint16_t code = get16(p), olen = get16(p + 2);
        if (olen > n - 4)
            return false;
        if (code == OPT_COOKIE && olen != 8 && (olen < 16 || olen > 40))
            return false;
        p += 4u + olen;
        n -= 4u + olen;
    }
    return true;
}

enum parse { PARSE_OK, PARSE_DROP, PARSE_NOTIMP, PARSE_FORMERR_BARE,
             PARSE_FORMERR };

static enum parse parse_query(const uint8_t *m, size_t len, struct query *q)
{
    if (len < HEADER)
        return PARSE_DROP;
    q->id = get16(m);
    if (m[2] & 0x80)
        return PARSE_DROP; /* a response: answering it could start a loop */
    q->opcode = (m[2] >> 3) & 0xf;
    q->rd = m[2] & 1;
    if (q->opcode != 0)
        return PARSE_NOTIMP;
    uint16_t qd = get16(m + 4), an = get16(m + 6), ns = get16(m + 8),
             ar = get16(m + 10);
    if (qd != 1 || an != 0 || ns != 0)
        return PARSE_FORMERR_BARE;
    size_t pos = HEADER;
    if (!read_name(m, len, &pos, q->qname, &q->qname_len) || len - pos < 4)
        return PARSE_FORMERR_BARE;
    q->qtype = get16(m + pos);
    q->qclass = get16(m + pos + 2);
    pos += 4;
    q->edns = false;
    for (uint16_t i = 0; i < ar; i++) {
        uint8_t owner_len;
        if (!read_name(m, len, &pos, NULL, &owner_len) || len - pos < 10)
            return PARSE_FORMERR;
        uint16_t type = get16(m + pos), rdlen = get16(m + pos + 8);
        if (rdlen > len - pos - 10)
            return PARSE_FORMERR;
        if (type == T_OPT) {
            /* RFC 6891 6.1.1: one OPT, owned by the root. */
            if (q->edns || owner_len != 1 || !options_ok(m + pos + 10, rdlen))
                return PARSE_FORMERR;
            q->edns = true;
            q->udp_size = get16(m + pos + 2);
            q->edns_version = m[pos + 5];
        }
        pos += 10u + rdlen;
    }
    return PARSE_OK;
}

static void lower(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (uint8_t)(src[i] + 32)
                                                : src[i];
}

/* The wire name ends with the zone's apex, on a label boundary. */
static bool in_zone(const struct dns_zone *z, const uint8_t *name,
                    size_t len)
{
    size_t p = 0;
    for (;;) {
        if (len - p == z->apex_len)
            return memcmp(name + p, z->apex, len - p) == 0;
        if (name[p] == 0)
            return false;
        p += 1u + name[p];
    }
}

static const struct dns_node *find_node(const struct dns_zone *z,
                                        const uint8_t *name, size_t len)
{
    size_t lo = 0, hi = z->node_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dns_node *n = &z->nodes[mid];
        size_t common = n->name_len < len ? n->name_len : len;
        int c = memcmp(z->names + n->name_off, name, common);
        if (c == 0)
            c = n->name_len < len ? -1 : n->name_len > len;
        if (c == 0)
            return n;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct dns_answer *find_answer(const struct dns_zone *z,
                                            const struct dns_node *n,
                                            uint16_t qtype)
{
    for (uint32_t i = n->first; i < n->first + n->count; i++)
        if (z->answers[i].qtype == qtype)
            return &z->answers[i];
    return &z->answers[n->other];
}

/* Header and, if q is parsed, the question; the counts of the sections
 * after it are set by the caller. */
static size_t start(uint8_t *out, const uint8_t *query, const struct query *q,
                    bool with_question, uint8_t rcode)
{
    memset(out, 0, HEADER);
    put16(out, get16(query));
    out[2] = (uint8_t)(0x80 | (query[2] & 0x78) | (query[2] & 1));
    out[3] = rcode & 0xf;
    if (!with_question)
        return HEADER;
    put16(out + 4, 1);
    memcpy(out + HEADER, q->qname, q->qname_len);
    put16(out + HEADER + q->qname_len, q->qtype);
    put16(out + HEADER + q->qname_len + 2, q->qclass);
    return HEADER + q->qname_len + 4u;
}

static size_t put_opt(uint8_t *out, size_t at, uint8_t ext_rcode)
{
    uint8_t *o = out + at;
    o[0] = 0; /* the root */
    put16(o + 1, T_OPT);
    put16(o + 3, DNS_EDNS_UDP_SIZE);
    o[5] = ext_rcode;
    o[6] = 0; /* version 0 */
    o[7] = 0; /* no DO: nothing is signed */
    o[8] = 0;
    put16(o + 9, 0);
    put16(out + 10, (uint16_t)(get16(out + 10) + 1));
    return at + OPT_RR_LEN;
}

size_t dns_respond(const struct dns_zone *z, const uint8_t *query,
                   size_t len, uint8_t *out, size_t cap, bool tcp)
{
    struct query q;
    /* Enough for a header, a question and an OPT record, whatever the
     * caller passed: below that, answering is impossible. */
    if (cap < HEADER + NAME_MAX_WIRE + 4 + OPT_RR_LEN)
        return 0;
    switch (parse_query(query, len, &q)) {
    case PARSE_DROP:
        return 0;
    case PARSE_NOTIMP:
        return start(out, query, &q, false, DNS_RCODE_NOTIMP);
    case PARSE_FORMERR_BARE:
        return start(out, query, &q, false, DNS_RCODE_FORMERR);
    case PARSE_FORMERR:
        return start(out, query, &q, true, DNS_RCODE_FORMERR);
    case PARSE_OK:
        break;
    }
    size_t limit = DNS_UDP_PLAIN;
    if (tcp)
        limit = DNS_TCP_MAX;
    else if (q.edns)
        limit = q.udp_size < DNS_UDP_PLAIN     ? DNS_UDP_PLAIN
                : q.udp_size > DNS_EDNS_UDP_SIZE ? DNS_EDNS_UDP_SIZE
                                                 : q.udp_size;
    if (limit > cap)
        limit = cap;
    size_t opt = q.edns ? OPT_RR_LEN : 0;

    if (q.edns && q.edns_version != 0) {
        /* RFC 6891 6.1.3: BADVERS, with our version (0) in the OPT. */
        size_t n = start(out, query, &q, true, 0);
        return put_opt(out, n, DNS_RCODE_BADVERS >> 4);
    }
    uint8_t rcode = DNS_RCODE_NOERROR;
    if (q.qtype == T_OPT)
        rcode = DNS_RCODE_FORMERR;
    else if (q.qtype == T_AXFR || q.qtype == T_IXFR)
        rcode = DNS_RCODE_REFUSED; /* zone transfers are not served */
    else if (q.qtype >= 249 && q.qtype < T_ANY)
        rcode = DNS_RCODE_NOTIMP; /* TKEY, TSIG, MAILB, MAILA */
    else if (q.qclass != C_IN && q.qclass != C_ANY)
        rcode = DNS_RCODE_REFUSED; /* only class IN is served */
    uint8_t name[NAME_MAX_WIRE];
    lower(name, q.qname, q.qname_len);
    if (rcode == DNS_RCODE_NOERROR && !in_zone(z, name, q.qname_len))
        rcode = DNS_RCODE_REFUSED; /* not ours, and no recursion */
    if (rcode != DNS_RCODE_NOERROR) {
        size_t n = start(out, query, &q, true, rcode);
        return q.edns ? put_opt(out, n, 0) : n;
    }

    const struct dns_node *node = find_node(z, name, q.qname_len);
    const struct dns_answer *a =
        node ? find_answer(z, node, q.qtype) : &z->nxdomain;
    size_t n = start(out, query, &q, true, a->rcode);
    out[2] |= 0x04; /* AA */
    size_t body = a->len;
    uint16_t ar = a->arcount;
    if (n + body + opt > limit) {
        body = a->len_noadd; /* RFC 2181 9: no TC for additional data */
        ar = 0;
    }
    if (n + body + opt > limit) {
        out[2] |= 0x02; /* TC: the client retries over TCP */
        return q.edns ? put_opt(out, n, 0) : n;
    }
    memcpy(out + n, z->data + a->off, body);
    if (!node) {
        /* The apex's offset inside this question name. */
        uint16_t ptr = (uint16_t)(0xc000 | (HEADER + q.qname_len - z->apex_len));
        for (uint8_t i = 0; i < z->nx_patch_count; i++)
            if (z->nx_patch[i] + 2u <= body)
                put16(out + n + z->nx_patch[i], ptr);
    }
    put16(out + 6, a->ancount);
    put16(out + 8, a->nscount);
    put16(out + 10, ar);
    n += body;
    return q.edns ? put_opt(out, n, 0) : n;
}
