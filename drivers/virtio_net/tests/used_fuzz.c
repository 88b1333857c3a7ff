/*
 * Fuzz target: what a virtio-net device writes into shared memory, read
 * by the driver's own code (virtq_get on the used rings, the receive
 * path's length, header and checksum checks), with the simulated device
 * (//testing/virtiosim) doing the rest of the device's part.
 *
 * The input is a program of steps, each an opcode and its operands:
 *   deliver   a virtio-net header (12 bytes) and a frame of any length
 *             into the next posted buffer, then poll;
 *   used      a used element with any id and length on either queue;
 *   lie       the next posted receive buffer made used with any length;
 *   index     the used index of either queue set to anything;
 *   send      a frame of any length and checksum request, then the
 *             device consumes the transmit queue;
 *   release   the buffers the stack held back are released.
 * Every frame handed to the stack is read whole (ASan checks it stays
 * inside the buffer) and must be at least an Ethernet header.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <testing/fuzz.h>
#include <virtio_net/virtio_net.h>
#include <virtiosim/virtiosim.h>

#define MAX_STEPS 48
#define MAX_ALLOCS 32
#define HELD_MAX 256

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void *allocs[MAX_ALLOCS];
static size_t nallocs;
static uint64_t clock_ns;

static void *t_alloc(size_t count)
{
    if (nallocs == MAX_ALLOCS)
        return NULL;
    void *p = aligned_alloc(4096, count * 4096);
    memset(p, 0, count * 4096);
    allocs[nallocs++] = p;
    return p;
}

static uint64_t t_now(void)
{
    return clock_ns;
}

static void t_sleep(uint64_t deadline)
{
    if (deadline > clock_ns)
        clock_ns = deadline;
}

static uint64_t t_random(void)
{
    return 0x1122334455667788u;
}

static const struct virtio_env env = {
    .alloc_pages = t_alloc,
    .now_ns = t_now,
    .sleep_until = t_sleep,
    .random64 = t_random,
};

static struct netdev_buf *held[HELD_MAX];
static size_t nheld;
static int broken;
static volatile uint8_t sink;

static void on_rx(void *arg, struct netdev_buf *buf)
{
    (void)arg;
    if (buf->len < 14)
        broken = 1; /* shorter than an Ethernet header */
    uint8_t x = 0;
    for (size_t i = 0; i < buf->len; i++)
        x ^= buf->data[i];
    sink = x;
    if (nheld < HELD_MAX && (x & 1))
        held[nheld++] = buf; /* kept for a while, like a busy stack */
    else
        netdev_buf_release(buf);
}

enum { OP_DELIVER, OP_USED, OP_LIE, OP_INDEX, OP_SEND, OP_RELEASE, OP_COUNT };

void fuzz_seeds(fuzz_add_fn add)
{
    uint8_t in[512];
    size_t n = 0;
    /* An ARP request delivered, a checksummed UDP frame delivered, one
     * send; then a lying length and a stray id. */
    static const uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2,
                                    3,    4,    5,    6,    0x08, 0x06};
    in[n++] = OP_DELIVER;
    memset(in + n, 0, 12), n += 12;
    in[n++] = sizeof arp, in[n++] = 0;
    memcpy(in + n, arp, sizeof arp), n += sizeof arp;

    in[n++] = OP_DELIVER;
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .csum_start = 34, .csum_offset = 6};
    memcpy(in + n, &h, 12), n += 12;
    uint8_t udp[60] = {0};
    memcpy(udp, arp, 12);
    udp[12] = 0x08, udp[14] = 0x45, udp[23] = 17;
    in[n++] = sizeof udp, in[n++] = 0;
    memcpy(in + n, udp, sizeof udp), n += sizeof udp;

    in[n++] = OP_SEND;
    in[n++] = 60, in[n++] = 0, in[n++] = 1, in[n++] = 34, in[n++] = 6;
    add(in, n);

    size_t m = n;
    in[m++] = OP_LIE, in[m++] = 0xff, in[m++] = 0xff, in[m++] = 0, in[m++] = 0;
    in[m++] = OP_USED, in[m++] = 0, in[m++] = 3, in[m++] = 0, in[m++] = 0,
    in[m++] = 0, in[m++] = 64, in[m++] = 0, in[m++] = 0, in[m++] = 0;
    in[m++] = OP_RELEASE;
    add(in, m);

    m = n;
    in[m++] = OP_INDEX, in[m++] = 0, in[m++] = 0x40, in[m++] = 0;
    in[m++] = OP_DELIVER;
    add(in, m);
}

static void poll_all(struct netdev *nd)
{
    for (int i = 0; i < 4; i++)
        if (netdev_poll(nd) <= 0)
            break;
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    static struct vsim_net sim;
    struct virtio_net *vn = NULL;
    nallocs = 0;
    nheld = 0;
    broken = 0;
    clock_ns = 1000;

    vsim_net_init(&sim, MAC,
                  VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_CSUM
                      | VIRTIO_NET_F_GUEST_CSUM);
    if (virtio_net_open(&sim.dev, &env, &vn) != 0)
        return 1;
    struct netdev *nd = virtio_net_netdev(vn);
    netdev_set_rx(nd, on_rx, NULL);

    for (int s = 0; s < MAX_STEPS && fuzz_left(&in) > 0; s++) {
        switch (fuzz_u8(&in) % OP_COUNT) {
        case OP_DELIVER: {
            uint8_t hdr[12] = {0};
            uint8_t frame[VSIM_FRAME_MAX];
            (void)fuzz_take(&in, hdr, sizeof hdr);
            size_t flen = fuzz_u8(&in);
            flen |= (size_t)fuzz_u8(&in) << 8;
            flen %= VSIM_FRAME_MAX;
            memset(frame, 0, flen);
            (void)fuzz_take(&in, frame, flen);
            (void)vsim_net_inject(&sim, frame, flen, hdr);
            poll_all(nd);
            break;
        }
        case OP_USED: {
            unsigned q = fuzz_u8(&in) & 1;
            uint32_t id = fuzz_u32(&in);
            uint32_t ulen = fuzz_u32(&in);
            vsim_push_used(&sim, q, id, ulen);
            poll_all(nd);
            break;
        }
        case OP_LIE: {
            uint32_t ulen = fuzz_u32(&in);
            int head = vsim_take_avail(&sim, 0);
            if (head >= 0)
                vsim_push_used(&sim, 0, (uint32_t)head, ulen);
            poll_all(nd);
            break;
        }
        case OP_INDEX: {
            unsigned q = fuzz_u8(&in) & 1;
            uint16_t idx = fuzz_u8(&in);
            idx |= (uint16_t)(fuzz_u8(&in) << 8);
            vsim_set_used_idx(&sim, q, idx);
            poll_all(nd);
            break;
        }
        case OP_SEND: {
            uint8_t frame[2048] = {0};
            size_t flen = fuzz_u8(&in);
            flen |= (size_t)fuzz_u8(&in) << 8;
            flen %= sizeof frame + 1;
            struct netdev_tx tx = {.csum = fuzz_u8(&in) & 1};
            tx.csum_start = fuzz_u8(&in);
            tx.csum_offset = fuzz_u8(&in);
            if (flen == 0)
                flen = 1;
            struct netdev_frag f = {frame, flen};
            (void)netdev_send(nd, &f, 1, &tx);
            (void)vsim_net_take_tx(&sim);
            poll_all(nd);
            break;
        }
        default:
            for (size_t i = 0; i < nheld; i++)
                netdev_buf_release(held[i]);
            nheld = 0;
            poll_all(nd);
            break;
        }
    }
    for (size_t i = 0; i < nheld; i++)
        netdev_buf_release(held[i]);
    virtio_net_close(vn);
    for (size_t i = 0; i < nallocs; i++)
        free(allocs[i]);
    return broken;
}
