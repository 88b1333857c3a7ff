/*
 * disk/any.h - the image's first disk wherever it runs: the first Xen
 * vbd (xvda, device/vbd/51712, through blkfront) on Xen, else the first
 * virtio-blk device (QEMU, KVM, Firecracker). Both are a struct blkdev
 * (<blkdev/blkdev.h>), so an appliance written against that runs on
 * either unchanged. An image meant for one place links only that driver
 * (//drivers/virtio_blk, //drivers/blkfront:blkdev).
 *
 * disk_open_first() starts the Xen services when Xen answers
 * (<platform/xen/guest.h>; blkfront waits on their event channels) and
 * opens the disk: 0 and *out set, -ENODEV when there is no disk, or the
 * driver's negative errno. disk_driver_name() says which driver opened it
 * ("virtio-blk", "blkfront"; "none" before).
 */
#ifndef DISK_ANY_H
#define DISK_ANY_H

#include <blkdev/blkdev.h>

int disk_open_first(struct blkdev **out);

const char *disk_driver_name(void);

#endif /* DISK_ANY_H */
