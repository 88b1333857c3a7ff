/*
 * Fuzz target: blkfront's response ring as a hostile blkback writes it,
 * read by blkfront's own code (blkfront_poll: one copy of each response,
 * then the checks of id, generation, operation and status), with the
 * simulated blkback (blkback.c on //testing/xensim) serving the
 * requests for real.
 *
 * The input is a program of steps, each an opcode and its operands:
 *   read / write   a request of 1..16 sectors at any sector into one of
 *                  three application buffers (sub-page sizes included);
 *   flush          a cache flush;
 *   mask           16 bytes XORed into every response the backend writes
 *                  from now on (zeros: honest), so mutants stay near
 *                  genuine responses: a flipped generation bit, another
 *                  status, the wrong operation;
 *   inject         a response nobody asked for (16 raw bytes);
 *   ahead          rsp_prod published beyond the responses;
 *   poll           the backend runs, blkfront polls.
 * Properties besides memory safety: each callback runs at most once, and
 * exactly once by the end of blkfront_close; no grant reaches an
 * application buffer whose request has completed; nothing leaks.
 */
#include <stdlib.h>
#include <string.h>

#include <testing/fuzz.h>
#include <xenabi/blkif.h>

#include "common.h"

#define MAX_STEPS 40
#define MAX_REQS 64

static _Alignas(4096) uint8_t bufs[3][16 * 512];

static uint8_t mask[16];
static int broken;

struct req {
    int calls;
    int status;
    const uint8_t *buf;
    size_t len;
};
static struct req reqs[MAX_REQS];
static unsigned nreqs;

static void done(void *arg, int status)
{
    struct req *r = arg;
    if (++r->calls > 1)
        broken = 1;
    r->status = status;
}

static void rewrite(void *arg, struct xenabi_blkif_response *rsp)
{
    (void)arg;
    uint8_t bytes[16];
    memcpy(bytes, rsp, 16);
    for (int i = 0; i < 16; i++)
        bytes[i] ^= mask[i];
    memcpy(rsp, bytes, 16);
}

enum { OP_READ, OP_WRITE, OP_FLUSH, OP_MASK, OP_INJECT, OP_AHEAD, OP_POLL,
       OP_COUNT };

void fuzz_seeds(fuzz_add_fn add)
{
    uint8_t in[256];
    size_t n = 0;
    /* Honest: a read, a write, a sub-page read, a flush, polls. */
    uint8_t honest[] = {OP_READ, 0, 0, 0,    OP_POLL, OP_WRITE, 1, 3, 7,
                        OP_POLL, OP_READ, 2, 5, 0, OP_FLUSH, OP_POLL};
    memcpy(in, honest, sizeof honest), n = sizeof honest;
    add(in, n);

    /* A stale generation, a bad status, the wrong operation. */
    n = 0;
    in[n++] = OP_MASK;
    memset(in + n, 0, 16), in[n + 4] = 1, n += 16;
    in[n++] = OP_READ, in[n++] = 0, in[n++] = 0, in[n++] = 1, in[n++] = OP_POLL;
    in[n++] = OP_MASK;
    memset(in + n, 0, 16), in[n + 10] = 0x7, n += 16;
    in[n++] = OP_WRITE, in[n++] = 1, in[n++] = 1, in[n++] = 1, in[n++] = OP_POLL;
    in[n++] = OP_MASK;
    memset(in + n, 0, 16), in[n + 8] = 0x3, n += 16;
    in[n++] = OP_FLUSH, in[n++] = OP_POLL;
    add(in, n);

    /* An unasked response for entry 0 of generation 1, then one ahead. */
    n = 0;
    in[n++] = OP_READ, in[n++] = 0, in[n++] = 1, in[n++] = 2;
    in[n++] = OP_INJECT;
    struct xenabi_blkif_response r = {.id = (1ull << 32) | 0,
                                      .operation = XENABI_BLKIF_OP_READ};
    memcpy(in + n, &r, 16), n += 16;
    in[n++] = OP_POLL, in[n++] = OP_AHEAD, in[n++] = OP_READ, in[n++] = 1,
    in[n++] = 1, in[n++] = 1, in[n++] = OP_POLL;
    add(in, n);
}

static void poll_once(struct blkfront *bf)
{
    (void)sim_run();
    (void)evtchn_dispatch();
    if (blkfront_poll(bf) < -1000)
        broken = 1;
}

/* A request that completed must leave no grant on its buffer. */
static void check_completed_ungranted(void)
{
    for (unsigned i = 0; i < nreqs; i++)
        if (reqs[i].calls == 1 && reqs[i].buf != NULL
            && sim_gnttab_grants_on(reqs[i].buf, reqs[i].len) != 0)
            broken = 1;
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    sim_reset();
    broken = 0;
    nreqs = 0;
    memset(reqs, 0, sizeof reqs);
    memset(mask, 0, sizeof mask);

    struct blkback *bb = blkback_create(768, 64, 512, BLKBACK_FLUSH);
    if (evtchn_init() != 0 || gnttab_init() != 0 || xs_init() != 0)
        return 1;
    struct blkfront *bf = NULL;
    if (blkfront_open(NODE, &bf) != 0 || blkfront_wait_connected(bf) != 0)
        return 1;
    blkback_set_rewrite(bb, rewrite, NULL);

    for (int s = 0; s < MAX_STEPS && fuzz_left(&in) > 0; s++) {
        uint8_t op = fuzz_u8(&in) % OP_COUNT;
        switch (op) {
        case OP_READ:
        case OP_WRITE: {
            unsigned which = fuzz_u8(&in) % 3;
            uint64_t sector = fuzz_u8(&in) % 70; /* past the end, too */
            size_t n = 512 * (1 + fuzz_u8(&in) % 16);
            if (nreqs == MAX_REQS)
                break;
            struct req *r = &reqs[nreqs];
            int rc = op == OP_READ
                         ? blkfront_read_async(bf, sector, bufs[which], n,
                                               done, r)
                         : blkfront_write_async(bf, sector, bufs[which], n,
                                                done, r);
            if (rc == 0) {
                r->buf = bufs[which];
                r->len = n;
                nreqs++;
            }
            break;
        }
        case OP_FLUSH:
            if (nreqs < MAX_REQS
                && blkfront_flush_async(bf, done, &reqs[nreqs]) == 0)
                nreqs++;
            break;
        case OP_MASK:
            memset(mask, 0, sizeof mask);
            (void)fuzz_take(&in, mask, sizeof mask);
            break;
        case OP_INJECT: {
            struct xenabi_blkif_response r;
            memset(&r, 0, sizeof r);
            (void)fuzz_take(&in, &r, sizeof r);
            blkback_inject(bb, &r);
            break;
        }
        case OP_AHEAD:
            blkback_fault(bb, BLKBACK_PROD_AHEAD);
            break;
        default:
            poll_once(bf);
            check_completed_ungranted();
            break;
        }
    }
    poll_once(bf);
    check_completed_ungranted();
    (void)blkfront_close(bf);
    for (unsigned i = 0; i < nreqs; i++)
        if (reqs[i].calls != 1)
            broken = 1;
    blkback_destroy(bb);
    return broken;
}
