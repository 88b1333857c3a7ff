/*
 * virtio-blk in QEMU, on a fresh zero-filled raw disk of 1 MiB: write a
 * pattern (one large request, several small ones in flight at once and
 * the last sector), flush, read it back, check the geometry. The harness
 * (test_blk_disk.py) then checks the disk file's bytes on the host after
 * QEMU exited, so what the flush promised is checked outside the VM.
 * Without a disk the image says so and exits 0.
 */
#include <blkdev/blkdev.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <testing/check.h>
#include <virtio/virtio.h>
#include <virtio_blk/virtio_blk.h>

#define DISK_BYTES (1u << 20)
#define BIG_AT 4096u      /* bytes: one 64 KiB request */
#define BIG_LEN 65536u
#define SMALL_AT 131072u  /* bytes: 8 requests of 4 KiB in flight */
#define SMALL_LEN 4096u
#define SMALL_COUNT 8u

/* The byte at disk offset `off` (test_blk_disk.py computes the same). */
static uint8_t pattern_at(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) + 1);
}

static void fill(uint8_t *p, uint64_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = pattern_at(off + i);
}

static _Alignas(4096) uint8_t big[BIG_LEN], back[BIG_LEN];
static _Alignas(4096) uint8_t small[SMALL_COUNT][SMALL_LEN];

struct done {
    int calls, status;
};

static void on_done(void *arg, int status)
{
    struct done *d = arg;
    d->calls++;
    d->status = status;
}

int main(void)
{
    struct blkdev *bd;
    int rc = virtio_blk_open_first(&bd);
    if (rc == -ENODEV) {
        printf("virtio-blk: no device (%u virtio devices found); nothing "
               "to test\n", (unsigned)virtio_count());
        return 0;
    }
    if (!check_verdict(rc == 0, "virtio-blk brought up")) {
        printf("virtio_blk_open_first: %d\n", rc);
        return check_finish();
    }
    const struct blkdev_info *in = blkdev_info(bd);
    uint32_t ss = in->sector_size;
    printf("%s: %llu sectors of %u bytes (%llu bytes), queue depth %u, "
           "max request %u, flush %s, %s\n",
           bd->name, (unsigned long long)in->sectors, (unsigned)ss,
           (unsigned long long)(in->sectors * ss),
           (unsigned)in->queue_depth, (unsigned)in->max_request,
           (in->features & BLKDEV_F_FLUSH) ? "yes" : "no",
           in->readonly ? "read-only" : "read-write");
    CHECK_EQ(in->sectors * ss, DISK_BYTES);
    CHECK(!in->readonly);
    CHECK(in->queue_depth >= SMALL_COUNT);
    CHECK(in->max_request >= BIG_LEN);

    fill(big, BIG_AT, BIG_LEN);
    CHECK_EQ(blkdev_write(bd, BIG_AT / ss, big, BIG_LEN), 0);

    /* Several requests in flight at once, then wait for all. */
    struct done d[SMALL_COUNT] = {{0}};
    for (unsigned i = 0; i < SMALL_COUNT; i++) {
        fill(small[i], SMALL_AT + i * SMALL_LEN, SMALL_LEN);
        CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_WRITE,
                               (SMALL_AT + i * SMALL_LEN) / ss, small[i],
                               SMALL_LEN, on_done, &d[i]),
                 0);
    }
    unsigned completed = 0;
    while (completed < SMALL_COUNT) {
        if (blkdev_poll(bd) < 0)
            break;
        completed = 0;
        for (unsigned i = 0; i < SMALL_COUNT; i++)
            completed += d[i].calls;
        if (completed < SMALL_COUNT)
            (void)blkdev_wait(bd, 0);
    }
    for (unsigned i = 0; i < SMALL_COUNT; i++) {
        CHECK_EQ(d[i].calls, 1);
        CHECK_EQ(d[i].status, 0);
    }

    /* The last sector, and one past the end. */
    fill(back, DISK_BYTES - ss, ss);
    CHECK_EQ(blkdev_write(bd, in->sectors - 1, back, ss), 0);
    CHECK_EQ(blkdev_write(bd, in->sectors, back, ss), -ERANGE);

    CHECK_EQ(blkdev_flush(bd), 0);

    memset(back, 0, sizeof back);
    CHECK_EQ(blkdev_read(bd, BIG_AT / ss, back, BIG_LEN), 0);
    bool same = memcmp(back, big, BIG_LEN) == 0;
    for (unsigned i = 0; i < SMALL_COUNT; i++) {
        memset(back, 0, SMALL_LEN);
        CHECK_EQ(blkdev_read(bd, (SMALL_AT + i * SMALL_LEN) / ss, back,
                             SMALL_LEN),
                 0);
        fill(small[i], SMALL_AT + i * SMALL_LEN, SMALL_LEN);
        same = same && memcmp(back, small[i], SMALL_LEN) == 0;
    }
    if (check_verdict(same, "pattern written, flushed and read back"))
        printf("blk: %u bytes written, flushed and read back\n",
               BIG_LEN + SMALL_COUNT * SMALL_LEN + ss);

    struct virtio_blk_stats st;
    virtio_blk_get_stats(virtio_blk_from_blkdev(bd), &st);
    printf("blk: %llu writes, %llu reads, %llu flushes, %llu errors, "
           "interrupts %s\n",
           (unsigned long long)st.writes, (unsigned long long)st.reads,
           (unsigned long long)st.flushes, (unsigned long long)st.errors,
           st.interrupts ? "on" : "off");
    CHECK(!st.broken);
    CHECK_EQ(st.bad_id + st.bad_idx + st.bad_len + st.bad_status, 0);
    return check_finish();
}
