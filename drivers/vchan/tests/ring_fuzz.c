/*
 * Fuzz target: the vchan control page and ring indices as a hostile peer
 * writes them, read by vchan's own code.
 *
 * The first input byte picks the side:
 * - server (even): the guest serves, the simulated client (peer.c on
 *   //testing/xensim) connects; then a program of steps, each an opcode
 *   and its operands: scribble bytes anywhere into the control page's
 *   header (indices, orders, live and notify bytes), the client sends,
 *   the guest reads or writes any amount, asks how much is ready or
 *   free, the backend runs;
 * - client (odd): the guest attaches as a client (vchan_client_attach)
 *   to a control page whose header and in-page rings come from the
 *   input, rings of their own pages where the orders ask for them, then
 *   reads, writes and asks.
 * Properties besides memory safety: no call returns more than was asked
 * or than a ring holds.
 */
#include <stdlib.h>
#include <string.h>

#include <testing/fuzz.h>
#include <xenabi/vchan.h>

#include "common.h"

#define MAX_STEPS 40

static uint8_t buf[70000];
static int broken;

enum { OP_SCRIBBLE, OP_SEND, OP_READ, OP_WRITE, OP_RUN, OP_QUERY, OP_MODE,
       OP_COUNT };

static uint16_t u16(struct fuzz_bytes *in)
{
    uint16_t v = fuzz_u8(in);
    return (uint16_t)(v | (uint16_t)(fuzz_u8(in) << 8));
}

void fuzz_seeds(fuzz_add_fn add)
{
    /* Server, orders 10/11: send, read, write, run, query; a scribble
     * of the client's producer index. */
    uint8_t s[] = {0,        10,      11,      OP_SEND, 100,     0,
                   OP_RUN,   OP_READ, 50,      0,       OP_READ, 100,
                   0,        OP_WRITE, 200,    0,       OP_RUN,  OP_QUERY,
                   OP_SCRIBBLE, 0,    0x40,    0,       0,       0,
                   OP_QUERY, OP_READ, 10,     0};
    add(s, sizeof s);
    /* Server with rings of their own pages (orders 12 and 13). */
    uint8_t t[] = {0,        12,      13,      OP_SEND, 0x10,    0x20,
                   OP_RUN,   OP_READ, 0xff,    0xff,    OP_WRITE, 0,
                   0x30,     OP_RUN,  OP_QUERY};
    add(t, sizeof t);
    /* Client of a control page with in-page rings (orders 10, 11), the
     * server having written 5 bytes for us and read nothing. */
    uint8_t c[1 + 24 + 3 + 8];
    memset(c, 0, sizeof c);
    c[0] = 1;
    struct xenabi_vchan_interface h;
    memset(&h, 0, sizeof h);
    h.right.prod = 5;
    h.left_order = 10;
    h.right_order = 11;
    h.cli_live = 1;
    h.srv_live = 1;
    memcpy(c + 1, &h, 24);
    c[25] = OP_READ, c[26] = 10, c[27] = 0;
    c[28] = OP_WRITE, c[29] = 20, c[30] = 0;
    c[31] = OP_QUERY;
    add(c, 32);
}

static void check_amount(long got, size_t asked)
{
    if (got > (long)asked)
        broken = 1;
}

static void program(struct vchan *v, struct peer *p, struct fuzz_bytes *in)
{
    bool scribbled = false;
    for (int s = 0; s < MAX_STEPS && fuzz_left(in) > 0; s++) {
        switch (fuzz_u8(in) % OP_COUNT) {
        case OP_SCRIBBLE: {
            /* Only what the client writes: the server's own fields
             * (left.cons, right.prod, cli_notify, srv_live) are also what
             * the simulated client trusts to pace itself. From here on
             * the client is idle: it reads its own indices back from
             * the page, so it would follow the garbage too. */
            static const struct { uint8_t off, len; } fields[] = {
                {4, 4}, {8, 4}, {16, 2}, {18, 2}, {20, 1}, {23, 1},
            };
            struct xenabi_vchan_interface *ctrl = p ? peer_control(p) : NULL;
            unsigned f = fuzz_u8(in) % (sizeof fields / sizeof fields[0]);
            uint8_t bytes[4] = {0};
            (void)fuzz_take(in, bytes, fields[f].len);
            if (ctrl != NULL) {
                memcpy((uint8_t *)ctrl + fields[f].off, bytes, fields[f].len);
                peer_set_mode(p, PEER_IDLE);
                scribbled = true;
            }
            break;
        }
        case OP_SEND: {
            size_t n = u16(in) % 5000;
            memset(buf, 0x42, n);
            if (p != NULL && n > 0)
                peer_send(p, buf, n);
            break;
        }
        case OP_READ: {
            size_t n = u16(in);
            check_amount(vchan_read(v, buf, n), n);
            break;
        }
        case OP_WRITE: {
            size_t n = u16(in);
            memset(buf, 0x24, n);
            check_amount(vchan_write(v, buf, n), n);
            break;
        }
        case OP_RUN:
            (void)sim_run();
            (void)evtchn_dispatch();
            break;
        case OP_QUERY:
            check_amount(vchan_data_ready(v), 1u << 20);
            check_amount(vchan_buffer_space(v), 1u << 20);
            break;
        default:
            if (p != NULL && !scribbled)
                peer_set_mode(p, (enum peer_mode)(fuzz_u8(in) % 3));
            break;
        }
    }
}

static void *pages_for(uint16_t order)
{
    if (order < 12 || order > 16)
        return NULL;
    void *m = aligned_alloc(4096, (size_t)1 << order);
    memset(m, 0x77, (size_t)1 << order);
    return m;
}

static void as_client(struct fuzz_bytes *in)
{
    uint8_t *ctrl = aligned_alloc(4096, 4096);
    memset(ctrl, 0, 4096);
    (void)fuzz_take(in, ctrl, sizeof(struct xenabi_vchan_interface));
    struct xenabi_vchan_interface h;
    memcpy(&h, ctrl, sizeof h);
    void *left = pages_for(h.left_order);
    void *right = pages_for(h.right_order);
    struct vchan *v = NULL;
    if (vchan_client_attach((struct xenabi_vchan_interface *)ctrl, left,
                            right, 0, &v) == 0) {
        program(v, NULL, in);
        vchan_close(v);
    }
    free(left);
    free(right);
    free(ctrl);
}

static void as_server(struct fuzz_bytes *in)
{
    unsigned lo = 10 + fuzz_u8(in) % 5, ro = 10 + fuzz_u8(in) % 5;
    struct peer *p = peer_create(REL, PEER_IDLE, 64);
    struct vchan *v = NULL;
    if (vchan_server_open(SIM_BACKEND_DOMID, REL, lo, ro, &v) != 0) {
        /* Orders that clash (two rings in one spot): refused, fine. */
        if (lo != ro || lo >= 12)
            broken = 1;
        peer_destroy(p);
        return;
    }
    (void)sim_run();
    program(v, p, in);
    peer_disconnect(p);
    vchan_close(v);
    peer_destroy(p);
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    broken = 0;
    sim_reset();
    if (evtchn_init() != 0 || gnttab_init() != 0 || xs_init() != 0)
        return 1;
    if (fuzz_u8(&in) & 1)
        as_client(&in);
    else
        as_server(&in);
    return broken;
}
