/*
 * blkstore: a tiny appliance on a Xen PV disk: the guest's first vbd
 * (device/vbd/<id> in xenstore; xl names `vdev=xvda` 51712, `hda` 768).
 * What it does depends on the command line:
 *
 *   key=value   store the record (one 512-byte sector: a magic, a key and
 *               a value) in sector 0, flush, read it back and print it;
 *   write       write the lab's pattern (pattern_regions below: a single
 *               sector, a 3-page request, a 16-page one that goes
 *               indirect when the backend offers it), flush, read it all
 *               back and compare;
 *   verify      read the pattern a previous boot wrote and compare.
 *
 * Sector s of the pattern holds "BLKSTORE sector NNNNNNNNNN\n" (s in
 * ten digits) and then, at byte i, (s * 7 + i) & 0xff: recognisable in
 * the backing file, and checked byte for byte by tests/xenlab.
 *
 * Whatever the mode, it then closes the disk (frontend Closing ->
 * Closed) and prints the grant accounting: a clean shutdown leaves no
 * grant outstanding, and no bounce page lost to the backend.
 *
 * Without Xen (QEMU), it says so and exits 0: the image proves blkfront
 * builds and links for the unikernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkfront/blkfront.h>
#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <xenstore/xenstore.h>


#define MAGIC "BLKSTORE"
#define SECTOR XENABI_BLKIF_SECTOR_SIZE

struct record {
    char magic[8];
    char key[56];
    char value[448];
};
_Static_assert(sizeof(struct record) == SECTOR, "one record per sector");

/* The pattern's runs of sectors, each one request (or as few as fit). */
static const struct {
    uint32_t first, count;
} pattern_regions[] = {
    {0, 1},    /* a single sector */
    {8, 24},   /* three pages: a multi-segment request */
    {64, 128}, /* sixteen pages: indirect if offered, else split */
};
#define PATTERN_MAX_SECTORS 128

static _Alignas(4096) uint8_t buf[PATTERN_MAX_SECTORS * SECTOR];

/* ---- key=value ------------------------------------------------------------- */

static int store(struct blkfront *bf, const char *kv)
{
    struct record *sector = (struct record *)buf;
    const char *eq = strchr(kv, '=');
    size_t klen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
    if (klen == 0 || klen >= sizeof(sector->key))
        return -XENABI_EINVAL;
    memset(sector, 0, sizeof(*sector));
    memcpy(sector->magic, MAGIC, sizeof(sector->magic));
    memcpy(sector->key, kv, klen);
    if (eq != NULL)
        strncpy(sector->value, eq + 1, sizeof(sector->value) - 1);
    int rc = blkfront_write(bf, 0, sector, sizeof(*sector));
    if (rc == 0) {
        rc = blkfront_flush(bf);
        if (rc == -XENABI_EOPNOTSUPP)
            rc = 0; /* a disk without a cache to flush */
    }
    if (rc == 0) {
        memset(sector, 0, sizeof(*sector));
        rc = blkfront_read(bf, 0, sector, sizeof(*sector));
    }
    if (rc == 0 && memcmp(sector->magic, MAGIC, sizeof(sector->magic)) != 0)
        rc = -XENABI_EIO;
    if (rc == 0)
        printf("blkstore: %s = %s\n", sector->key, sector->value);
    return rc;
}

/* ---- the pattern ----------------------------------------------------------- */

static void fill_sector(uint8_t *p, uint32_t s)
{
    int n = snprintf((char *)p, SECTOR, "BLKSTORE sector %010u\n",
                     (unsigned)s);
    for (unsigned i = (unsigned)n; i < SECTOR; i++)
        p[i] = (uint8_t)(s * 7 + i);
}

/* Sectors one request may carry: what the negotiated segments span. */
static uint32_t chunk_sectors(const struct blkfront_info *info)
{
    uint32_t n = info->max_segments * (4096 / SECTOR);
    return n < PATTERN_MAX_SECTORS ? n : PATTERN_MAX_SECTORS;
}

/* Write (or read back and compare) one region, in as few requests as fit. */
static int region_io(struct blkfront *bf, const struct blkfront_info *info,
                     uint32_t first, uint32_t count, bool write,
                     unsigned *requests)
{
    uint32_t chunk = chunk_sectors(info);
    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < chunk ? count - done : chunk;
        uint32_t s0 = first + done;
        int rc;
        if (write) {
            for (uint32_t i = 0; i < n; i++)
                fill_sector(buf + (size_t)i * SECTOR, s0 + i);
            rc = blkfront_write(bf, s0, buf, (size_t)n * SECTOR);
        } else {
            memset(buf, 0, (size_t)n * SECTOR);
            rc = blkfront_read(bf, s0, buf, (size_t)n * SECTOR);
            static uint8_t want[SECTOR];
            for (uint32_t i = 0; rc == 0 && i < n; i++) {
                fill_sector(want, s0 + i);
                if (memcmp(buf + (size_t)i * SECTOR, want, SECTOR) != 0) {
                    printf("blkstore: sector %u differs from the pattern\n",
                           (unsigned)(s0 + i));
                    rc = -XENABI_EIO;
                }
            }
        }
        if (rc < 0) {
            printf("blkstore: %s of sectors %u..%u failed: %d\n",
                   write ? "write" : "read", (unsigned)s0,
                   (unsigned)(s0 + n - 1), rc);
            return rc;
        }
        (*requests)++;
        done += n;
    }
    return 0;
}

static int pattern(struct blkfront *bf, const struct blkfront_info *info,
                   bool write)
{
    unsigned requests = 0, sectors = 0;
    size_t nregions = sizeof(pattern_regions) / sizeof(pattern_regions[0]);
    int rc = 0;
    if (write) {
        for (size_t r = 0; rc == 0 && r < nregions; r++)
            rc = region_io(bf, info, pattern_regions[r].first,
                           pattern_regions[r].count, true, &requests);
        if (rc < 0)
            return rc;
        rc = blkfront_flush(bf);
        printf("blkstore: flush (%s): %d\n",
               info->flush     ? "flush-diskcache"
               : info->barrier ? "write-barrier"
                               : "none offered",
               rc);
        if (rc == -XENABI_EOPNOTSUPP)
            rc = 0;
        if (rc < 0)
            return rc;
        printf("blkstore: wrote the pattern in %u requests (up to %u sectors "
               "each, %s)\n",
               requests, (unsigned)chunk_sectors(info),
               info->max_segments > BLKFRONT_MAX_SEGMENTS ? "indirect"
                                                          : "direct");
        requests = 0;
    }
    for (size_t r = 0; rc == 0 && r < nregions; r++) {
        rc = region_io(bf, info, pattern_regions[r].first,
                       pattern_regions[r].count, false, &requests);
        sectors += pattern_regions[r].count;
    }
    if (rc == 0)
        printf("blkstore: verified %u pattern sectors in %u reads\n", sectors,
               requests);
    return rc;
}

/* ---- main ------------------------------------------------------------------ */

/* "device/vbd/<id>" of the first disk the toolstack gave us. */
static int first_vbd(char *node, size_t size)
{
    char names[256];
    int n = xs_directory(XS_TX_NONE, "device/vbd", names, sizeof(names));
    if (n == 0 || n == -XENABI_ENOENT) {
        puts("blkstore: no disk: add one to the domain config, e.g. "
             "disk = [ \"format=raw,vdev=xvda,access=rw,target=/path\" ]");
        return -XENABI_ENODEV;
    }
    if (n < 0)
        return n;
    snprintf(node, size, "device/vbd/%s", names);
    return 0;
}

int main(int argc, char **argv)
{
    /* Event channels on the scheduler: waits park main, the vcpu blocks. */
    int rc = evtchn_sched_init();
    if (rc == -XENABI_ENOSYS) {
        puts("no Xen: blkfront unavailable");
        return 0;
    }
    const char *arg = argc > 1 ? argv[1] : "hello=world";
    if (rc == 0)
        rc = gnttab_init();
    if (rc == 0)
        rc = xs_init();
    char node[64];
    if (rc == 0)
        rc = first_vbd(node, sizeof(node));
    struct blkfront *bf = NULL;
    if (rc == 0)
        rc = blkfront_open(node, &bf);
    if (rc == 0)
        rc = blkfront_wait_connected(bf);
    if (rc == 0) {
        struct blkfront_info info;
        blkfront_info(bf, &info);
        printf("blkstore: %s connected: disk of %llu sectors (%u bytes each)%s, "
               "%u ring slots, %u segments per request, flush %s\n",
               node, (unsigned long long)info.sectors, (unsigned)info.sector_size,
               info.readonly ? ", read-only" : "", (unsigned)info.ring_slots,
               (unsigned)info.max_segments,
               info.flush ? "yes" : info.barrier ? "barrier" : "no");
        if (strcmp(arg, "write") == 0)
            rc = pattern(bf, &info, true);
        else if (strcmp(arg, "verify") == 0)
            rc = pattern(bf, &info, false);
        else
            rc = store(bf, arg);
    }
    if (bf != NULL) {
        struct blkfront_stats bs;
        blkfront_get_stats(bf, &bs);
        int crc = blkfront_close(bf);
        printf("blkstore: closed (frontend Closed): %d; %llu requests, "
               "%llu errors; %u bounce pages, %llu lost\n",
               crc, (unsigned long long)bs.submitted,
               (unsigned long long)bs.errors, (unsigned)bs.pool_pages,
               (unsigned long long)bs.pages_lost);
        if (gnttab_print_summary("blkstore") != 0 && rc == 0)
            rc = -XENABI_EBUSY;
    }
    if (rc < 0)
        printf("blkstore: failed: %d\n", rc);
    else
        printf("blkstore: ok\n");
    return rc < 0 ? 1 : 0;
}
