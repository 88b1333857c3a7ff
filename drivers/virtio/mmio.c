/*
 * virtio-mmio, version 2 (virtio 1.x, 4.2.2). Version 1 (legacy, QEMU's
 * default up to 7.x) is refused: its queue layout and page-frame
 * registers are a second protocol, and QEMU offers version 2 with
 * -global virtio-mmio.force-legacy=false.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <virtio/virtio.h>

#include "transport.h"

#define MAGIC 0x000u
#define VERSION 0x004u
#define DEVICE_ID 0x008u
#define DEVICE_FEATURES 0x010u
#define DEVICE_FEATURES_SEL 0x014u
#define DRIVER_FEATURES 0x020u
#define DRIVER_FEATURES_SEL 0x024u
#define QUEUE_SEL 0x030u
#define QUEUE_NUM_MAX 0x034u
#define QUEUE_NUM 0x038u
#define QUEUE_READY 0x044u
#define QUEUE_NOTIFY 0x050u
#define INTERRUPT_STATUS 0x060u
#define INTERRUPT_ACK 0x064u
#define STATUS 0x070u
#define QUEUE_DESC_LOW 0x080u
#define QUEUE_DESC_HIGH 0x084u
#define QUEUE_DRIVER_LOW 0x090u
#define QUEUE_DRIVER_HIGH 0x094u
#define QUEUE_DEVICE_LOW 0x0a0u
#define QUEUE_DEVICE_HIGH 0x0a4u
#define CONFIG_GENERATION 0x0fcu
#define CONFIG 0x100u

#define MMIO_MAGIC 0x74726976u /* "virt" */

static struct virtio_mmio *mm(struct virtio_dev *d)
{
    return d->transport;
}

static uint32_t rd(struct virtio_mmio *m, uint32_t off)
{
    return *(volatile uint32_t *)(m->base + off);
}

static void wr(struct virtio_mmio *m, uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(m->base + off) = v;
}

static uint64_t device_features(struct virtio_dev *d)
{
    wr(mm(d), DEVICE_FEATURES_SEL, 1);
    uint64_t hi = rd(mm(d), DEVICE_FEATURES);
    wr(mm(d), DEVICE_FEATURES_SEL, 0);
    return hi << 32 | rd(mm(d), DEVICE_FEATURES);
}

static void set_features(struct virtio_dev *d, uint64_t f)
{
    wr(mm(d), DRIVER_FEATURES_SEL, 1);
    wr(mm(d), DRIVER_FEATURES, (uint32_t)(f >> 32));
    wr(mm(d), DRIVER_FEATURES_SEL, 0);
    wr(mm(d), DRIVER_FEATURES, (uint32_t)f);
}

static uint8_t get_status(struct virtio_dev *d)
{
    return (uint8_t)rd(mm(d), STATUS);
}

static void set_status(struct virtio_dev *d, uint8_t s)
{
    wr(mm(d), STATUS, s);
}

static uint32_t config_generation(struct virtio_dev *d)
{
    return rd(mm(d), CONFIG_GENERATION);
}

static uint8_t config_read8(struct virtio_dev *d, uint32_t off)
{
    struct virtio_mmio *m = mm(d);
    if (off >= VIRTIO_CONFIG_MAX || CONFIG + off >= m->size)
        return 0;
    return m->base[CONFIG + off];
}

static uint16_t queue_max(struct virtio_dev *d, uint16_t index)
{
    wr(mm(d), QUEUE_SEL, index);
    if (rd(mm(d), QUEUE_READY) != 0)
        return 0; /* in use already: not ours to set up */
    uint32_t n = rd(mm(d), QUEUE_NUM_MAX);
    return n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

static int queue_enable(struct virtio_dev *d, uint16_t index, uint16_t size,
                        uint64_t desc, uint64_t driver, uint64_t device)
{
    struct virtio_mmio *m = mm(d);
    wr(m, QUEUE_SEL, index);
    wr(m, QUEUE_NUM, size);
    wr(m, QUEUE_DESC_LOW, (uint32_t)desc);
    wr(m, QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(m, QUEUE_DRIVER_LOW, (uint32_t)driver);
    wr(m, QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
    wr(m, QUEUE_DEVICE_LOW, (uint32_t)device);
    wr(m, QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
    wr(m, QUEUE_READY, 1);
    return rd(m, QUEUE_READY) == 1 ? 0 : -EIO;
}

static void notify(struct virtio_dev *d, uint16_t index)
{
    wr(mm(d), QUEUE_NOTIFY, index);
}

/* I/O APIC (82093AA): an index register and a data window; redirection
 * entry n is registers 0x10 + 2n (low) and 0x11 + 2n (high). */
#define IOAPIC_INDEX 0x00u
#define IOAPIC_DATA 0x10u
#define IOAPIC_VERSION 0x01u
#define REDIR_LEVEL (1u << 15)
#define REDIR_MASKED (1u << 16)

bool virtio_ioapic_mapped;

static uint32_t ioapic_read(uint32_t reg)
{
    volatile uint32_t *base = (volatile uint32_t *)(uintptr_t)VIRTIO_IOAPIC_BASE;
    base[IOAPIC_INDEX / 4] = reg;
    return base[IOAPIC_DATA / 4];
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    volatile uint32_t *base = (volatile uint32_t *)(uintptr_t)VIRTIO_IOAPIC_BASE;
    base[IOAPIC_INDEX / 4] = reg;
    base[IOAPIC_DATA / 4] = v;
}

/* Route the device's input to `vector`: fixed delivery, physical
 * destination, active high, level-triggered (virtio-mmio holds its line
 * while InterruptStatus is non-zero). */
static int irq_enable(struct virtio_dev *d, uint8_t vector, uint32_t apic_id)
{
    struct virtio_mmio *m = mm(d);
    if (!virtio_ioapic_mapped || apic_id > 0xff)
        return -EIO;
    uint32_t inputs = ((ioapic_read(IOAPIC_VERSION) >> 16) & 0xffu) + 1;
    if (m->irq >= inputs)
        return -EIO;
    uint32_t reg = 0x10u + 2 * m->irq;
    ioapic_write(reg, REDIR_MASKED);
    ioapic_write(reg + 1, apic_id << 24);
    ioapic_write(reg, vector | REDIR_LEVEL);
    return 0;
}

static void irq_ack(struct virtio_dev *d)
{
    uint32_t status = rd(mm(d), INTERRUPT_STATUS);
    if (status != 0)
        wr(mm(d), INTERRUPT_ACK, status);
}

static const struct virtio_transport mmio_transport = {
    .device_features = device_features,
    .set_features = set_features,
    .get_status = get_status,
    .set_status = set_status,
    .config_generation = config_generation,
    .config_read8 = config_read8,
    .queue_max = queue_max,
    .queue_enable = queue_enable,
    .notify = notify,
    .irq_enable = irq_enable,
    .irq_ack = irq_ack,
};

int virtio_mmio_probe(struct virtio_mmio *m, uint64_t addr, uint64_t size,
                      uint32_t irq, struct virtio_dev *dev)
{
    m->irq = irq;
    if (size < CONFIG)
        return -EIO;
    m->base = (volatile uint8_t *)(uintptr_t)addr;
    m->size = size;
    if (rd(m, MAGIC) != MMIO_MAGIC)
        return -EIO;
    uint32_t version = rd(m, VERSION);
    uint32_t id = rd(m, DEVICE_ID);
    if (id == 0)
        return -ENOENT;
    if (version == 1)
        return -ENOTSUP;
    if (version != 2)
        return -EIO;
    dev->ops = &mmio_transport;
    dev->device_id = id;
    dev->transport = m;
    snprintf(dev->name, sizeof(dev->name), "virtio-mmio@0x%llx",
             (unsigned long long)addr);
    return 0;
}
