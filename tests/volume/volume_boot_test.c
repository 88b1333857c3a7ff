/*
 * A unikernel_volume seen by the guest as a virtio-blk disk: block 0 holds
 * littlefs's superblock, whose magic "littlefs" is at byte 8. The command
 * line says how the image attached the volume ("ro" or "rw"); the device
 * must say the same, and a write must fail (ro) or land and read back (rw,
 * on the runner's copy of the volume: the test around it checks that the
 * build output is unchanged).
 */
#include <blkdev/blkdev.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <testing/check.h>
#include <virtio_blk/virtio_blk.h>

#define MAGIC_OFFSET 8
#define MARK "written by the guest"

static _Alignas(4096) uint8_t block0[4096];
static _Alignas(4096) uint8_t sector[4096];

int main(int argc, char **argv)
{
    bool want_ro = argc > 1 && strcmp(argv[1], "ro") == 0;
    struct blkdev *bd;
    int rc = virtio_blk_open_first(&bd);
    if (!check_verdict(rc == 0, "the volume is a virtio-blk disk")) {
        printf("virtio_blk_open_first: %d\n", rc);
        return check_finish();
    }
    const struct blkdev_info *in = blkdev_info(bd);
    uint32_t ss = in->sector_size;
    printf("volume: %llu bytes, %s\n", (unsigned long long)(in->sectors * ss),
           in->readonly ? "read-only" : "read-write");
    CHECK_EQ(in->readonly, want_ro);

    CHECK_EQ(blkdev_read(bd, 0, block0, sizeof block0), 0);
    bool magic = memcmp(block0 + MAGIC_OFFSET, "littlefs", 8) == 0;
    CHECK_MSG(magic, "no littlefs magic at byte 8 of block 0");
    printf("volume: block 0: littlefs superblock %s\n", magic ? "found" : "missing");

    /* The last sector: littlefs leaves it erased (0xff) in a roomy volume. */
    uint64_t last = in->sectors - 1;
    memset(sector, 0, ss);
    memcpy(sector, MARK, sizeof MARK);
    rc = blkdev_write(bd, last, sector, ss);
    if (want_ro) {
        CHECK_EQ(rc, -EROFS);
        printf("volume: write refused (%d)\n", rc);
    } else {
        CHECK_EQ(rc, 0);
        CHECK_EQ(blkdev_flush(bd), 0);
        memset(sector, 0, ss);
        CHECK_EQ(blkdev_read(bd, last, sector, ss), 0);
        CHECK(memcmp(sector, MARK, sizeof MARK) == 0);
        printf("volume: last sector written, flushed and read back\n");
    }
    return check_finish();
}
