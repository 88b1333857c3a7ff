/*
 * blkstore: a tiny key-value appliance on a Xen PV disk. Each record is
 * one 512-byte sector: a magic, a key and a value. On start it writes the
 * record given on the command line ("key=value"), flushes, reads it back
 * and prints it.
 *
 * Without Xen (QEMU), it says so and exits 0: the image proves blkfront
 * builds and links for the unikernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkfront/blkfront.h>
#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <xenstore/xenstore.h>

#include "examples/udp_echo/poll_wait.h"

#define MAGIC "BLKSTORE"

struct record {
    char magic[8];
    char key[56];
    char value[448];
};
_Static_assert(sizeof(struct record) == XENABI_BLKIF_SECTOR_SIZE,
               "one record per sector");

static _Alignas(4096) struct record sector;

static int store(struct blkfront *bf, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
    if (klen == 0 || klen >= sizeof(sector.key))
        return -XENABI_EINVAL;
    memset(&sector, 0, sizeof(sector));
    memcpy(sector.magic, MAGIC, sizeof(sector.magic));
    memcpy(sector.key, kv, klen);
    if (eq != NULL)
        strncpy(sector.value, eq + 1, sizeof(sector.value) - 1);
    int rc = blkfront_write(bf, 0, &sector, sizeof(sector));
    if (rc == 0) {
        rc = blkfront_flush(bf);
        if (rc == -XENABI_EOPNOTSUPP)
            rc = 0; /* a disk without a cache to flush */
    }
    if (rc == 0) {
        memset(&sector, 0, sizeof(sector));
        rc = blkfront_read(bf, 0, &sector, sizeof(sector));
    }
    if (rc == 0 && memcmp(sector.magic, MAGIC, sizeof(sector.magic)) != 0)
        rc = -XENABI_EIO;
    if (rc == 0)
        printf("blkstore: %s = %s\n", sector.key, sector.value);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = evtchn_init();
    if (rc == -XENABI_ENOSYS) {
        puts("no Xen: blkfront unavailable");
        return 0;
    }
    /*
     * Wait for events by polling: with no upcall, SCHEDOP_block (the
     * default wait) never wakes on PVH and kills a PV domain.
     */
    if (rc == 0)
        poll_wait_install();
    if (rc == 0)
        rc = gnttab_init();
    if (rc == 0)
        rc = xs_init();
    struct blkfront *bf = NULL;
    if (rc == 0)
        rc = blkfront_open("device/vbd/768", &bf);
    if (rc == 0)
        rc = blkfront_wait_connected(bf);
    if (rc == 0) {
        struct blkfront_info info;
        blkfront_info(bf, &info);
        printf("blkstore: disk of %llu sectors (%u bytes each)%s\n",
               (unsigned long long)info.sectors, (unsigned)info.sector_size,
               info.readonly ? ", read-only" : "");
        rc = store(bf, argc > 1 ? argv[1] : "hello=world");
    }
    if (bf != NULL)
        blkfront_close(bf);
    if (rc < 0)
        printf("blkstore: failed: %d\n", rc);
    return rc < 0 ? 1 : 0;
}
