/*
 * virtio/virtio.h - a virtio 1.x device, whatever transport carries it.
 *
 * A transport (virtio-mmio, virtio-pci, or a simulated device in host
 * tests) fills struct virtio_transport; a device driver (//drivers/
 * virtio_net) is written against struct virtio_dev only:
 *
 *     virtio_negotiate(dev, wanted, &features)  reset, ACKNOWLEDGE,
 *                                               DRIVER, features, FEATURES_OK
 *     virtq_setup(dev, &q, index, max_size, mem) for each queue (virtq.h)
 *     virtio_driver_ok(dev)                     DRIVER_OK: the device runs
 *
 * Only modern (virtio 1.0, VIRTIO_F_VERSION_1) devices are driven: a
 * legacy-only device is refused with -ENOTSUP (virtio-mmio version 1,
 * QEMU's default before 8.x: run QEMU with
 * -global virtio-mmio.force-legacy=false).
 *
 * The device is trusted less than it seems: every value read from it
 * (feature words, queue sizes, configuration bytes, used ring entries)
 * is checked before use, and no loop waits on it without a bound.
 *
 * Discovery (image only, //drivers/virtio:virtio): virtio_find() returns
 * the n-th device of a type found on virtio-mmio (the kernel command
 * line's virtio_mmio.device=<size>@<addr>:<irq> entries, as QEMU's
 * microvm and Firecracker write them) or on PCI bus 0 (virtio-pci with
 * the virtio 1.0 capabilities). The scan runs before the page tables are
 * sealed, so each device's registers are mapped uncached and
 * non-executable in the sealed tables (boot_mmio_region()).
 *
 * Interrupts (virtio_irq_attach), delivered to the boot CPU's local
 * APIC on one vector per device: on virtio-pci through MSI-X (one entry
 * for every queue), on virtio-mmio through the I/O APIC input the command
 * line names (level-triggered, acknowledged in the handler). A device
 * without them is polled (docs/networking.md says what each costs).
 *
 * Errors are negative errno values.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Device status bits (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Transport-independent feature bits. */
#define VIRTIO_RING_F_EVENT_IDX (UINT64_C(1) << 29) /* virtq.h */
#define VIRTIO_F_VERSION_1 (UINT64_C(1) << 32)

/* Device types (virtio 1.x, 5). */
#define VIRTIO_ID_NET 1u
#define VIRTIO_ID_BLOCK 2u

/* Bounds on what we accept from a device. */
#define VIRTIO_QUEUE_SIZE_MAX 256u /* queue entries we use at most */
#define VIRTIO_CONFIG_MAX 256u     /* device configuration bytes */

struct virtio_dev;

/* What a transport does; every function is bounded in time. */
struct virtio_transport {
    /* The 64 feature bits the device offers. */
    uint64_t (*device_features)(struct virtio_dev *dev);
    /* Write the 64 feature bits the driver accepts. */
    void (*set_features)(struct virtio_dev *dev, uint64_t features);
    uint8_t (*get_status)(struct virtio_dev *dev);
    void (*set_status)(struct virtio_dev *dev, uint8_t status);
    /* Changes whenever the configuration space changes. */
    uint32_t (*config_generation)(struct virtio_dev *dev);
    /* One byte of the device configuration (off < VIRTIO_CONFIG_MAX). */
    uint8_t (*config_read8)(struct virtio_dev *dev, uint32_t off);
    /* Largest size of queue `index`; 0 if there is no such queue. */
    uint16_t (*queue_max)(struct virtio_dev *dev, uint16_t index);
    /* Give the device queue `index` at these (guest-physical) addresses
     * and enable it. 0 or -EIO. */
    int (*queue_enable)(struct virtio_dev *dev, uint16_t index, uint16_t size,
                        uint64_t desc, uint64_t driver, uint64_t device);
    /* Tell the device that queue `index` has new buffers. */
    void (*notify)(struct virtio_dev *dev, uint16_t index);
    /* Optional (NULL: no interrupts): make every queue set up from now
     * on interrupt with `vector` at local APIC `apic_id`. 0 or -EIO. */
    int (*irq_enable)(struct virtio_dev *dev, uint8_t vector,
                      uint32_t apic_id);
    /* Optional: acknowledge the device's interrupt (in the handler,
     * before the end of interrupt), so a level-triggered line drops. */
    void (*irq_ack)(struct virtio_dev *dev);
};

struct virtio_dev {
    const struct virtio_transport *ops;
    uint32_t device_id;  /* VIRTIO_ID_* */
    char name[32];       /* "virtio-mmio@0xfeb00e00", "virtio-pci 00:03.0" */
    void *transport;     /* the transport's own state */
    uint64_t features;   /* negotiated (after virtio_negotiate) */
};

/*
 * Reset the device and negotiate: the result is offered & wanted, and
 * must contain VIRTIO_F_VERSION_1 and every bit of `required`.
 * -ENOTSUP if the device lacks a required feature (the device is then
 * marked FAILED), -EIO if it refuses FEATURES_OK or does not reset.
 */
int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted,
                     uint64_t required, uint64_t *out);

/* Set DRIVER_OK: the queues are set up and the device may use them. */
void virtio_driver_ok(struct virtio_dev *dev);

/* Mark the device FAILED (the driver gives up on it). */
void virtio_fail(struct virtio_dev *dev);

/* Reset the device (status 0): it forgets its queues. 0 or -EIO. */
int virtio_reset(struct virtio_dev *dev);

/*
 * Read `len` bytes of the device configuration from `off`, consistently:
 * retried until the generation does not change across the read (at most
 * a few times, then -EIO). -EINVAL if the range is outside
 * VIRTIO_CONFIG_MAX.
 */
int virtio_config_read(struct virtio_dev *dev, uint32_t off, void *buf,
                       size_t len);

/*
 * One virtio-mmio device from the kernel command line:
 * "virtio_mmio.device=<size>@<addr>:<irq>" (size with an optional K/M/G
 * suffix, addr in hex with 0x, or decimal, irq decimal), as QEMU and
 * Firecracker append it.
 */
struct virtio_mmio_desc {
    uint64_t addr;
    uint64_t size;
    uint32_t irq;
};

/*
 * Parse every virtio_mmio.device= word of `cmdline` into out[0..max).
 * Returns the number found (which may exceed max: only max are stored)
 * or -EINVAL for a malformed entry (*bad then points at it).
 */
int virtio_mmio_parse_cmdline(const char *cmdline,
                              struct virtio_mmio_desc *out, size_t max,
                              const char **bad);

/*
 * Image only: the `n`-th (from 0) device of type `device_id` that the
 * boot-time scan found on virtio-mmio and PCI, or NULL. Devices the
 * scan rejected are reported on the console once.
 */
struct virtio_dev *virtio_find(uint32_t device_id, unsigned n);

/* Image only: how many virtio devices the scan found and kept. */
size_t virtio_count(void);

/*
 * Image only: call fn(arg) from the interrupt handler whenever `dev`
 * interrupts (used buffers on any of its queues). Call after
 * virtio_negotiate and before the queues are set up. fn runs with
 * interrupts masked on the interrupted stack: it may only do what an
 * interrupt handler may (sched_wake_all). -ENOTSUP if the transport has
 * no interrupts (no MSI-X, or no I/O APIC mapped), -ENOSPC if
 * VIRTIO_IRQ_SLOTS devices have
 * one already, -EIO if the device refuses.
 */
#define VIRTIO_IRQ_SLOTS 4
#define VIRTIO_IRQ_VECTOR 0x60 /* ..0x63: one vector per device */
int virtio_irq_attach(struct virtio_dev *dev, void (*fn)(void *arg),
                      void *arg);

/*
 * What a virtio device driver (virtio_net, virtio_blk) needs from its
 * surroundings: the image's (virtio_image_env) or a host test's.
 */
struct virtio_env {
    /* `count` zeroed, page-aligned, contiguous pages that the device may
     * address (identity-mapped); NULL if none. */
    void *(*alloc_pages)(size_t count);
    uint64_t (*now_ns)(void);
    /* Sleep (letting other threads run) until the monotonic deadline. */
    void (*sleep_until)(uint64_t deadline_ns);
    /* Random bits (virtio_net: a MAC when the device offers none). */
    uint64_t (*random64)(void);
    /* Optional (NULL: poll). Arrange for the device's interrupts to end
     * irq_wait(*ctx, ...); 0, or a negative errno to poll instead. */
    int (*irq_attach)(struct virtio_dev *dev, void **ctx);
    /* Park until the device interrupts or the monotonic deadline. */
    void (*irq_wait)(void *ctx, uint64_t deadline_ns);
    /* Optional: interrupts the device behind ctx raised so far. */
    uint64_t (*irq_count)(void *ctx);
};

/*
 * Image only (//drivers/virtio:image_env): pages from //libos/mm (I/O
 * role), the monotonic clock, scheduler sleeps, boot entropy, and
 * interrupts that wake the waiting thread through a scheduler wait queue.
 */
const struct virtio_env *virtio_image_env(void);

/* Image only: interrupts taken on all virtio vectors since boot. */
uint64_t virtio_irq_count(void);

#endif /* VIRTIO_VIRTIO_H */
