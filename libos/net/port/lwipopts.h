/*
 * lwipopts.h - how the library OS configures lwIP 2.1.3 (//libos/net).
 *
 * Every build of lwIP in an image and in the port's host tests reads this
 * file. Three choices come from the stack variant an image links, through
 * the variant's `defines` (libos/net/BUILD.bazel), so an application
 * compiled against the variant sees the same structures as the stack:
 *
 *   NET_PORT_TCP   1: TCP (and the stream half of the sockets); 0: none
 *   NET_PORT_IPV6  1: IPv6 with ND, MLD, ICMPv6, SLAAC; 0: IPv4 only
 *   NET_PORT_DYNAMIC  1: the DHCP client and the DNS resolver;
 *                     0: neither (fixed addresses, about 8 KB less)
 *
 * The rest is fixed here and explained where it departs from lwIP's
 * defaults (docs/networking.md).
 */
#ifndef NET_PORT_LWIPOPTS_H
#define NET_PORT_LWIPOPTS_H

#ifndef NET_PORT_TCP
#define NET_PORT_TCP 1
#endif
#ifndef NET_PORT_IPV6
#define NET_PORT_IPV6 1
#endif
#ifndef NET_PORT_DYNAMIC
#define NET_PORT_DYNAMIC 1
#endif

/* ---- The operating system under lwIP ------------------------------------
 * Threads and blocking calls come from //libos/sched (sys_arch.c). The
 * scheduler is cooperative and no interrupt handler calls lwIP, so code
 * between two yield points can never be interleaved with another
 * thread's: lwIP's "lightweight protection" has nothing to protect. */
#define NO_SYS 0
#define SYS_LIGHTWEIGHT_PROT 0
/* The core lock: a socket call runs lwIP directly under a mutex instead of
 * posting a message to the tcpip thread and waiting for its answer (two
 * context switches saved per call). */
#define LWIP_TCPIP_CORE_LOCKING 1
#define LWIP_TCPIP_CORE_LOCKING_INPUT 0
#define TCPIP_THREAD_NAME "tcpip"
#define TCPIP_THREAD_STACKSIZE 0 /* the scheduler's pooled stack */
#define TCPIP_THREAD_PRIO 16     /* SCHED_PRIORITY_DEFAULT */
#define TCPIP_MBOX_SIZE 128
#define DEFAULT_THREAD_STACKSIZE 0
#define DEFAULT_RAW_RECVMBOX_SIZE 32
#define DEFAULT_UDP_RECVMBOX_SIZE 64
#define DEFAULT_TCP_RECVMBOX_SIZE 64
/* Room for every connection the listen backlog admits (listen() clamps
 * the backlog to 255). lwIP counts a connection against the backlog from
 * its SYN until accept() takes it, but posts it to this mailbox once it
 * is established: a smaller mailbox overflows under a burst of
 * connections, and lwIP 2.1.3 then frees the new connection through a
 * path that fails its own assertion "netconn marked closed"
 * (api_msg.c, accept_function), or without assertions resets it. */
#define DEFAULT_ACCEPTMBOX_SIZE 255
/* Code that calls lwIP's core (the raw API, netif functions) without the
 * core lock stops with the caller's name instead of corrupting lwIP's
 * state later (stack.c). */
void net_port_assert_core_locked(void);
#define LWIP_ASSERT_CORE_LOCKED() net_port_assert_core_locked()
/* One thread may read a socket while another writes it and a third
 * closes it; each thread waits on a semaphore of its own (sys_arch.c).
 * lwIP 2.1.3's full-duplex code does not compile without TCP, so the
 * UDP-only stacks keep one thread per socket. */
#define LWIP_NETCONN_SEM_PER_THREAD 1
#define LWIP_NETCONN_FULLDUPLEX NET_PORT_TCP

/* ---- Memory ---------------------------------------------------------------
 * Everything lwIP allocates, its heap (MEM_LIBC_MALLOC) and its pools
 * (MEMP_MEM_MALLOC), comes from the image's malloc (//libos/mm): one
 * memory budget, sized by the image's memory, instead of fixed arenas
 * sized here in advance; mm's size classes serve lwIP's fixed-size
 * objects well. What that costs: pool counts (MEMP_NUM_*) are no longer
 * limits, so the caps that matter against a flood are explicit below
 * (listen backlog, mailbox sizes, out-of-order queue). */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define MEMP_NUM_NETCONN 64 /* also the number of sockets */
#define MEMP_NUM_TCP_PCB 64
#define MEMP_NUM_UDP_PCB 16
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
#define PBUF_POOL_SIZE 256

/* ---- Protocols ------------------------------------------------------------ */
#define LWIP_IPV4 1
#define LWIP_IPV6 NET_PORT_IPV6
#define LWIP_ARP 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_UDPLITE 0
#define LWIP_TCP NET_PORT_TCP
#define LWIP_IGMP 0
#define LWIP_DHCP NET_PORT_DYNAMIC
#define LWIP_AUTOIP 0
#define LWIP_DNS NET_PORT_DYNAMIC
#define DNS_MAX_SERVERS 2
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define IP_REASS_MAX_PBUFS 64
#if LWIP_IPV6
/* Required on 64-bit: lwIP keeps a pointer in each IPv6 fragment's
 * 8-byte header while reassembling; without this its reassembly timer
 * asserts one second after boot (netif_test, loopback_boot_test). */
#define IPV6_FRAG_COPYHEADER 1
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_DHCP6 0
#define LWIP_ND6_ALLOW_RA_UPDATES 1
#endif

/* TCP: windows without scaling (both fit lwIP's 16-bit sizes), the
 * send buffer larger than the receive window so that a sender can keep
 * a peer's whole window in flight with more queued behind it. */
#define TCP_MSS 1460
#define TCP_WND (32 * TCP_MSS)
#define TCP_SND_BUF (44 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define MEMP_NUM_TCP_SEG TCP_SND_QUEUELEN
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 16
#define TCP_OOSEQ_MAX_PBUFS 64
#define LWIP_TCP_KEEPALIVE 1
#define LWIP_TCP_TIMESTAMPS 0
/* lwIP 2.1.3 answers every zero-length segment with an ACK while its own
 * receive window is 0 (RFC 793 accepts one whose sequence number is
 * RCV.NXT without a reply): two lwIP ends whose windows are both full,
 * as over the loopback, then ACK each other forever, and over the
 * loopback that loop never leaves the tcpip thread. tcp_hook.c drops
 * such a segment when it carries nothing new. */
/* It also drops a segment whose options run past their end: lwIP's
 * tcp_parseopt reads an option's length byte before checking it is
 * inside the options (found by //libos/net/tests:input_fuzz). */
struct tcp_pcb;
struct tcp_hdr;
struct pbuf;
int net_port_tcp_inpacket(const struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
                          unsigned optlen, unsigned opt1len,
                          const unsigned char *opt2, const struct pbuf *p);
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
    net_port_tcp_inpacket((pcb), (hdr), (optlen), (opt1len), (opt2), (p))
/* Initial sequence numbers as RFC 6528 describes them: a 4-microsecond
 * clock plus a keyed hash (SipHash-2-4, key from LWIP_RAND at the first
 * connection) of the connection's addresses and ports (tcp_hook.c).
 * lwIP's own is a counter anyone can predict. */
unsigned int net_port_tcp_isn(const void *local_ip, unsigned short local_port,
                              const void *remote_ip, unsigned short remote_port);
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) \
    net_port_tcp_isn((lip), (lport), (rip), (rport))

/* Interfaces: the loopback (127.0.0.1, ::1) and one per NIC. */
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_HOSTNAME 1
#define LWIP_SINGLE_NETIF 0
#define LWIP_NUM_NETIF_CLIENT_DATA 0
/* Checksums: computed by lwIP, except on transmit through a NIC whose
 * netdev says NETDEV_F_TX_CSUM (netif.c clears the TCP/UDP generation
 * flags of that netif only). lwIP 2.1.3 cannot skip the check per frame,
 * so received checksums are always verified. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define LWIP_CHECKSUM_ON_COPY 0

/* ---- The application API --------------------------------------------------
 * BSD sockets with poll() and select(); the netconn and raw (callback)
 * APIs stay available. In an image the functions carry their POSIX
 * names (socket, connect, ..., read, write, close: LWIP_COMPAT_SOCKETS 2);
 * in a host test they keep lwIP's (lwip_socket, ...), which would
 * otherwise replace the host C library's close() and read(). */
#define LWIP_NETCONN 1
#define LWIP_SOCKET 1
#define LWIP_SOCKET_POLL 1
#define LWIP_SOCKET_SELECT 1
#if __STDC_HOSTED__
#define LWIP_COMPAT_SOCKETS 0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#else
#define LWIP_COMPAT_SOCKETS 2
#define LWIP_POSIX_SOCKETS_IO_NAMES 1
#endif
#define LWIP_SO_RCVTIMEO 1
#define LWIP_SO_SNDTIMEO 1
#define LWIP_SO_RCVBUF 0
#define LWIP_SO_LINGER 0
/* IP_PKTINFO: a UDP server bound to INADDR_ANY learns which of its
 * addresses a datagram was sent to (recvmsg), to answer from it. */
#define LWIP_NETBUF_RECVINFO 1
#define SO_REUSE 1
#define LWIP_DNS_API_DECLARE_H_ERRNO 1
#define LWIP_DNS_API_DEFINE_ERRNO 1

/* ---- Diagnostics ------------------------------------------------------------ */
#define LWIP_STATS 0
#define LWIP_DEBUG_TIMERNAMES 0

/* A build may add options of its own after these (lwIP's unit tests on
 * the host do: third_party/lwip/tests/port/lwipopts_unittests.h). */
#ifdef NET_PORT_LWIPOPTS_EXTRA
#include NET_PORT_LWIPOPTS_EXTRA
#endif

#endif /* NET_PORT_LWIPOPTS_H */
