/*
 * tcp_hook.c - lwIP's TCP hooks: the end of an ACK war
 * (LWIP_HOOK_TCP_INPACKET_PCB) and unpredictable initial sequence numbers
 * (LWIP_HOOK_TCP_ISN, at the end).
 *
 * lwIP 2.1.3 (tcp_in.c, tcp_receive) sends an immediate ACK for every
 * zero-length segment whose sequence number is outside its receive
 * window, and with a window of 0 that is every one of them. RFC 793
 * accepts a zero-length segment with SEG.SEQ = RCV.NXT when RCV.WND is 0
 * and asks for no reply. When both ends are lwIP and both windows are
 * full (two threads that each write more than the other reads), each
 * pure ACK answers the other's, forever; over the loopback that loop
 * runs inside one netif_poll() call of the tcpip thread, which then
 * never yields and the image hangs.
 *
 * So a segment that lwIP would answer for no reason is dropped before
 * lwIP sees it: no data, only ACK (and PSH), SEG.SEQ = RCV.NXT, our
 * window 0, and nothing new in it (the same ACK number and window as the
 * last one). A segment with news (an advancing ACK, a window update, data,
 * SYN, FIN, RST) goes through as before. The cost: duplicate ACKs that
 * arrive while our window is 0 do not count towards a fast retransmit
 * (the retransmission timer still recovers).
 *
 * The same hook lets a peer reopen a connection whose 4-tuple is still in
 * TIME-WAIT here. lwIP 2.1.3 answers such a SYN with an ACK and ignores
 * the peer's RST (RFC 1337), so the peer cannot connect from that port
 * until our 2 MSL (two minutes) have passed. A server closes first and so
 * keeps TIME-WAIT, and clients behind a NAT or on a loopback (QEMU's user
 * network forwards the host's client port as is; Linux reuses loopback
 * ports from TIME-WAIT after a second) hit it within seconds under load.
 * RFC 1122 4.2.2.13 allows what Linux and the BSDs do: a SYN whose
 * sequence number is beyond the old connection's end starts a new one.
 * The hook then drops the TIME-WAIT state and feeds a copy of the IPv4
 * packet back to the stack, where the listener takes it.
 */
#include "lwip/opt.h"

#if LWIP_TCP

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <time/time.h>

#include "lwip/err.h"
#include "lwip/ip.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

#if !NO_SYS && LWIP_IPV4
/* Fill the TCP checksum of the IPv4 packet ip[0..iplen) (TCP at tcp_off). */
static void set_tcp_checksum(u8_t *ip, size_t tcp_off, u16_t iplen)
{
    size_t tcp_len = iplen - tcp_off;
    u8_t *tcp = ip + tcp_off;
    tcp[16] = tcp[17] = 0;
    uint32_t sum = 6 + (uint32_t)tcp_len;
    for (size_t i = 12; i < 20; i += 2) /* source, destination */
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    for (size_t i = 0; i + 1 < tcp_len; i += 2)
        sum += (uint32_t)(tcp[i] << 8 | tcp[i + 1]);
    if (tcp_len & 1)
        sum += (uint32_t)tcp[tcp_len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    u16_t c = (u16_t)~sum;
    tcp[16] = (u8_t)(c >> 8);
    tcp[17] = (u8_t)c;
}

/* A SYN for a TIME-WAIT 4-tuple that starts a new connection: the old
 * state goes, and the packet is queued again for the listener. Returns
 * true if it took the packet. */
static bool reopen_from_time_wait(struct tcp_pcb *pcb,
                                  const struct tcp_hdr *hdr,
                                  const struct pbuf *p)
{
    if (ip_current_is_v6() || p->next != NULL)
        return false;
    const struct ip_hdr *iph = ip4_current_header();
    struct netif *inp = ip_current_input_netif();
    u16_t iplen = lwip_ntohs(IPH_LEN(iph));
    /* The packet must be one contiguous piece ending where p does. */
    const u8_t *start = (const u8_t *)iph;
    if (inp == NULL || start + iplen != (const u8_t *)p->payload + p->len)
        return false;
    size_t tcp_off = (size_t)((const u8_t *)hdr - start);
    if (tcp_off + TCP_HLEN > iplen)
        return false;
    struct pbuf *q = pbuf_alloc(PBUF_RAW, iplen, PBUF_RAM);
    if (q == NULL)
        return false;
    memcpy(q->payload, start, iplen);
    /* tcp_input() turned these to host order in place: turn them back. */
    struct tcp_hdr *t = (struct tcp_hdr *)((u8_t *)q->payload + tcp_off);
    t->src = lwip_htons(hdr->src);
    t->dest = lwip_htons(hdr->dest);
    t->seqno = lwip_htonl(hdr->seqno);
    t->ackno = lwip_htonl(hdr->ackno);
    t->wnd = lwip_htons(hdr->wnd);
    /* And the checksum is computed afresh: the SYN may have come with
     * it left blank for offload and been trusted for that frame only
     * (netif.c, NETDEV_RX_CSUM_VALID), which the copy no longer is. */
    set_tcp_checksum((u8_t *)q->payload, tcp_off, iplen);
    if (tcpip_inpkt(q, inp, ip_input) != ERR_OK) {
        pbuf_free(q);
        return false;
    }
    tcp_abort(pcb); /* in TIME-WAIT: removed and freed, nothing sent */
    return true;
}
#endif

/*
 * Every option inside the options: a kind, and past EOL and NOP a length
 * byte of at least 2 whose option ends within them. lwIP's tcp_parseopt
 * reads the length byte (and an MSS, window scale or timestamp's body)
 * before it compares with the options' end, one byte or more past the
 * segment when the options are its last bytes.
 */
static bool options_well_formed(const struct tcp_hdr *hdr, unsigned optlen,
                                unsigned opt1len, const unsigned char *opt2)
{
    const unsigned char *opt1 = (const unsigned char *)hdr + TCP_HLEN;
#define OPT_BYTE(i) ((i) < opt1len || opt2 == NULL ? opt1[(i)] : opt2[(i) - opt1len])
    unsigned i = 0;
    while (i < optlen) {
        unsigned kind = OPT_BYTE(i);
        if (kind == LWIP_TCP_OPT_EOL)
            return true;
        if (kind == LWIP_TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= optlen)
            return false;
        unsigned len = OPT_BYTE(i + 1);
        if (len < 2 || len > optlen - i)
            return false;
        i += len;
    }
#undef OPT_BYTE
    return true;
}

int net_port_tcp_inpacket(const struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
                          unsigned optlen, unsigned opt1len,
                          const unsigned char *opt2, const struct pbuf *p)
{
    if (!options_well_formed(hdr, optlen, opt1len, opt2))
        return ERR_ABRT; /* malformed: drop it before tcp_parseopt */
    /* lwIP has already turned the header's numbers to host order. */
    u16_t flags = TCPH_FLAGS(hdr);
#if !NO_SYS && LWIP_IPV4
    if (pcb->state == TIME_WAIT
        && (flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN
        && TCP_SEQ_GT(hdr->seqno, pcb->rcv_nxt)
        && reopen_from_time_wait((struct tcp_pcb *)pcb, hdr, p))
        return ERR_ABRT; /* tcp_input() drops this copy; ours goes on */
#endif
    if (pcb->state < ESTABLISHED || p->tot_len != 0
        || (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG)) != 0
        || (flags & TCP_ACK) == 0 || pcb->rcv_wnd != 0
        || hdr->seqno != pcb->rcv_nxt || hdr->ackno != pcb->lastack
        || (tcpwnd_size_t)SND_WND_SCALE(pcb, hdr->wnd) != pcb->snd_wnd)
        return ERR_OK;
    return ERR_ABRT; /* nothing new: do not answer it */
}

/* ---- Initial sequence numbers (RFC 6528) ---------------------------------
 * ISN = M + F(local address, local port, remote address, remote port, key)
 * with M a clock ticking every 4 microseconds and F SipHash-2-4 under a
 * key drawn once from LWIP_RAND(). The same connection reopened later
 * gets a larger ISN (old duplicates stay old); another connection's ISN
 * tells nothing about this one's. */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13) ^ v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17) ^ v[2];
    v[2] = rotl(v[2], 32);
}

/* SipHash-2-4 of n 64-bit words (the message is whole words: the length
 * byte of the last block is n * 8). */
static uint64_t siphash24(const uint64_t key[2], const uint64_t *m, size_t n)
{
    uint64_t v[4] = {
        key[0] ^ UINT64_C(0x736f6d6570736575),
        key[1] ^ UINT64_C(0x646f72616e646f6d),
        key[0] ^ UINT64_C(0x6c7967656e657261),
        key[1] ^ UINT64_C(0x7465646279746573),
    };
    for (size_t i = 0; i < n; i++) {
        v[3] ^= m[i];
        sip_round(v);
        sip_round(v);
        v[0] ^= m[i];
    }
    uint64_t last = (uint64_t)(n * 8) << 56;
    v[3] ^= last;
    sip_round(v);
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* An address as two words (IPv4 in the first, zero-extended). */
static void address_words(const ip_addr_t *a, uint64_t out[2])
{
#if LWIP_IPV6
    if (IP_IS_V6(a)) {
        const ip6_addr_t *a6 = ip_2_ip6(a);
        out[0] = (uint64_t)a6->addr[0] << 32 | a6->addr[1];
        out[1] = (uint64_t)a6->addr[2] << 32 | a6->addr[3];
        return;
    }
#endif
    out[0] = ip4_addr_get_u32(ip_2_ip4(a));
    out[1] = 0;
}

unsigned int net_port_tcp_isn(const void *local_ip, unsigned short local_port,
                              const void *remote_ip, unsigned short remote_port)
{
    static uint64_t key[2];
    static bool keyed;
    if (!keyed) {
        key[0] = (uint64_t)LWIP_RAND() << 32 | LWIP_RAND();
        key[1] = (uint64_t)LWIP_RAND() << 32 | LWIP_RAND();
        keyed = true;
    }
    uint64_t m[5];
    address_words(local_ip, &m[0]);
    address_words(remote_ip, &m[2]);
    m[4] = (uint64_t)local_port << 16 | remote_port;
    uint32_t clock = (uint32_t)(time_monotonic_ns() / 4000);
    return clock + (uint32_t)siphash24(key, m, 5);
}

#endif /* LWIP_TCP */
