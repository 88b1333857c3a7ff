/*
 * netdev/nic.h - the image's NIC, whichever driver the image links.
 *
 * An appliance written against this header runs on Xen and in QEMU
 * unchanged: its image picks the driver by one dep, which fills the slot
 * "nic" (checked at analysis: exactly one filler):
 *
 *     //drivers/virtio_net:nic   virtio-net (QEMU, KVM, Firecracker)
 *     //drivers/netfront:nic     the Xen vif device/vif/0 (starts the Xen
 *                                services first: <platform/xen/guest.h>)
 *     //drivers/nic:any          both: the vif on Xen, else virtio-net
 *
 * nic_open_first() opens and connects the first NIC: 0 and *out set, or
 * -ENODEV when the image runs where its driver finds no device (no Xen,
 * no virtio-net device), or the driver's negative errno.
 * nic_driver_name() says which driver opened it ("virtio-net", "netfront").
 * nic_format_stats() writes one line of that NIC's counters into buf (n
 * bytes, NUL-terminated, cut if short; returns what snprintf returns): for
 * netfront how many received frames were lent in its page and how many
 * copied (and came merged, GSO; notifications each way), for virtio-net
 * how many fragments were sent in place.
 */
#ifndef NETDEV_NIC_H
#define NETDEV_NIC_H

#include <netdev/netdev.h>
#include <stddef.h>

int nic_open_first(struct netdev **out);

const char *nic_driver_name(void);

int nic_format_stats(struct netdev *nd, char *buf, size_t n);

#endif /* NETDEV_NIC_H */
