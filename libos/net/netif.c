/*
 * netif.c - an lwIP network interface over <netdev/netdev.h>.
 *
 * Receive: each frame the driver hands over becomes a pbuf_custom of
 * type PBUF_REF that points into the driver's buffer (no copy); when lwIP
 * frees the pbuf, wherever and whenever that happens, the buffer goes
 * back with netdev_buf_release(). A frame in several buffers
 * (netdev_buf.next) becomes a chain of such pbufs, one per buffer, its
 * headers in the first. The frame's length is read from the driver's
 * descriptors once and checked against the device's MTU (or, for a
 * NETDEV_F_RX_GSO device, 64 KiB: a TCP segment its host merged, which
 * lwIP takes whole) before lwIP sees a byte of it.
 *
 * Transmit: the pbuf chain becomes the device's fragment list as it is;
 * a chain of more than NETDEV_MAX_FRAGS pieces is copied into one buffer
 * first. With NETDEV_F_TX_SG the driver may lend the pieces to the
 * device rather than copy them: the netif takes a reference on the chain
 * (pbuf_ref) and the driver's completion drops it, so lwIP's memory
 * stays alive until the device has read it. lwIP 2.1.3 knows a driver
 * may hold a segment this way: it does not rewrite or retransmit a TCP
 * segment whose pbuf someone else still references
 * (tcp_output_segment_busy). With NETDEV_F_TX_CSUM, lwIP
 * leaves TCP checksums of this interface to the device: we put the
 * pseudo-header sum into the checksum field and tell the device where
 * the TCP header starts (the convention of virtio-net and Linux).
 *
 * Receive checksums: a frame the device marks NETDEV_RX_CSUM_VALID is
 * handed to lwIP with its TCP and UDP checks off for that frame only
 * (input_csum_valid); an IP fragment never is (a device cannot have
 * checked a datagram it saw only part of).
 *
 * A thread per interface drives the device: netdev_wait(), then
 * netdev_poll(), which calls rx() for each frame.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/errno.h"
#include "lwip/etharp.h"
#include "lwip/ip.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

#include <netdev/netdev.h>
#include <sched/sched.h>

#include "net_internal.h"

#define ETH_HLEN 14
#define ETH_VLAN_HLEN 4
#define IPV6_HLEN 40 /* lwIP's IP6_HLEN exists only with LWIP_IPV6 */
#define MTU_MIN 576
#define MTU_MAX 9000

struct rx_pbuf {
    struct pbuf_custom pc; /* first: lwIP hands us back the struct pbuf */
    struct netdev_buf *buf;
};

static void rx_pbuf_free(struct pbuf *p)
{
    struct rx_pbuf *r = (struct rx_pbuf *)p;
    netdev_buf_release(r->buf);
    free(r);
}

/*
 * lwIP reads the fixed header of ARP, IPv4 and IPv6 before it checks
 * that the frame holds one: it counts on Ethernet's minimum frame (60
 * bytes before the FCS), which a real NIC pads to but a virtual one need
 * not, so a short frame made it read past the buffer (found by the fuzz
 * target //libos/net/tests:input_fuzz: a 36-byte ARP frame, a 16-byte
 * IPv4 one, an 18-byte IPv6 one). Such a frame is malformed whatever the
 * padding: dropped here, which keeps receive zero-copy for every frame
 * that is not.
 */
static bool l3_header_missing(const uint8_t *frame, size_t len)
{
    uint16_t type = (uint16_t)(frame[12] << 8 | frame[13]);
    size_t l3 = len - ETH_HLEN;
    return (type == ETHTYPE_ARP && l3 < SIZEOF_ETHARP_HDR)
           || (type == ETHTYPE_IP && l3 < IP_HLEN)
           || (type == ETHTYPE_IPV6 && l3 < IPV6_HLEN);
}

/*
 * lwIP's IPv4 input reads the UDP destination port of a datagram that is
 * not addressed to us (DHCP's replies may not be) before anything checks
 * the UDP header is there (also found by the fuzz target). A frame with
 * so few bytes is the last fragment of a datagram, which is legitimate,
 * so it is not dropped: it is copied into a zero-padded pbuf that has
 * the bytes lwIP reads (IPv4 trims the padding by its total length).
 * Returns the length lwIP needs, or 0 when the frame is long enough.
 */
static size_t ipv4_udp_padding(const uint8_t *frame, size_t len)
{
    if (frame[12] != 0x08 || frame[13] != 0x00)
        return 0;
    const uint8_t *ip = frame + ETH_HLEN;
    size_t need = ETH_HLEN + (size_t)(ip[0] & 15) * 4 + 4; /* the ports */
    return ip[9] == IP_PROTO_UDP && len < need ? need : 0;
}

/* True for an IPv4 fragment or an IPv6 packet with a fragment header
 * first (lwIP puts none elsewhere; other extension headers before it
 * only make us check, which is always safe). */
static bool ip_fragment(const uint8_t *frame, size_t len)
{
    uint16_t type = (uint16_t)(frame[12] << 8 | frame[13]);
    if (type == ETHTYPE_IP && len >= ETH_HLEN + IP_HLEN) {
        uint16_t frag = (uint16_t)(frame[ETH_HLEN + 6] << 8
                                   | frame[ETH_HLEN + 7]);
        return (frag & 0x3fff) != 0; /* MF or an offset */
    }
    if (type == ETHTYPE_IPV6 && len >= ETH_HLEN + IPV6_HLEN)
        return frame[ETH_HLEN + 6] == 44;
    return false;
}

/*
 * lwIP's input for a frame whose TCP/UDP checksum the device checked, in
 * the tcpip thread (tcpip_inpkt). lwIP 2.1.3 has checks per netif, not
 * per packet; ethernet_input handles the frame to the end before it
 * returns, with the core lock held, so the checks are off for exactly
 * this frame.
 */
static err_t input_csum_valid(struct pbuf *p, struct netif *netif)
{
#if LWIP_CHECKSUM_CTRL_PER_NETIF
    u16_t saved = netif->chksum_flags;
    netif->chksum_flags = (u16_t)(saved & ~(NETIF_CHECKSUM_CHECK_TCP
                                            | NETIF_CHECKSUM_CHECK_UDP));
    err_t e = ethernet_input(p, netif);
    netif->chksum_flags = saved;
    return e;
#else
    return ethernet_input(p, netif);
#endif
}

/* Hand a frame to lwIP, skipping its L4 checks where the device did them. */
static err_t input(struct net_if *nif, struct pbuf *p, bool csum_valid)
{
    if (csum_valid && nif->netif.input == tcpip_input) {
        nif->stats.rx_csum_trusted++;
        return tcpip_inpkt(p, &nif->netif, input_csum_valid);
    }
    return nif->netif.input(p, &nif->netif);
}

static bool rx_padded(struct net_if *nif, struct netdev_buf *buf,
                      const uint8_t *data, size_t len, size_t padded,
                      bool csum_valid)
{
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)padded, PBUF_RAM);
    if (p == NULL) {
        nif->stats.rx_dropped++;
        netdev_buf_release(buf);
        return false;
    }
    uint8_t *to = p->payload; /* PBUF_RAM: one piece */
    memcpy(to, data, len);
    memset(to + len, 0, padded - len);
    netdev_buf_release(buf);
    if (input(nif, p, csum_valid) != ERR_OK) {
        nif->stats.rx_dropped++;
        pbuf_free(p);
        return false;
    }
    return true;
}

/* Give back every piece of a frame. */
static void release_chain(struct netdev_buf *buf)
{
    while (buf != NULL) {
        struct netdev_buf *next = buf->next; /* read before it goes back */
        netdev_buf_release(buf);
        buf = next;
    }
}

/* A PBUF_REF pbuf over one piece, released with it; NULL if out of
 * memory (the piece is then still the caller's). */
static struct pbuf *piece_pbuf(struct netdev_buf *buf, uint8_t *data,
                               size_t len)
{
    struct rx_pbuf *r = malloc(sizeof(*r));
    if (r == NULL)
        return NULL;
    r->buf = buf;
    r->pc.custom_free_function = rx_pbuf_free;
    struct pbuf *p = pbuf_alloced_custom(PBUF_RAW, (u16_t)len, PBUF_REF,
                                         &r->pc, data, (u16_t)len);
    if (p == NULL) /* cannot happen for these sizes; stay safe */
        free(r);
    return p;
}

/* Pieces of one frame the stack takes (a large segment in 4 KiB pages
 * needs 17; 2 KiB buffers 33). */
#define RX_PIECES_MAX 48

void net_if_rx(void *arg, struct netdev_buf *buf)
{
    struct net_if *nif = arg;
    /* The descriptors are the driver's, but their lengths came from the
     * device: read once, check, then use only the copies. */
    struct {
        struct netdev_buf *buf;
        uint8_t *data;
        size_t len;
    } piece[RX_PIECES_MAX];
    size_t n = 0, len = 0;
    bool bad = false;
    for (struct netdev_buf *b = buf; b != NULL && !bad; b = b->next) {
        if (n == RX_PIECES_MAX || b->data == NULL || b->len == 0) {
            bad = true;
        } else {
            piece[n].buf = b;
            piece[n].data = b->data;
            piece[n].len = b->len;
            len += piece[n++].len;
            bad = len > nif->max_frame;
        }
    }
    if (bad) {
        nif->stats.rx_bad_length++;
        release_chain(buf);
        return;
    }
    uint8_t *data = piece[0].data;
    size_t head = piece[0].len; /* lwIP wants the headers in one piece */
    uint32_t flags = buf->flags;
    if (len < ETH_HLEN || head < ETH_HLEN || l3_header_missing(data, head)) {
        nif->stats.rx_bad_length++;
        release_chain(buf);
        return;
    }
    bool csum_valid = nif->rx_csum && (flags & NETDEV_RX_CSUM_VALID)
                      && !ip_fragment(data, head);
    size_t padded = ipv4_udp_padding(data, head);
    if (padded != 0 && n > 1) {
        /* A device never splits a datagram's first bytes like this. */
        nif->stats.rx_bad_length++;
        release_chain(buf);
        return;
    }
    if (padded != 0) {
        if (rx_padded(nif, buf, data, len, padded, csum_valid))
            nif->stats.rx_frames++;
        return;
    }
    struct pbuf *p = piece_pbuf(buf, data, head);
    for (size_t i = 1; p != NULL && i < n; i++) {
        struct pbuf *q = piece_pbuf(piece[i].buf, piece[i].data,
                                    piece[i].len);
        if (q == NULL) {
            /* Give back what lwIP holds, then the rest. */
            pbuf_free(p);
            for (size_t j = i; j < n; j++)
                netdev_buf_release(piece[j].buf);
            nif->stats.rx_dropped++;
            return;
        }
        pbuf_cat(p, q);
    }
    if (p == NULL) {
        nif->stats.rx_dropped++;
        release_chain(buf);
        return;
    }
    if (input(nif, p, csum_valid) != ERR_OK) {
        nif->stats.rx_dropped++;
        pbuf_free(p); /* releases the buffers */
        return;
    }
    nif->stats.rx_frames++;
}

/* One's complement sum of n bytes in network order, folded to 16 bits. */
static uint32_t sum16(const uint8_t *b, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Where a frame's TCP checksum is, if it is a TCP segment. */
enum tcp_csum {
    NOT_TCP,       /* nothing to do: lwIP computed what it has */
    TCP_FOUND,     /* tx describes it; the field holds the pseudo sum */
    TCP_NOT_IN_HEAD, /* TCP, but its header is not in `head` */
};

/*
 * Look for a TCP header in `head` (the first piece of the chain, where
 * lwIP builds its headers). For TCP, store the pseudo-header sum in the
 * checksum field and fill tx for the device. Only TCP is offloaded: lwIP
 * computes UDP checksums before it fragments a large datagram, which no
 * device could do for it afterwards.
 */
static enum tcp_csum tcp_csum_setup(uint8_t *head, size_t head_len,
                                    size_t frame_len, struct netdev_tx *tx)
{
    if (head_len < ETH_HLEN || frame_len < ETH_HLEN)
        return NOT_TCP;
    uint16_t type = (uint16_t)(head[12] << 8 | head[13]);
    size_t l3 = ETH_HLEN, l4, l4_len, ip_len;
    uint32_t sum;
    if (type == 0x0800) {
        if (head_len < l3 + 20)
            return frame_len < l3 + 20 ? NOT_TCP : TCP_NOT_IN_HEAD;
        size_t ihl = (size_t)(head[l3] & 0x0f) * 4;
        uint16_t frag = (uint16_t)(head[l3 + 6] << 8 | head[l3 + 7]);
        ip_len = (size_t)(head[l3 + 2] << 8 | head[l3 + 3]);
        if (head[l3 + 9] != 6 || (frag & 0x3fff) != 0)
            return NOT_TCP; /* lwIP never fragments TCP */
        if (ihl < 20 || ip_len < ihl || l3 + ip_len > frame_len)
            return NOT_TCP; /* not lwIP's: leave it alone */
        l4 = l3 + ihl;
        l4_len = ip_len - ihl;
        if (l4 + 18 > head_len)
            return TCP_NOT_IN_HEAD;
        sum = sum16(head + l3 + 12, 8, 0);
    } else if (type == 0x86dd) {
        if (head_len < l3 + 40)
            return frame_len < l3 + 40 ? NOT_TCP : TCP_NOT_IN_HEAD;
        if (head[l3 + 6] != 6)
            return NOT_TCP; /* lwIP puts no extension header before TCP */
        l4 = l3 + 40;
        l4_len = (size_t)(head[l3 + 4] << 8 | head[l3 + 5]);
        if (l4 + l4_len > frame_len)
            return NOT_TCP;
        if (l4 + 18 > head_len)
            return TCP_NOT_IN_HEAD;
        sum = sum16(head + l3 + 8, 32, 0);
    } else {
        return NOT_TCP;
    }
    uint16_t pseudo = fold(sum + 6 + (uint32_t)l4_len);
    head[l4 + 16] = (uint8_t)(pseudo >> 8);
    head[l4 + 17] = (uint8_t)pseudo;
    tx->csum = true;
    tx->csum_start = (uint16_t)l4;
    tx->csum_offset = 16;
    return TCP_FOUND;
}

/* The device's part done here, on a linear copy of the frame. */
static void tcp_csum_in_software(uint8_t *frame, size_t len)
{
    struct netdev_tx tx = {0};
    if (tcp_csum_setup(frame, len, len, &tx) != TCP_FOUND)
        return;
    uint16_t c = (uint16_t)~fold(sum16(frame + tx.csum_start,
                                       len - tx.csum_start, 0));
    frame[tx.csum_start + 16] = (uint8_t)(c >> 8);
    frame[tx.csum_start + 17] = (uint8_t)c;
}

/* The chain as one buffer (malloc'd), as the only fragment. */
static uint8_t *linearize(struct pbuf *p, struct netdev_frag *frag)
{
    uint8_t *copy = malloc(p->tot_len);
    if (copy != NULL) {
        pbuf_copy_partial(p, copy, p->tot_len, 0);
        frag->data = copy;
        frag->len = p->tot_len;
    }
    return copy;
}

/* The driver is done with a chain it was lent: lwIP's memory may go.
 * pbuf_free needs no core lock (no lwIP state but the pbuf's own count,
 * and threads are never preempted). */
static void tx_done(void *arg)
{
    pbuf_free(arg);
}

static err_t linkoutput(struct netif *netif, struct pbuf *p)
{
    struct net_if *nif = netif->state;
    struct netdev_frag frags[NETDEV_MAX_FRAGS];
    size_t n = 0;
    uint8_t *copy = NULL;
    bool volatile_data = false;
    for (struct pbuf *q = p; q != NULL; q = q->next) {
        if (q->len == 0)
            continue;
        volatile_data |= PBUF_NEEDS_COPY(q) != 0;
        if (n == NETDEV_MAX_FRAGS) {
            if ((copy = linearize(p, &frags[0])) == NULL)
                goto nomem;
            n = 1;
            nif->stats.tx_linearized++;
            break;
        }
        frags[n].data = q->payload;
        frags[n].len = q->len;
        n++;
    }
    struct netdev_tx tx = {0};
    const struct netdev_tx *txp = NULL;
    if (nif->tx_csum) {
        /* lwIP left TCP checksums of this netif to us (net_if_init). */
        uint8_t *head = copy ? copy : p->payload;
        size_t head_len = copy ? p->tot_len : p->len;
        switch (tcp_csum_setup(head, head_len, p->tot_len, &tx)) {
        case NOT_TCP:
            break;
        case TCP_FOUND:
            txp = &tx;
            nif->stats.tx_csum_offloaded++;
            break;
        case TCP_NOT_IN_HEAD:
            if ((copy = linearize(p, &frags[0])) == NULL)
                goto nomem;
            n = 1;
            tcp_csum_in_software(copy, p->tot_len);
            break;
        }
    }
    /* Lend the chain itself, never a linear copy (freed below), nor
     * memory lwIP calls volatile (PBUF_REF: a UDP socket's datagram
     * points at the application's buffer, which it may reuse as soon as
     * sendto returns): that the driver copies. */
    bool lend = nif->tx_sg && copy == NULL && !volatile_data;
    if (lend) {
        pbuf_ref(p);
        tx.done = tx_done;
        tx.done_arg = p;
        txp = &tx;
    }
    int rc = netdev_send(nif->dev, frags, n, txp);
    free(copy);
    if (lend) {
        if (rc == 0)
            nif->stats.tx_lent++;
        else
            pbuf_free(p); /* the driver never took it */
    }
    if (rc != 0) {
        nif->stats.tx_errors++;
        return rc == -EMSGSIZE ? ERR_VAL : ERR_IF;
    }
    nif->stats.tx_frames++;
    return ERR_OK;
nomem:
    nif->stats.tx_errors++;
    return ERR_MEM;
}

err_t net_if_init(struct netif *netif)
{
    struct net_if *nif = netif->state;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(netif->hwaddr, nif->mac, ETH_HWADDR_LEN);
    netif->mtu = nif->mtu;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP
                   | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
    netif->output = etharp_output;
#if LWIP_IPV6
    netif->output_ip6 = ethip6_output;
    netif->mtu6 = nif->mtu;
#endif
    netif->linkoutput = linkoutput;
    if (nif->tx_csum)
        NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_ENABLE_ALL
                                           & ~NETIF_CHECKSUM_GEN_TCP);
    return ERR_OK;
}

int net_if_setup(struct net_if *nif, struct netdev *dev)
{
    /* The driver's values, copied once and checked. */
    uint16_t mtu = dev->mtu;
    if (mtu < MTU_MIN || mtu > MTU_MAX) {
        printf("[net] %s: MTU %u is outside %u..%u; not attached\n",
               dev->name ? dev->name : "netdev", (unsigned)mtu, MTU_MIN,
               MTU_MAX);
        return -1;
    }
    nif->dev = dev;
    nif->mtu = mtu;
    nif->max_frame = (size_t)mtu + ETH_HLEN + ETH_VLAN_HLEN;
    /* Merged TCP segments (GSO): lwIP takes them whole (it checks no MTU
     * on input, and trims a segment to its receive window). */
    if (dev->features & NETDEV_F_RX_GSO)
        nif->max_frame = NETDEV_RX_GSO_MAX;
    memcpy(nif->mac, dev->mac, NETDEV_MAC_LEN);
    nif->tx_csum = (dev->features & NETDEV_F_TX_CSUM) != 0;
    nif->tx_sg = (dev->features & NETDEV_F_TX_SG) != 0;
    nif->rx_csum = (dev->features & NETDEV_F_RX_CSUM) != 0;
    netdev_set_rx(dev, net_if_rx, nif);
    return 0;
}
