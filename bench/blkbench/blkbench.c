/*
 * bench/blk.py's image: block I/O through virtio-blk (QEMU) or blkfront
 * (Xen: tests/xenlab's BENCH=1 blk sides, bench/xen_appliances.py), with
 * the block cache (its policies are the slots the image links:
 * //libos/blkcache) or, with "cache=none" on the command line, on the
 * device itself.
 *
 * On the first disk (<disk/any.h>: xvda on Xen, else the first virtio-blk
 * device), over its first REGION bytes, in 4 KiB
 * requests: a sequential write (then a flush), a sequential read, a random
 * read over the whole region, a random read over a hot set that fits the
 * cache, a random write (then a flush). Each phase prints one line
 *
 *   BLKBENCH <phase> ops=<n> bytes=<n> ns=<total> p50_ns=<n> p99_ns=<n>
 *
 * (the flush counted in the write phases' total), then "BLKBENCH done".
 * The random offsets come from a fixed xorshift seed, the same every run.
 */
#include <blkcache/blkcache.h>
#include <blkdev/blkdev.h>
#include <disk/any.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time/time.h>

#define REQ 4096u
#define REGION (8u << 20)          /* bytes the phases cover */
#define HOT (256u << 10)           /* the hot set of the hot random read */
#define OPS (REGION / REQ)         /* requests per phase */
#define CACHE_BLOCKS 1024u         /* sectors the cache holds (512 KiB) */

static _Alignas(4096) uint8_t buf[REQ];
static uint32_t lat[OPS];

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Shell sort: OPS values, once per phase. */
static void sort_u32(uint32_t *a, size_t n)
{
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
                uint32_t t = a[j];
                a[j] = a[j - gap];
                a[j - gap] = t;
            }
}

enum kind { SEQ, RAND, RAND_HOT };

static int phase(struct blkdev *bd, const char *name, bool write,
                 enum kind kind, uint32_t ss)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;
    uint64_t t0 = time_monotonic_ns();
    for (uint32_t i = 0; i < OPS; i++) {
        uint64_t off;
        if (kind == SEQ)
            off = (uint64_t)i * REQ;
        else
            off = (xorshift(&seed) % ((kind == RAND ? REGION : HOT) / REQ)) * REQ;
        memset(buf, (int)(i & 0xff), 16);
        uint64_t t = time_monotonic_ns();
        int rc = write ? blkdev_write(bd, off / ss, buf, REQ)
                       : blkdev_read(bd, off / ss, buf, REQ);
        uint64_t d = time_monotonic_ns() - t;
        if (rc != 0) {
            printf("BLKBENCH %s: request %u at byte %llu failed: %d\n", name,
                   (unsigned)i, (unsigned long long)off, rc);
            return rc;
        }
        lat[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
    if (write) {
        int rc = blkdev_flush(bd);
        if (rc != 0) {
            printf("BLKBENCH %s: flush failed: %d\n", name, rc);
            return rc;
        }
    }
    uint64_t total = time_monotonic_ns() - t0;
    sort_u32(lat, OPS);
    printf("BLKBENCH %s ops=%u bytes=%u ns=%llu p50_ns=%u p99_ns=%u\n", name,
           (unsigned)OPS, (unsigned)REGION, (unsigned long long)total,
           (unsigned)lat[OPS / 2], (unsigned)lat[OPS * 99 / 100]);
    return 0;
}

int main(int argc, char **argv)
{
    bool cached = true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "cache=none") == 0)
            cached = false;
    struct blkdev *disk;
    int rc = disk_open_first(&disk);
    if (rc != 0) {
        printf("BLKBENCH: no disk (%d); attach one of at least %u MiB "
               "(virtio-blk on QEMU, xvda on Xen)\n", rc, REGION >> 20);
        return 1;
    }
    printf("BLKBENCH disk %s\n", disk_driver_name());
    const struct blkdev_info *info = blkdev_info(disk);
    uint32_t ss = info->sector_size;
    if (info->sectors * ss < REGION) {
        printf("BLKBENCH: the disk has %llu bytes; attach one of at least "
               "%u MiB\n", (unsigned long long)(info->sectors * ss),
               REGION >> 20);
        return 1;
    }
    struct blkcache *c = NULL;
    struct blkdev *bd = disk;
    if (cached) {
        struct blkcache_config cfg = {.blocks = CACHE_BLOCKS};
        rc = blkcache_open(disk, &cfg, &c);
        if (rc != 0) {
            printf("BLKBENCH: blkcache_open: %d\n", rc);
            return 1;
        }
        bd = blkcache_blkdev(c);
        printf("BLKBENCH policy %s+%s, %u blocks of %u bytes\n",
               blkcache_write_policy_name(), blkcache_replacement_name(),
               CACHE_BLOCKS, (unsigned)ss);
    } else {
        printf("BLKBENCH policy none\n");
    }
    rc = phase(bd, "seqwrite", true, SEQ, ss);
    rc = rc ? rc : phase(bd, "seqread", false, SEQ, ss);
    rc = rc ? rc : phase(bd, "randread", false, RAND, ss);
    rc = rc ? rc : phase(bd, "randread-hot", false, RAND_HOT, ss);
    rc = rc ? rc : phase(bd, "randwrite", true, RAND, ss);
    if (c != NULL) {
        struct blkcache_stats st;
        blkcache_get_stats(c, &st);
        printf("BLKBENCH stats hits=%llu misses=%llu evictions=%llu "
               "write_backs=%llu write_back_requests=%llu\n",
               (unsigned long long)st.hits, (unsigned long long)st.misses,
               (unsigned long long)st.evictions,
               (unsigned long long)st.write_backs,
               (unsigned long long)st.write_back_requests);
        int crc = blkcache_close(c);
        rc = rc ? rc : crc;
    }
    printf("BLKBENCH done %d\n", rc);
    return rc == 0 ? 0 : 1;
}
