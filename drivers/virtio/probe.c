/*
 * The boot-time scan: virtio-mmio windows from the command line, then
 * PCI bus 0. It runs before the page tables are sealed
 * (BOOT_INIT_ORDER_DEVICES) so that each device's registers can be
 * mapped uncached in them; drivers look devices up later with
 * virtio_find(). Not on Xen: a Xen guest has neither (and a PV guest
 * may not touch I/O ports).
 */
#include <boot/boot.h>
#include <errno.h>
#include <platform/xen/xen.h>
#include <stdio.h>
#include <virtio/virtio.h>

#include "transport.h"

static struct virtio_dev *found[VIRTIO_MAX_DEVICES];
static size_t found_count;

static const char *type_name(uint32_t id)
{
    switch (id) {
    case VIRTIO_ID_NET: return "net";
    case VIRTIO_ID_BLOCK: return "block";
    default: return "other";
    }
}

static void add(struct virtio_dev *dev)
{
    if (found_count == VIRTIO_MAX_DEVICES)
        return;
    found[found_count++] = dev;
    printf("[virtio] %s: %s (device %u)\n", dev->name,
           type_name(dev->device_id), (unsigned)dev->device_id);
}

static void scan_mmio(void)
{
    static struct virtio_mmio_desc descs[VIRTIO_MAX_DEVICES];
    static struct virtio_mmio mmios[VIRTIO_MAX_DEVICES];
    static struct virtio_dev devs[VIRTIO_MAX_DEVICES];
    const char *bad = NULL;
    int n = virtio_mmio_parse_cmdline(boot_cmdline(), descs,
                                      VIRTIO_MAX_DEVICES, &bad);
    if (n < 0) {
        printf("[virtio] ignoring the virtio-mmio devices: malformed "
               "command line entry at \"%.40s\" (want "
               "virtio_mmio.device=<size>@<addr>:<irq>)\n", bad);
        return;
    }
    /* Their interrupts go through the I/O APIC. */
    if (n > 0 && !virtio_ioapic_mapped)
        virtio_ioapic_mapped =
            boot_mmio_region(VIRTIO_IOAPIC_BASE, 4096, "the I/O APIC") == 0;
    if ((size_t)n > VIRTIO_MAX_DEVICES)
        printf("[virtio] %d virtio-mmio devices, using the first %u\n", n,
               VIRTIO_MAX_DEVICES);
    for (size_t i = 0; i < (size_t)n && i < VIRTIO_MAX_DEVICES; i++) {
        const struct virtio_mmio_desc *d = &descs[i];
        if (boot_mmio_region(d->addr, d->size, "virtio-mmio registers")
            != 0) {
            printf("[virtio] virtio-mmio@0x%llx: cannot map %llu bytes "
                   "there (above 4 GiB, too large, or over the image), "
                   "skipped\n", (unsigned long long)d->addr,
                   (unsigned long long)d->size);
            continue;
        }
        int rc = virtio_mmio_probe(&mmios[i], d->addr, d->size, d->irq,
                                   &devs[i]);
        if (rc == -ENOTSUP)
            printf("[virtio] virtio-mmio@0x%llx: legacy (version 1) device, "
                   "skipped; QEMU offers version 2 with "
                   "-global virtio-mmio.force-legacy=false\n",
                   (unsigned long long)d->addr);
        else if (rc == -EIO)
            printf("[virtio] virtio-mmio@0x%llx: no virtio-mmio device "
                   "there, skipped\n", (unsigned long long)d->addr);
        else if (rc == 0)
            add(&devs[i]);
    }
}

static void virtio_scan(void)
{
    if (xenplat_on_xen())
        return;
    scan_mmio();
    virtio_pci_scan(add);
}
BOOT_INIT(virtio_scan, BOOT_INIT_ORDER_DEVICES);

struct virtio_dev *virtio_find(uint32_t device_id, unsigned n)
{
    for (size_t i = 0; i < found_count; i++)
        if (found[i]->device_id == device_id && n-- == 0)
            return found[i];
    return NULL;
}

size_t virtio_count(void)
{
    return found_count;
}
