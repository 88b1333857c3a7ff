/*
 * Fuzz target: what a virtio-blk device writes into shared memory (the
 * used ring's ids and lengths, the status byte), read by the driver's own
 * code (virtq_get, the completion's status and length checks), with the
 * simulated device (//testing/virtiosim) doing the real work of each
 * request.
 *
 * The input is a program of steps, each an opcode and its operands:
 *   submit     a read, write or flush of any sector and 1..16 sectors
 *              into one of two application buffers;
 *   serve      the device takes what is available and completes it,
 *              reporting any status byte or any used length (0xff/-1:
 *              the true one);
 *   stray      a used element with any id and length;
 *   index      the used index set to anything;
 *   poll       the driver polls.
 * Properties besides memory safety: every callback runs at most once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <blkdev/blkdev.h>
#include <testing/fuzz.h>
#include <virtio_blk/virtio_blk.h>
#include <virtiosim/virtiosim.h>

#define SECTORS 64
#define MAX_STEPS 40
#define MAX_REQS 64
#define MAX_ALLOCS 16

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

static const struct virtio_env env = {
    .alloc_pages = t_alloc,
    .now_ns = t_now,
    .sleep_until = t_sleep,
};

static uint8_t disk[SECTORS * 512], stable[SECTORS * 512];
static _Alignas(4096) uint8_t bufs[2][16 * 512];
static struct vsim_blk sim;

struct req {
    int calls;
    int status;
};
static struct req reqs[MAX_REQS];
static unsigned nreqs;
static int broken;

static void done(void *arg, int status)
{
    struct req *r = arg;
    if (++r->calls > 1)
        broken = 1;
    r->status = status;
}

enum { OP_SUBMIT, OP_SERVE, OP_STRAY, OP_INDEX, OP_POLL, OP_COUNT };

void fuzz_seeds(fuzz_add_fn add)
{
    /* Honest: a write, a read, a flush, served and polled. */
    static const uint8_t honest[] = {
        OP_SUBMIT, 1, 0, 3, 0, OP_SUBMIT, 0, 2, 0, 1, OP_SUBMIT, 2, 0, 0, 0,
        OP_SERVE, 0xff, 0xff, 0xff, 0xff, 0xff, OP_POLL};
    add(honest, sizeof honest);
    /* An I/O error, a short used length, a stray id, an index ahead. */
    static const uint8_t lies[] = {
        OP_SUBMIT, 0, 1, 0, 0, OP_SERVE, 1, 0xff, 0xff, 0xff, 0xff, OP_POLL,
        OP_SUBMIT, 0, 1, 1, 1, OP_SERVE, 0xff, 3, 0, 0, 0, OP_POLL,
        OP_STRAY, 5, 0, 0, 0, 0, 2, 0, 0, OP_POLL,
        OP_SUBMIT, 1, 4, 0, 0, OP_INDEX, 0x40, 0, OP_POLL};
    add(lies, sizeof lies);
}

static uint16_t u16(struct fuzz_bytes *in)
{
    uint16_t v = fuzz_u8(in);
    return (uint16_t)(v | (uint16_t)(fuzz_u8(in) << 8));
}

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    for (size_t i = 0; i < nallocs; i++)
        free(allocs[i]);
    nallocs = 0;
    clock_ns = 0;
    nreqs = 0;
    broken = 0;
    memset(reqs, 0, sizeof reqs);
    vsim_blk_init(&sim, disk, stable, SECTORS,
                  VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_SEG_MAX
                      | VIRTIO_BLK_F_SIZE_MAX,
                  512, 4096, 8, 32);
    struct virtio_blk *vb = NULL;
    if (virtio_blk_open(&sim.dev.dev, &env, &vb) != 0)
        return 1;
    struct blkdev *bd = virtio_blk_blkdev(vb);

    for (int s = 0; s < MAX_STEPS && fuzz_left(&in) > 0; s++) {
        switch (fuzz_u8(&in) % OP_COUNT) {
        case OP_SUBMIT: {
            enum blkdev_op op = (enum blkdev_op)(fuzz_u8(&in) % 3);
            uint64_t sector = fuzz_u8(&in) % (SECTORS + 8);
            size_t n = 512 * (1 + fuzz_u8(&in) % 16);
            uint8_t *b = bufs[fuzz_u8(&in) & 1];
            if (nreqs < MAX_REQS
                && blkdev_submit(bd, op, sector, op == BLKDEV_OP_FLUSH ? NULL : b,
                                 op == BLKDEV_OP_FLUSH ? 0 : n, done,
                                 &reqs[nreqs]) == 0)
                nreqs++;
            break;
        }
        case OP_SERVE: {
            uint8_t status = fuzz_u8(&in);
            uint32_t ulen = fuzz_u32(&in);
            sim.status_fault = status == 0xff ? -1 : status;
            sim.len_fault = ulen == UINT32_MAX ? -1 : (long)ulen;
            (void)vsim_blk_serve(&sim);
            sim.status_fault = -1;
            sim.len_fault = -1;
            break;
        }
        case OP_STRAY: {
            uint32_t id = fuzz_u32(&in), ulen = fuzz_u32(&in);
            if (sim.dev.q[0].ready) /* the driver may have reset it */
                vsim_push_used(&sim.dev, 0, id, ulen);
            break;
        }
        case OP_INDEX: {
            uint16_t idx = u16(&in);
            if (sim.dev.q[0].ready)
                vsim_set_used_idx(&sim.dev, 0, idx);
            break;
        }
        default:
            (void)blkdev_poll(bd);
            break;
        }
    }
    (void)blkdev_poll(bd);
    virtio_blk_close(vb);
    return broken;
}
