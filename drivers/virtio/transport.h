/* The image's transports (private to //drivers/virtio:virtio). */
#ifndef VIRTIO_TRANSPORT_H
#define VIRTIO_TRANSPORT_H

#include <stdint.h>
#include <virtio/virtio.h>

#define VIRTIO_MAX_DEVICES 8
#define VIRTIO_PCI_MAX_QUEUES 8

struct virtio_mmio {
    volatile uint8_t *base;
    uint64_t size;
    uint32_t irq; /* I/O APIC input (GSI) from the command line */
};

/* The I/O APIC at its architectural address (there are no ACPI or MP
 * tables to say otherwise on microvm without ACPI, nor on Firecracker);
 * probe.c maps it before the seal when a virtio-mmio device exists. */
#define VIRTIO_IOAPIC_BASE UINT64_C(0xfec00000)
extern bool virtio_ioapic_mapped;

struct virtio_pci {
    volatile uint8_t *common;
    volatile uint8_t *notify;
    volatile uint8_t *device;
    uint32_t notify_len, device_len;
    uint32_t notify_mult;
    uint16_t notify_off[VIRTIO_PCI_MAX_QUEUES];
    /* MSI-X: entry 0 of the table (NULL: no MSI-X) and its control. */
    volatile uint8_t *msix_entry;
    uint8_t bus_dev, bus_fn, msix_cap;
    uint16_t queue_vector; /* written per queue: 0, or 0xffff (none) */
};

/* Probe the window of a virtio_mmio.device= entry, which the caller
 * mapped already. 0 and *dev filled; -ENOENT for an empty slot,
 * -ENOTSUP for a legacy device, -EIO for something else. */
int virtio_mmio_probe(struct virtio_mmio *m, uint64_t addr, uint64_t size,
                      uint32_t irq, struct virtio_dev *dev);

/* Scan PCI bus 0 through ports 0xcf8/0xcfc; each virtio 1.0 device is
 * mapped (boot_mmio_region) and added with `add`. */
void virtio_pci_scan(void (*add)(struct virtio_dev *dev));

#endif /* VIRTIO_TRANSPORT_H */
