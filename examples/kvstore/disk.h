/* disk.h - the kvstore's disk: blkfront on Xen, virtio-blk elsewhere. */
#ifndef KVSTORE_DISK_H
#define KVSTORE_DISK_H

#include <blkdev/blkdev.h>

/* 0 and *out, or a negative errno (-ENODEV: no disk); *driver names it. */
int kv_disk_open(struct blkdev **out, const char **driver);

#endif /* KVSTORE_DISK_H */
