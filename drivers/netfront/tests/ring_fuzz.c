/*
 * Fuzz target: netfront's rx and tx response rings as a hostile netback
 * writes them, read by netfront's own code (netfront_poll: each response
 * copied once, then id, offset, status and flags checked, frames of
 * several slots reassembled), with the simulated netback (netback.c on
 * //testing/xensim) in manual mode playing the backend.
 *
 * The first step also hands the backend's "mac" node to the frontend's
 * parser (netfront_parse_mac) as the input's first bytes.
 *
 * The input is a program of steps, each an opcode and its operands:
 *   rx       take the next posted rx buffer, fill it with bytes at an
 *            offset, and answer it with any offset, flags and status,
 *            its id XORed with a mask (0: its own);
 *   rx-raw   an rx response with any id, offset, flags and status;
 *   extra    take the next posted rx buffer and answer it with an
 *            extra-info slot of any type, flags, size and GSO type
 *            (after a response with NETRXF_EXTRA_INFO, which any rx
 *            step may set, or anywhere else);
 *   tx       send a frame, take its request and answer it with the id
 *            XORed with a mask and any status;
 *   push     publish what was written (and notify);
 *   prod     scribble any rsp_prod into either ring;
 *   poll     the backend runs, netfront polls.
 * Properties besides memory safety: every frame delivered is read whole
 * (ASan) and no longer than a frame can be; a frame lent in its page
 * (zero-copy receive, which the target turns on, as it does receive
 * offload: GSO extras are expected) lies within the page,
 * which no grant lets the backend reach. The target holds the last
 * HELD lent pages and gives back older ones, as a stack would.
 */
#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <netfront/netfront.h>
#include <testing/fuzz.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#include "netback.h"

#define MAX_STEPS 40

static int broken;
static volatile uint8_t sink;

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
    (void)arg;
    if (len == 0 || len > NB_MAX_FRAME)
        broken = 1;
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= frame[i];
    sink = x;
}

#define HELD 4

static struct {
    struct netfront *nf;
    uint8_t *page[HELD];
    unsigned n;
} held;

static bool on_page(void *arg, uint8_t *page, size_t offset, size_t len)
{
    (void)arg;
    if (len == 0 || offset + len > XENABI_PAGE_SIZE
        || sim_gnttab_grants_on(page, XENABI_PAGE_SIZE) != 0)
        broken = 1;
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= page[offset + i];
    sink = x;
    if (held.n == HELD) {
        netfront_rx_page_release(held.nf, held.page[0]);
        memmove(held.page, held.page + 1, (HELD - 1) * sizeof(held.page[0]));
        held.n--;
    }
    held.page[held.n++] = page;
    return true;
}

enum { OP_RX, OP_RX_RAW, OP_TX, OP_PUSH, OP_PROD, OP_POLL, OP_EXTRA,
       OP_COUNT };

static size_t u16le(uint8_t *to, uint16_t v)
{
    to[0] = (uint8_t)v;
    to[1] = (uint8_t)(v >> 8);
    return 2;
}

void fuzz_seeds(fuzz_add_fn add)
{
    uint8_t in[512];
    size_t n = 0;
    /* A frame in one slot, a frame in two (MORE_DATA), a send. */
    in[n++] = OP_RX;
    n += u16le(in + n, 0);        /* id mask */
    n += u16le(in + n, 0);        /* fill offset */
    in[n++] = 60;                 /* fill length */
    memset(in + n, 0x11, 60), n += 60;
    n += u16le(in + n, 0);        /* response offset */
    n += u16le(in + n, 0);        /* flags */
    n += u16le(in + n, 60);       /* status: the length */
    in[n++] = OP_RX;
    n += u16le(in + n, 0);
    n += u16le(in + n, 0);
    in[n++] = 20;
    memset(in + n, 0x22, 20), n += 20;
    n += u16le(in + n, 0);
    n += u16le(in + n, XENABI_NETRXF_MORE_DATA);
    n += u16le(in + n, 20);
    in[n++] = OP_RX;
    n += u16le(in + n, 0);
    n += u16le(in + n, 0);
    in[n++] = 40;
    memset(in + n, 0x33, 40), n += 40;
    n += u16le(in + n, 0);
    n += u16le(in + n, 0);
    n += u16le(in + n, 40);
    in[n++] = OP_PUSH;
    in[n++] = OP_POLL;
    in[n++] = OP_TX;
    n += u16le(in + n, 64);       /* frame length */
    n += u16le(in + n, 0);        /* id mask */
    n += u16le(in + n, 0);        /* status OKAY */
    in[n++] = OP_PUSH;
    in[n++] = OP_POLL;
    add(in, n);

    /* Stray ids, a response beyond the page, rsp_prod far ahead. */
    size_t m = 0;
    in[m++] = OP_RX_RAW;
    m += u16le(in + m, 999);
    m += u16le(in + m, 4000);
    m += u16le(in + m, 0);
    m += u16le(in + m, 200);
    in[m++] = OP_PUSH;
    in[m++] = OP_POLL;
    in[m++] = OP_PROD;
    in[m++] = 1;
    in[m++] = 0x00, in[m++] = 0x10, in[m++] = 0, in[m++] = 0;
    in[m++] = OP_POLL;
    add(in, m);

    /* A GSO frame: a first slot saying EXTRA_INFO|MORE_DATA, a hash
     * extra (MORE) and a GSO one, then the last slot. */
    size_t k = 0;
    in[k++] = OP_RX;
    k += u16le(in + k, 0);
    k += u16le(in + k, 0);
    in[k++] = 200;
    memset(in + k, 0x44, 200), k += 200;
    k += u16le(in + k, 0);
    k += u16le(in + k, XENABI_NETRXF_EXTRA_INFO | XENABI_NETRXF_MORE_DATA
                           | XENABI_NETRXF_CSUM_BLANK);
    k += u16le(in + k, 4096);
    in[k++] = OP_EXTRA;
    in[k++] = XENABI_NETIF_EXTRA_TYPE_HASH;
    in[k++] = XENABI_NETIF_EXTRA_FLAG_MORE;
    k += u16le(in + k, 0);
    in[k++] = 0;
    in[k++] = OP_EXTRA;
    in[k++] = XENABI_NETIF_EXTRA_TYPE_GSO;
    in[k++] = 0;
    k += u16le(in + k, 1448);
    in[k++] = XENABI_NETIF_GSO_TYPE_TCPV4;
    in[k++] = OP_RX;
    k += u16le(in + k, 0);
    k += u16le(in + k, 0);
    in[k++] = 100;
    memset(in + k, 0x55, 100), k += 100;
    k += u16le(in + k, 0);
    k += u16le(in + k, 0);
    k += u16le(in + k, 100);
    in[k++] = OP_PUSH;
    in[k++] = OP_POLL;
    add(in, k);
}

static void poll_once(struct netfront *nf)
{
    (void)sim_run();
    (void)evtchn_dispatch();
    (void)netfront_poll(nf);
}

static uint16_t u16(struct fuzz_bytes *in)
{
    uint16_t v = fuzz_u8(in);
    return (uint16_t)(v | (uint16_t)(fuzz_u8(in) << 8));
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    broken = 0;

    /* The "mac" node's text, as xenstore would give it. */
    char mac_text[32];
    size_t mlen = len < sizeof mac_text - 1 ? len : sizeof mac_text - 1;
    memcpy(mac_text, data, mlen);
    mac_text[mlen] = '\0';
    uint8_t mac[NETFRONT_MAC_LEN];
    (void)netfront_parse_mac(mac_text, mac);

    sim_reset();
    struct netback *nb = netback_create(NB_MAC);
    nb->manual_rx = true;
    nb->manual_tx = true;
    if (evtchn_init() != 0 || gnttab_init() != 0 || xs_init() != 0)
        return 1;
    struct netfront *nf = NULL;
    if (netfront_open("device/vif/0", on_frame, NULL, &nf) != 0)
        return 1;
    netfront_set_rx_offload(nf, true);
    if (netfront_wait_connected(nf) != 0)
        return 1;
    held.nf = nf;
    held.n = 0;
    netfront_set_rx_page(nf, on_page);

    for (int s = 0; s < MAX_STEPS && fuzz_left(&in) > 0; s++) {
        switch (fuzz_u8(&in) % OP_COUNT) {
        case OP_RX: {
            uint16_t id_mask = u16(&in);
            uint16_t fill_off = u16(&in) % XENABI_PAGE_SIZE;
            uint8_t bytes[256];
            size_t n = fuzz_take(&in, bytes, fuzz_u8(&in));
            uint16_t off = u16(&in), flags = u16(&in);
            int16_t status = (int16_t)u16(&in);
            struct xenabi_netif_rx_request req;
            if (!netback_take_rx(&req))
                break;
            if (fill_off + n > XENABI_PAGE_SIZE)
                fill_off = (uint16_t)(XENABI_PAGE_SIZE - n);
            netback_fill(req.gref, fill_off, bytes, n);
            netback_put_rx(req.id ^ id_mask, off, flags, status);
            break;
        }
        case OP_RX_RAW: {
            uint16_t id = u16(&in), off = u16(&in), flags = u16(&in);
            int16_t status = (int16_t)u16(&in);
            netback_put_rx(id, off, flags, status);
            break;
        }
        case OP_TX: {
            static uint8_t frame[NETFRONT_MAX_FRAME];
            size_t flen = 1 + u16(&in) % 2000;
            uint16_t id_mask = u16(&in);
            int16_t status = (int16_t)u16(&in);
            memset(frame, 0x5a, flen);
            struct netfront_frag f = {frame, flen};
            (void)netfront_send(nf, &f, 1);
            struct xenabi_netif_tx_request req;
            while (netback_take_tx(&req))
                netback_put_tx(req.id ^ id_mask, status);
            break;
        }
        case OP_EXTRA: {
            uint8_t type = fuzz_u8(&in), flags = fuzz_u8(&in);
            uint16_t size = u16(&in);
            uint8_t gso_type = fuzz_u8(&in);
            struct xenabi_netif_rx_request req;
            if (!netback_take_rx(&req))
                break;
            netback_put_rx_extra(type, flags, size, gso_type);
            break;
        }
        case OP_PUSH:
            netback_push();
            break;
        case OP_PROD: {
            bool tx = fuzz_u8(&in) & 1;
            netback_set_rsp_prod(tx, fuzz_u32(&in));
            break;
        }
        default:
            poll_once(nf);
            break;
        }
    }
    netback_push();
    poll_once(nf);
    for (unsigned i = 0; i < held.n; i++)
        netfront_rx_page_release(nf, held.page[i]);
    struct netfront_stats st;
    netfront_get_stats(nf, &st);
    if (st.bad_page_release != 0)
        broken = 1;
    (void)netfront_close(nf);
    (void)sim_run();
    netfront_free(nf);
    netback_destroy();
    return broken;
}
