/*
 * Fuzz target: what xenstored writes to the reply ring, through the
 * client's own ring reader (ring.c: xs_rx_pump) and message checks
 * (reply.c, watch.c), with the simulated xenstored (//testing/xensim)
 * as the peer for everything else.
 *
 * The input is a program of up to MAX_STEPS steps, each
 *     <op: u8> <n: u16 little-endian> <n bytes>
 * The n bytes go to the reply ring as they are (sim_xs_inject_raw, ahead
 * of any genuine reply), then the client does `op`: a read, a directory
 * listing, a transaction start, a write, a watch, or a poll that runs
 * the watch callbacks. On a fresh simulator the client numbers its
 * requests 1, 2, 3, ..., so a seed can carry forged replies to the very
 * request that follows (fuzz_seeds writes them with the real ABI
 * structure).
 *
 * Properties besides memory safety: every call returns 0 or a negative
 * error; a reply copied out never exceeds the caller's buffer; a watch
 * callback gets a NUL-terminated path no longer than the protocol
 * allows.
 */
#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <testing/fuzz.h>
#include <xenabi/xenstore.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#define MAX_STEPS 12

enum op { OP_READ, OP_DIRECTORY, OP_TX_START, OP_WRITE, OP_WATCH, OP_POLL,
          OP_COUNT };

static int broken;

static void on_watch(int watch, const char *path, void *arg)
{
    (void)watch;
    (void)arg;
    if (strnlen(path, XENABI_XENSTORE_ABS_PATH_MAX + 1)
        > XENABI_XENSTORE_ABS_PATH_MAX)
        broken = 1;
}

/* ---- seeds: valid programs with genuine-looking forged replies ---------- */

static uint8_t seed_buf[4096];
static size_t seed_len;

static void put(const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(seed_buf + seed_len, p, n);
    seed_len += n;
}

static size_t message(uint8_t *to, uint32_t type, uint32_t req_id,
                      const void *payload, uint32_t len)
{
    struct xenabi_xsd_sockmsg h = {.type = type, .req_id = req_id,
                                   .tx_id = 0, .len = len};
    memcpy(to, &h, sizeof h);
    memcpy(to + sizeof h, payload, len);
    return sizeof h + len;
}

/* One step: op, then the given messages as its injected bytes. */
static void step(uint8_t op, const uint8_t *bytes, size_t n)
{
    uint8_t hdr[3] = {op, (uint8_t)n, (uint8_t)(n >> 8)};
    put(hdr, 3);
    put(bytes, n);
}

void fuzz_seeds(fuzz_add_fn add)
{
    uint8_t m[2048];
    size_t n;

    /* Every op with nothing forged: the genuine conversation. */
    seed_len = 0;
    for (uint8_t op = 0; op < OP_COUNT; op++)
        step(op, NULL, 0);
    add(seed_buf, seed_len);

    /* A forged answer to each kind of request (ids 1..4). */
    seed_len = 0;
    n = message(m, XENABI_XS_READ, 1, "hello", 5);
    step(OP_READ, m, n);
    n = message(m, XENABI_XS_DIRECTORY, 2, "a\0bb\0ccc", 9);
    step(OP_DIRECTORY, m, n);
    n = message(m, XENABI_XS_TRANSACTION_START, 3, "42", 3);
    step(OP_TX_START, m, n);
    n = message(m, XENABI_XS_WRITE, 4, "OK", 3);
    step(OP_WRITE, m, n);
    add(seed_buf, seed_len);

    /* Errors, and a reply longer than the caller's buffer. */
    seed_len = 0;
    n = message(m, XENABI_XS_ERROR, 1, "ENOENT", 7);
    step(OP_READ, m, n);
    static char big[600];
    memset(big, 'x', sizeof big);
    n = message(m, XENABI_XS_READ, 2, big, sizeof big);
    step(OP_READ, m, n);
    n = message(m, XENABI_XS_ERROR, 3, "EAGAIN", 7);
    step(OP_WRITE, m, n);
    add(seed_buf, seed_len);

    /* A watch (request 1, token "0/1"), then events for it. */
    seed_len = 0;
    step(OP_WATCH, NULL, 0);
    n = message(m, XENABI_XS_WATCH_EVENT, 0, "w/x\0" "0/1", 8);
    n += message(m + n, XENABI_XS_WATCH_EVENT, 0, "w\0" "0/1", 6);
    step(OP_POLL, m, n);
    n = message(m, XENABI_XS_WATCH_EVENT, 0, "w/y\0" "7/9", 8);
    step(OP_POLL, m, n);
    add(seed_buf, seed_len);

    /* Two messages split across the injected bytes of two steps. */
    seed_len = 0;
    n = message(m, XENABI_XS_READ, 1, "split", 5);
    step(OP_POLL, m, 10);
    step(OP_READ, m + 10, n - 10);
    add(seed_buf, seed_len);
}

/* ---- one input ------------------------------------------------------------ */

static int ok_rc(int rc)
{
    return rc <= 0;
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    sim_reset();
    broken = 0;
    if (evtchn_init() != 0 || xs_init() != 0)
        return 1;

    for (int s = 0; s < MAX_STEPS && fuzz_left(&in) > 0; s++) {
        uint8_t op = fuzz_u8(&in) % OP_COUNT;
        size_t n = fuzz_u8(&in);
        n |= (size_t)fuzz_u8(&in) << 8;
        if (n > fuzz_left(&in))
            n = fuzz_left(&in);
        if (n > 0) {
            sim_xs_inject_raw(in.data + in.pos, n);
            in.pos += n;
        }
        char buf[64 + 1];
        size_t got = 0;
        int rc = 0;
        switch (op) {
        case OP_READ:
            memset(buf, 0, sizeof buf);
            rc = xs_read(XS_TX_NONE, "data/k", buf, 64, &got);
            if (rc == 0 && strnlen(buf, sizeof buf) > 64)
                broken = 1;
            break;
        case OP_DIRECTORY:
            rc = xs_directory(XS_TX_NONE, "data", buf, 64);
            if (rc > 0)
                rc = 0; /* the number of entries */
            break;
        case OP_TX_START: {
            xs_tx_t tx;
            rc = xs_transaction_start(&tx);
            if (rc == 0)
                (void)xs_transaction_end(tx, false);
            break;
        }
        case OP_WRITE:
            rc = xs_write(XS_TX_NONE, "data/k", "value");
            break;
        case OP_WATCH:
            rc = xs_watch("data", on_watch, NULL);
            if (rc >= 0)
                rc = 0;
            break;
        default:
            (void)sim_run();
            (void)evtchn_dispatch();
            rc = xs_poll();
            if (rc > 0)
                rc = 0;
            break;
        }
        if (!ok_rc(rc))
            broken = 1;
    }
    /* Whatever is left in the ring: taken in, then dropped. */
    (void)sim_run();
    (void)evtchn_dispatch();
    (void)xs_poll();
    return broken;
}
