/*
 * tcp_hook.c - LWIP_HOOK_TCP_INPACKET_PCB: the end of an ACK war.
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
 */
#include "lwip/opt.h"

#if LWIP_TCP

#include "lwip/err.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

int net_port_tcp_inpacket(const struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
                          const struct pbuf *p)
{
    /* lwIP has already turned the header's numbers to host order. */
    u16_t flags = TCPH_FLAGS(hdr);
    if (pcb->state < ESTABLISHED || p->tot_len != 0
        || (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG)) != 0
        || (flags & TCP_ACK) == 0 || pcb->rcv_wnd != 0
        || hdr->seqno != pcb->rcv_nxt || hdr->ackno != pcb->lastack
        || (tcpwnd_size_t)SND_WND_SCALE(pcb, hdr->wnd) != pcb->snd_wnd)
        return ERR_OK;
    return ERR_ABRT; /* nothing new: do not answer it */
}

#endif /* LWIP_TCP */
