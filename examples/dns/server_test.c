/*
 * server.c on the host under ASan/UBSan, against test.zone compiled by
 * the dns_zone rule: answers (AA, CNAME chains, NXDOMAIN and NODATA with
 * the SOA, case kept, compression, EDNS sizes, TC, REFUSED) and a table of
 * malformed queries, then seeded random mutations of valid queries. Every
 * response is walked with a decompressor of this file's own and must be
 * exactly its sections, within the size the client allowed.
 */
#include <stdio.h>
#include <string.h>

#include <dns/server.h>
#include <testing/check.h>

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_SRV 33
#define T_OPT 41
#define T_ANY 255

static uint8_t out[DNS_TCP_MAX];

/* ---- building queries ------------------------------------------------ */

struct msg {
    uint8_t b[4096];
    size_t n;
};

static void put8(struct msg *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void put16(struct msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

/* "www.example.test" in wire form, no compression. */
static void put_name(struct msg *m, const char *text)
{
    while (*text) {
        const char *dot = strchr(text, '.');
        size_t l = dot ? (size_t)(dot - text) : strlen(text);
        put8(m, (unsigned)l);
        memcpy(m->b + m->n, text, l);
        m->n += l;
        text += l + (dot ? 1 : 0);
    }
    put8(m, 0);
}

static void header(struct msg *m, unsigned id, unsigned flags, unsigned qd,
                   unsigned an, unsigned ns, unsigned ar)
{
    m->n = 0;
    put16(m, id);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, ar);
}

/* A query; udp_size > 0 adds an OPT record with it. */
static void query(struct msg *m, const char *name, unsigned type,
                  unsigned udp_size)
{
    header(m, 0x1234, 0x0100, 1, 0, 0, udp_size ? 1 : 0);
    put_name(m, name);
    put16(m, type);
    put16(m, 1);
    if (udp_size) {
        put8(m, 0);
        put16(m, T_OPT);
        put16(m, udp_size);
        put16(m, 0);
        put16(m, 0);
        put16(m, 0);
    }
}

/* ---- reading responses ------------------------------------------------ */

static unsigned g16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }

/* Decompresses the name at *pos into text (lowercased, "a.b."), checking
 * pointers go backwards; false if it is malformed. */
static bool name_at(const uint8_t *m, size_t n, size_t *pos, char *text)
{
    size_t p = *pos, hops = 0, t = 0;
    bool jumped = false;
    for (;;) {
        if (p >= n)
            return false;
        uint8_t l = m[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= n || ++hops > 64)
                return false;
            size_t target = (size_t)(l & 0x3f) << 8 | m[p + 1];
            if (target >= p)
                return false;
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = target;
            continue;
        }
        if (l > 63 || p + 1 + l > n || t + l + 2 > 300)
            return false;
        if (l == 0)
            break;
        for (size_t i = 0; i < l; i++) {
            char c = (char)m[p + 1 + i];
            text[t++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        text[t++] = '.';
        p += 1u + l;
    }
    text[t] = 0;
    if (!jumped)
        *pos = p + 1;
    return true;
}

struct rr {
    char owner[300];
    unsigned type, ttl, rdlen;
    size_t rdata; /* offset in the response */
};

struct resp {
    unsigned id, flags, rcode, qd, an, ns, ar;
    char qname[300];
    size_t qname_raw; /* offset of the question name */
    struct rr rrs[64];
    size_t count;
    bool edns;
    unsigned ext_rcode;
};

/* Walks the whole response: true if every section parses and nothing is
 * left over. */
static bool parse_resp(const uint8_t *m, size_t n, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    if (n < 12)
        return false;
    r->id = g16(m);
    r->flags = g16(m + 2);
    r->rcode = r->flags & 0xf;
    r->qd = g16(m + 4);
    r->an = g16(m + 6);
    r->ns = g16(m + 8);
    r->ar = g16(m + 10);
    size_t pos = 12;
    if (r->qd > 1)
        return false;
    if (r->qd == 1) {
        r->qname_raw = pos;
        if (!name_at(m, n, &pos, r->qname) || pos + 4 > n)
            return false;
        pos += 4;
    }
    size_t total = r->an + r->ns + r->ar;
    if (total > 64)
        return false;
    for (size_t i = 0; i < total; i++) {
        struct rr *rr = &r->rrs[i];
        if (!name_at(m, n, &pos, rr->owner) || pos + 10 > n)
            return false;
        rr->type = g16(m + pos);
        rr->ttl = (unsigned)(g16(m + pos + 4) << 16 | g16(m + pos + 6));
        rr->rdlen = g16(m + pos + 8);
        rr->rdata = pos + 10;
        pos += 10u + rr->rdlen;
        if (pos > n)
            return false;
        if (rr->type == T_OPT) {
            r->edns = true;
            r->ext_rcode = rr->ttl >> 24;
        }
        /* Names inside RDATA must decompress too, ending exactly in it. */
        size_t p = rr->rdata;
        char tmp[300];
        switch (rr->type) {
        case T_NS:
        case T_CNAME:
            if (!name_at(m, n, &p, tmp) || p != pos)
                return false;
            break;
        case T_MX:
            p += 2;
            if (!name_at(m, n, &p, tmp) || p != pos)
                return false;
            break;
        case T_SRV:
            p += 6;
            if (m[p] >= 0xc0 || !name_at(m, n, &p, tmp) || p != pos)
                return false; /* never compressed (RFC 2782) */
            break;
        case T_SOA:
            if (!name_at(m, n, &p, tmp) || !name_at(m, n, &p, tmp)
                || p + 20 != pos)
                return false;
            break;
        default:
            break;
        }
    }
    r->count = total;
    return pos == n;
}

static size_t ask(const struct msg *m, bool tcp)
{
    return dns_respond(&dns_zone, m->b, m->n, out, sizeof(out), tcp);
}

static size_t ask_parse(const struct msg *m, bool tcp, struct resp *r)
{
    size_t n = ask(m, tcp);
    CHECK_MSG(n > 0, "an answer");
    CHECK_MSG(parse_resp(out, n, r), "the response parses to its last byte");
    return n;
}

static unsigned count_type(const struct resp *r, size_t from, size_t to,
                           unsigned type)
{
    unsigned k = 0;
    for (size_t i = from; i < to && i < r->count; i++)
        k += r->rrs[i].type == type;
    return k;
}

/* ---- answers ------------------------------------------------------- */

static void test_a_through_cname_chain(void)
{
    struct msg m;
    struct resp r;
    query(&m, "alias.example.test", T_A, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.id, 0x1234);
    CHECK(r.flags & 0x8000);       /* QR */
    CHECK(r.flags & 0x0400);       /* AA */
    CHECK(r.flags & 0x0100);       /* RD copied */
    CHECK(!(r.flags & 0x0080));    /* no RA */
    CHECK_EQ(r.rcode, 0);
    CHECK_EQ(r.an, 4); /* alias CNAME www, www CNAME web, web A x2 */
    CHECK_EQ(count_type(&r, 0, 4, T_CNAME), 2);
    CHECK_EQ(count_type(&r, 0, 4, T_A), 2);
    CHECK(strcmp(r.rrs[0].owner, "alias.example.test.") == 0);
    CHECK(strcmp(r.rrs[2].owner, "web.example.test.") == 0);
    /* The first owner is the question name, by pointer. */
    CHECK_EQ(g16(out + 12 + 20 + 4), 0xc00c);
}

static void test_case_kept_and_matched(void)
{
    struct msg m;
    struct resp r;
    query(&m, "WwW.ExAmPlE.TeSt", T_AAAA, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 0);
    CHECK(memcmp(out + 13, "WwW", 3) == 0);
    CHECK(memcmp(out + 17, "ExAmPlE", 7) == 0);
    CHECK_EQ(r.an, 2); /* CNAME, AAAA */
    CHECK_EQ(count_type(&r, 0, 2, T_AAAA), 1);
    query(&m, "mixed.EXAMPLE.test", T_A, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.an, 1);
}

static void test_nxdomain_has_soa_with_patched_pointers(void)
{
    const char *names[] = {"nope.example.test", "a.b.c.d.example.test",
                           "ExAmPle.test.example.test", "x.WWW.example.test"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct msg m;
        struct resp r;
        query(&m, names[i], T_A, 0);
        ask_parse(&m, false, &r);
        CHECK_EQ(r.rcode, 3);
        CHECK(r.flags & 0x0400);
        CHECK_EQ(r.an, 0);
        CHECK_EQ(r.ns, 1);
        CHECK_EQ(r.rrs[0].type, T_SOA);
        CHECK_MSG(strcmp(r.rrs[0].owner, "example.test.") == 0,
                  "the SOA's owner is the apex inside the question");
        CHECK_EQ(r.rrs[0].ttl, 300); /* min(TTL, MINIMUM) */
        size_t p = r.rrs[0].rdata;
        char mname[300], rname[300];
        CHECK(name_at(out, sizeof(out), &p, mname));
        CHECK(name_at(out, sizeof(out), &p, rname));
        CHECK(strcmp(mname, "ns1.example.test.") == 0);
        CHECK(strcmp(rname, "hostmaster.example.test.") == 0);
    }
}

static void test_nodata_and_empty_non_terminal(void)
{
    struct msg m;
    struct resp r;
    query(&m, "web.example.test", T_MX, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 0);
    CHECK_EQ(r.an, 0);
    CHECK_EQ(r.ns, 1);
    CHECK_EQ(r.rrs[0].type, T_SOA);
    query(&m, "_tcp.example.test", T_SRV, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 0); /* exists, with nothing: not NXDOMAIN */
    CHECK_EQ(r.an, 0);
    CHECK_EQ(r.ns, 1);
    query(&m, "web.example.test", 99, 0); /* a type no name has */
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 0);
    CHECK_EQ(r.ns, 1);
    /* A CNAME to a missing in-zone name: the chain, then NXDOMAIN. */
    query(&m, "dangling.example.test", T_A, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 3);
    CHECK_EQ(r.an, 1);
    CHECK_EQ(r.ns, 1);
    /* Out of the zone: the CNAME alone. */
    query(&m, "away.example.test", T_A, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 0);
    CHECK_EQ(r.an, 1);
    CHECK_EQ(r.ns, 0);
    query(&m, "www.example.test", T_CNAME, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.an, 1); /* asked for the CNAME: not followed */
}

static void test_additional_section(void)
{
    struct msg m;
    struct resp r;
    query(&m, "example.test", T_MX, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.an, 2);
    CHECK_EQ(r.ar, 1); /* mail's A; mail2.other.test is not ours */
    query(&m, "example.test", T_NS, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.an, 2);
    CHECK_EQ(r.ar, 3); /* ns1 A, AAAA; ns2 A */
    query(&m, "_sip._tcp.example.test", T_SRV, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.an, 1);
    CHECK_EQ(r.ar, 1);
}

static void test_refused(void)
{
    struct msg m;
    struct resp r;
    const char *others[] = {"example.org", "test", "xexample.test", "."};
    for (size_t i = 0; i < 4; i++) {
        query(&m, others[i][0] == '.' ? "" : others[i], T_A, 0);
        ask_parse(&m, false, &r);
        CHECK_EQ(r.rcode, 5);
        CHECK(!(r.flags & 0x0400));
        CHECK(r.flags & 0x0100); /* RD copied, RA clear */
        CHECK(!(r.flags & 0x0080));
        CHECK_EQ(r.an + r.ns + r.ar, 0);
    }
    query(&m, "example.test", 252, 0); /* AXFR */
    ask_parse(&m, true, &r);
    CHECK_EQ(r.rcode, 5);
    query(&m, "example.test", T_A, 0);
    m.b[m.n - 1] = 3; /* class CH */
    ask_parse(&m, false, &r);
    CHECK_EQ(r.rcode, 5);
}

static void test_sizes_edns_and_truncation(void)
{
    struct msg m;
    struct resp r;
    /* big's TXT RRset is about 660 bytes. */
    query(&m, "big.example.test", T_TXT, 0);
    size_t n = ask_parse(&m, false, &r);
    CHECK(n <= 512);
    CHECK(r.flags & 0x0200); /* TC */
    CHECK_EQ(r.an, 0);
    CHECK(!r.edns);
    n = ask_parse(&m, true, &r); /* TCP */
    CHECK(n > 512);
    CHECK(!(r.flags & 0x0200));
    CHECK_EQ(r.an, 6);
    query(&m, "big.example.test", T_TXT, 1232);
    n = ask_parse(&m, false, &r);
    CHECK(!(r.flags & 0x0200));
    CHECK_EQ(r.an, 6);
    CHECK(r.edns);
    CHECK_EQ(g16(out + n - 11 + 3), DNS_EDNS_UDP_SIZE);
    query(&m, "big.example.test", T_TXT, 600); /* too small still */
    n = ask_parse(&m, false, &r);
    CHECK(n <= 600);
    CHECK(r.flags & 0x0200);
    CHECK(r.edns);
    query(&m, "big.example.test", T_TXT, 100); /* below 512 counts as 512 */
    n = ask_parse(&m, false, &r);
    CHECK(r.flags & 0x0200);
    query(&m, "big.example.test", T_TXT, 65000); /* capped at ours */
    n = ask_parse(&m, false, &r);
    CHECK(n <= DNS_EDNS_UDP_SIZE);
    CHECK(!(r.flags & 0x0200));
    query(&m, "example.test", T_ANY, 0);
    ask_parse(&m, false, &r);
    CHECK(!(r.flags & 0x0200));
    CHECK_EQ(r.an, 8); /* SOA, 2 NS, 2 MX, A, AAAA, TXT */
    /* relay's 10 MX fit 512 bytes, their 20 addresses do not: the
     * additional section goes, without TC (RFC 2181 9). */
    query(&m, "relay.example.test", T_MX, 0);
    n = ask_parse(&m, false, &r);
    CHECK(n <= 512);
    CHECK(!(r.flags & 0x0200));
    CHECK_EQ(r.an, 10);
    CHECK_EQ(r.ar, 0);
    query(&m, "relay.example.test", T_MX, 1232);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.ar, 21); /* 20 addresses and the OPT */
}

/* ---- malformed queries ----------------------------------------------- */

enum expect { DROP = -1 };

struct bad {
    const char *what;
    int rcode; /* DROP: no response */
    void (*make)(struct msg *m);
};

static void short_header(struct msg *m) { query(m, "example.test", T_A, 0); m->n = 11; }
static void empty(struct msg *m) { m->n = 0; }
static void qr_set(struct msg *m) { query(m, "example.test", T_A, 0); m->b[2] |= 0x80; }
static void opcode_status(struct msg *m) { query(m, "example.test", T_A, 0); m->b[2] |= 2 << 3; }
static void opcode_notify(struct msg *m) { query(m, "example.test", T_SOA, 0); m->b[2] |= 4 << 3; }
static void opcode_update(struct msg *m) { query(m, "example.test", T_SOA, 0); m->b[2] |= 5 << 3; }
static void qdcount_0(struct msg *m) { header(m, 1, 0, 0, 0, 0, 0); }
static void qdcount_50(struct msg *m)
{
    header(m, 1, 0, 50, 0, 0, 0);
    for (int i = 0; i < 50; i++) {
        put_name(m, "www.example.test");
        put16(m, T_A);
        put16(m, 1);
    }
}
static void ancount_1(struct msg *m) { query(m, "example.test", T_A, 0); m->b[7] = 1; }
static void truncated_name(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put8(m, 10); put8(m, 'a'); }
static void name_no_end(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put8(m, 3); put8(m, 'w'); put8(m, 'w'); put8(m, 'w'); }
static void no_qtype(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put_name(m, "example.test"); put16(m, T_A); }
static void label_64(struct msg *m)
{
    header(m, 1, 0, 1, 0, 0, 0);
    put8(m, 64);
    for (int i = 0; i < 64; i++)
        put8(m, 'a');
    put_name(m, "example.test");
    put16(m, T_A);
    put16(m, 1);
}
static void name_256(struct msg *m)
{
    header(m, 1, 0, 1, 0, 0, 0);
    for (int l = 0; l < 4; l++) { /* 4 * 64 + "example.test" > 255 */
        put8(m, 63);
        for (int i = 0; i < 63; i++)
            put8(m, 'a');
    }
    put_name(m, "example.test");
    put16(m, T_A);
    put16(m, 1);
}
static void qname_pointer_self(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put16(m, 0xc00c); put16(m, T_A); put16(m, 1); }
static void qname_pointer_forward(struct msg *m)
{
    header(m, 1, 0, 1, 0, 0, 0);
    put16(m, 0xc010);
    put16(m, T_A);
    put16(m, 1);
    put_name(m, "example.test");
}
static void qname_pointer_out(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put16(m, 0xffff); put16(m, T_A); put16(m, 1); }
static void qname_pointer_cut(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put8(m, 0xc0); }
static void extended_label(struct msg *m) { header(m, 1, 0, 1, 0, 0, 0); put8(m, 0x41); put8(m, 0); put16(m, T_A); put16(m, 1); }
/* An additional record whose owner points at itself; and a two-pointer loop. */
static void additional_loop(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    size_t at = m->n;
    put16(m, 0xc000 | (unsigned)at);
    put16(m, 99);
    put16(m, 1);
    put16(m, 0); put16(m, 0);
    put16(m, 0);
}
static void additional_loop_two(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    size_t at = m->n;
    put8(m, 1);
    put8(m, 'a');
    put16(m, 0xc000 | (unsigned)at); /* back to "a": a loop of one label */
    put16(m, 99);
    put16(m, 1);
    put16(m, 0); put16(m, 0);
    put16(m, 0);
}
static void additional_pointer_header(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    put16(m, 0xc002);
    put16(m, 99); put16(m, 1); put16(m, 0); put16(m, 0); put16(m, 0);
}
static void arcount_past_end(struct msg *m) { query(m, "example.test", T_A, 1232); m->b[11] = 2; }
static void rdlen_past_end(struct msg *m) { query(m, "example.test", T_A, 1232); m->b[m->n - 1] = 9; }
static void two_opts(struct msg *m)
{
    query(m, "example.test", T_A, 1232);
    m->b[11] = 2;
    put8(m, 0); put16(m, T_OPT); put16(m, 1232); put16(m, 0); put16(m, 0); put16(m, 0);
}
static void opt_not_root(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    put16(m, 0xc00c); put16(m, T_OPT); put16(m, 1232); put16(m, 0); put16(m, 0); put16(m, 0);
}
static void opt_option_overruns(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    put8(m, 0); put16(m, T_OPT); put16(m, 1232); put16(m, 0); put16(m, 0);
    put16(m, 8); put16(m, 3); put16(m, 40); put16(m, 0); /* option says 40 */
}
static void opt_option_half(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    put8(m, 0); put16(m, T_OPT); put16(m, 1232); put16(m, 0); put16(m, 0);
    put16(m, 3); put8(m, 0); put8(m, 10); put8(m, 0);
}
static void opt_bad_cookie(struct msg *m)
{
    query(m, "example.test", T_A, 0);
    m->b[11] = 1;
    put8(m, 0); put16(m, T_OPT); put16(m, 1232); put16(m, 0); put16(m, 0);
    put16(m, 9); put16(m, 10); put16(m, 5);
    for (int i = 0; i < 5; i++)
        put8(m, i);
}
static void opt_version_1(struct msg *m) { query(m, "example.test", T_A, 1232); m->b[m->n - 5] = 1; }
static void qtype_opt(struct msg *m) { query(m, "example.test", T_OPT, 0); }
static void qtype_maila(struct msg *m) { query(m, "example.test", 254, 0); }
static void good_cookie_unknown_option(struct msg *m)
{
    query(m, "www.example.test", T_A, 0);
    m->b[11] = 1;
    put8(m, 0); put16(m, T_OPT); put16(m, 1232); put16(m, 0); put16(m, 0);
    put16(m, 12 + 6); put16(m, 10); put16(m, 8);
    for (int i = 0; i < 8; i++)
        put8(m, i);
    put16(m, 65001); put16(m, 2); put16(m, 7);
}
static void valid_pointer_in_additional(struct msg *m)
{
    query(m, "www.example.test", T_A, 0);
    m->b[11] = 1;
    put16(m, 0xc00c); put16(m, 99); put16(m, 1); put16(m, 0); put16(m, 0); put16(m, 0);
}

static const struct bad corpus[] = {
    {"empty packet", DROP, empty},
    {"11 bytes", DROP, short_header},
    {"QR set", DROP, qr_set},
    {"opcode STATUS", 4, opcode_status},
    {"opcode NOTIFY", 4, opcode_notify},
    {"opcode UPDATE", 4, opcode_update},
    {"qdcount 0", 1, qdcount_0},
    {"qdcount 50", 1, qdcount_50},
    {"ancount 1", 1, ancount_1},
    {"truncated name", 1, truncated_name},
    {"name without its root label", 1, name_no_end},
    {"no qclass", 1, no_qtype},
    {"label length 64", 1, label_64},
    {"name longer than 255", 1, name_256},
    {"question pointer to itself", 1, qname_pointer_self},
    {"question pointer forward", 1, qname_pointer_forward},
    {"question pointer out of bounds", 1, qname_pointer_out},
    {"question pointer cut in half", 1, qname_pointer_cut},
    {"extended label type", 1, extended_label},
    {"additional owner points at itself", 1, additional_loop},
    {"additional owner loops through a label", 1, additional_loop_two},
    {"additional owner points into the header", 1, additional_pointer_header},
    {"arcount past the end", 1, arcount_past_end},
    {"rdlength past the end", 1, rdlen_past_end},
    {"two OPT records", 1, two_opts},
    {"OPT not owned by the root", 1, opt_not_root},
    {"EDNS option longer than the OPT", 1, opt_option_overruns},
    {"EDNS option header cut", 1, opt_option_half},
    {"EDNS cookie of 5 bytes", 1, opt_bad_cookie},
    {"EDNS version 1", 0, opt_version_1}, /* BADVERS: checked below */
    {"qtype OPT", 1, qtype_opt},
    {"qtype MAILA", 4, qtype_maila},
    {"cookie and an unknown option", 0, good_cookie_unknown_option},
    {"a valid pointer in an additional record", 0, valid_pointer_in_additional},
};

static void test_malformed_corpus(void)
{
    for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
        struct msg m;
        memset(&m, 0, sizeof(m));
        corpus[i].make(&m);
        for (int tcp = 0; tcp < 2; tcp++) {
            size_t n = ask(&m, tcp);
            struct resp r;
            bool ok = corpus[i].rcode == DROP
                          ? n == 0
                          : n > 0 && parse_resp(out, n, &r)
                                && r.rcode == (unsigned)corpus[i].rcode
                                && r.id == g16(m.b) && (r.flags & 0x8000)
                                && n <= 512;
            if (!ok)
                printf("  corpus: %s: got %zu bytes, rcode %u\n",
                       corpus[i].what, n, n >= 4 ? out[3] & 0xfu : 99u);
            CHECK_MSG(ok, corpus[i].what);
        }
    }
    /* BADVERS: extended rcode 1 in our OPT, no answer. */
    struct msg m;
    struct resp r;
    opt_version_1(&m);
    ask_parse(&m, false, &r);
    CHECK(r.edns);
    CHECK_EQ(r.ext_rcode, 1);
    CHECK_EQ(r.an, 0);
}

/* Seeded mutations of valid queries: whatever comes back parses, keeps
 * the ID, fits the size, and the server still answers a good query. */
static void test_random_mutations(void)
{
    const char *names[] = {"www.example.test", "big.example.test",
                           "nope.example.test", "example.org",
                           "_sip._tcp.example.test"};
    const unsigned types[] = {T_A, T_TXT, T_ANY, T_SRV, T_MX};
    rng_seed(20261206);
    for (int iter = 0; iter < 20000; iter++) {
        struct msg m;
        query(&m, names[rng_below(5)], types[rng_below(5)],
              rng_below(2) ? (unsigned)rng_below(5000) : 0);
        size_t edits = 1 + rng_below(4);
        for (size_t e = 0; e < edits; e++) {
            switch (rng_below(4)) {
            case 0:
                if (m.n > 0)
                    m.b[rng_below(m.n)] = (uint8_t)rng_next();
                break;
            case 1:
                m.n = rng_below(m.n + 1);
                break;
            case 2:
                if (m.n + 8 < sizeof(m.b))
                    for (int k = 0; k < 8; k++)
                        m.b[m.n++] = (uint8_t)rng_next();
                break;
            default:
                if (m.n > 13) { /* a pointer somewhere */
                    size_t at = 12 + rng_below(m.n - 13);
                    m.b[at] = (uint8_t)(0xc0 | rng_below(64));
                    m.b[at + 1] = (uint8_t)rng_next();
                }
            }
        }
        bool tcp = rng_below(2);
        size_t n = ask(&m, tcp);
        if (n == 0)
            continue;
        struct resp r;
        if (!parse_resp(out, n, &r) || r.id != g16(m.b)
            || (!tcp && n > DNS_EDNS_UDP_SIZE)) {
            CHECK_MSG(false, "a mutated query gets a well-formed response");
            printf("  iteration %d\n", iter);
            return;
        }
    }
    struct msg m;
    struct resp r;
    query(&m, "www.example.test", T_A, 0);
    ask_parse(&m, false, &r);
    CHECK_EQ(r.an, 3);
}

/* Every name of the zone, every type: well-formed, and AA. */
static void test_every_name_and_type(void)
{
    const unsigned types[] = {T_A, T_NS, T_CNAME, T_SOA, T_MX, T_TXT,
                              T_AAAA, T_SRV, T_ANY, 99, 0};
    for (uint32_t i = 0; i < dns_zone.node_count; i++) {
        const struct dns_node *node = &dns_zone.nodes[i];
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            struct msg m;
            header(&m, i, 0, 1, 0, 0, 0);
            memcpy(m.b + m.n, dns_zone.names + node->name_off, node->name_len);
            m.n += node->name_len;
            put16(&m, types[t]);
            put16(&m, 1);
            struct resp r;
            ask_parse(&m, true, &r);
            CHECK(r.flags & 0x0400);
            CHECK(r.rcode == 0 || r.rcode == 3);
        }
    }
}

int main(void)
{
    RUN(test_a_through_cname_chain);
    RUN(test_case_kept_and_matched);
    RUN(test_nxdomain_has_soa_with_patched_pointers);
    RUN(test_nodata_and_empty_non_terminal);
    RUN(test_additional_section);
    RUN(test_refused);
    RUN(test_sizes_edns_and_truncation);
    RUN(test_malformed_corpus);
    RUN(test_random_mutations);
    RUN(test_every_name_and_type);
    return check_finish();
}
