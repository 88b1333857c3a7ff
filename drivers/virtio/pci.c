/*
 * virtio-pci, modern (virtio 1.x, 4.1): the device's registers are found
 * through vendor capabilities in PCI configuration space, read with the
 * legacy configuration mechanism (ports 0xcf8/0xcfc; QEMU pc and q35).
 * Bus 0 only: QEMU puts its devices there unless told otherwise.
 * Legacy-only devices (no capabilities) are skipped with a message.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <errno.h>
#include <stdio.h>
#include <virtio/virtio.h>

#include "transport.h"

#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc

#define PCI_VENDOR 0x00
#define PCI_DEVICE 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_CAP_PTR 0x34

#define CMD_MEMORY (1u << 1)
#define CMD_BUS_MASTER (1u << 2)
#define CMD_INTX_DISABLE (1u << 10) /* we poll; no stray line interrupts */
#define STATUS_CAP_LIST (1u << 4)

#define CAP_VENDOR 0x09
#define CAP_MSIX 0x11
#define MSIX_ENABLE (1u << 15)
#define MSIX_FUNCTION_MASK (1u << 14)
#define NO_VECTOR 0xffffu
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_DEVICE 4

#define VENDOR_VIRTIO 0x1af4

/* Common configuration (virtio 1.x, 4.1.4.3). */
#define C_DFSELECT 0
#define C_DF 4
#define C_GFSELECT 8
#define C_GF 12
#define C_MSIX_CONFIG 16
#define C_NUM_QUEUES 18
#define C_STATUS 20
#define C_GENERATION 21
#define C_Q_SELECT 22
#define C_Q_SIZE 24
#define C_Q_MSIX 26
#define C_Q_ENABLE 28
#define C_Q_NOTIFY_OFF 30
#define C_Q_DESC 32
#define C_Q_DRIVER 40
#define C_Q_DEVICE 48
#define COMMON_LEN 56u

static uint32_t cfg_addr(unsigned dev, unsigned fn, unsigned off)
{
    return 0x80000000u | dev << 11 | fn << 8 | (off & 0xfcu);
}

static uint32_t cfg32(unsigned dev, unsigned fn, unsigned off)
{
    outl(CONFIG_ADDRESS, cfg_addr(dev, fn, off));
    return inl(CONFIG_DATA);
}

static void cfg_w32(unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    outl(CONFIG_ADDRESS, cfg_addr(dev, fn, off));
    outl(CONFIG_DATA, v);
}

static uint16_t cfg16(unsigned dev, unsigned fn, unsigned off)
{
    return (uint16_t)(cfg32(dev, fn, off) >> ((off & 2) * 8));
}

static uint8_t cfg8(unsigned dev, unsigned fn, unsigned off)
{
    return (uint8_t)(cfg32(dev, fn, off) >> ((off & 3) * 8));
}

static void cfg_w16(unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
    uint32_t old = cfg32(dev, fn, off);
    unsigned shift = (off & 2) * 8;
    cfg_w32(dev, fn, off,
            (old & ~((uint32_t)0xffff << shift)) | (uint32_t)v << shift);
}

/* ---- the transport over the common configuration ---- */

static struct virtio_pci *pc(struct virtio_dev *d)
{
    return d->transport;
}

static uint8_t r8(volatile uint8_t *b, unsigned off)
{
    return b[off];
}
static uint16_t r16(volatile uint8_t *b, unsigned off)
{
    return *(volatile uint16_t *)(b + off);
}
static uint32_t r32(volatile uint8_t *b, unsigned off)
{
    return *(volatile uint32_t *)(b + off);
}
static void w8(volatile uint8_t *b, unsigned off, uint8_t v)
{
    b[off] = v;
}
static void w16(volatile uint8_t *b, unsigned off, uint16_t v)
{
    *(volatile uint16_t *)(b + off) = v;
}
static void w32(volatile uint8_t *b, unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(b + off) = v;
}
static void w64(volatile uint8_t *b, unsigned off, uint64_t v)
{
    w32(b, off, (uint32_t)v);
    w32(b, off + 4, (uint32_t)(v >> 32));
}

static uint64_t device_features(struct virtio_dev *d)
{
    volatile uint8_t *c = pc(d)->common;
    w32(c, C_DFSELECT, 1);
    uint64_t hi = r32(c, C_DF);
    w32(c, C_DFSELECT, 0);
    return hi << 32 | r32(c, C_DF);
}

static void set_features(struct virtio_dev *d, uint64_t f)
{
    volatile uint8_t *c = pc(d)->common;
    w32(c, C_GFSELECT, 1);
    w32(c, C_GF, (uint32_t)(f >> 32));
    w32(c, C_GFSELECT, 0);
    w32(c, C_GF, (uint32_t)f);
}

static uint8_t get_status(struct virtio_dev *d)
{
    return r8(pc(d)->common, C_STATUS);
}

static void set_status(struct virtio_dev *d, uint8_t s)
{
    w8(pc(d)->common, C_STATUS, s);
}

static uint32_t config_generation(struct virtio_dev *d)
{
    return r8(pc(d)->common, C_GENERATION);
}

static uint8_t config_read8(struct virtio_dev *d, uint32_t off)
{
    struct virtio_pci *p = pc(d);
    if (off >= VIRTIO_CONFIG_MAX || off >= p->device_len)
        return 0;
    return p->device[off];
}

static uint16_t queue_max(struct virtio_dev *d, uint16_t index)
{
    volatile uint8_t *c = pc(d)->common;
    if (index >= VIRTIO_PCI_MAX_QUEUES || index >= r16(c, C_NUM_QUEUES))
        return 0;
    w16(c, C_Q_SELECT, index);
    if (r16(c, C_Q_ENABLE) != 0)
        return 0;
    return r16(c, C_Q_SIZE);
}

static int queue_enable(struct virtio_dev *d, uint16_t index, uint16_t size,
                        uint64_t desc, uint64_t driver, uint64_t device)
{
    struct virtio_pci *p = pc(d);
    volatile uint8_t *c = p->common;
    if (index >= VIRTIO_PCI_MAX_QUEUES)
        return -EIO;
    w16(c, C_Q_SELECT, index);
    w16(c, C_Q_SIZE, size);
    w64(c, C_Q_DESC, desc);
    w64(c, C_Q_DRIVER, driver);
    w64(c, C_Q_DEVICE, device);
    uint16_t off = r16(c, C_Q_NOTIFY_OFF);
    /* The doorbell must lie inside the notify capability. */
    if ((uint64_t)off * p->notify_mult + 2 > p->notify_len)
        return -EIO;
    p->notify_off[index] = off;
    /* The device may refuse a vector (reads back NO_VECTOR). */
    w16(c, C_Q_MSIX, p->queue_vector);
    if (r16(c, C_Q_MSIX) != p->queue_vector)
        return -EIO;
    w16(c, C_Q_ENABLE, 1);
    return r16(c, C_Q_ENABLE) == 1 ? 0 : -EIO;
}

static void notify(struct virtio_dev *d, uint16_t index)
{
    struct virtio_pci *p = pc(d);
    if (index < VIRTIO_PCI_MAX_QUEUES)
        w16(p->notify, (unsigned)p->notify_off[index] * p->notify_mult,
            index);
}

/* MSI-X entry 0 -> `vector` at `apic_id` (SDM 10.11: the message
 * address names the destination, the data the vector, edge-triggered,
 * fixed delivery); every queue uses entry 0, configuration changes none. */
static int irq_enable(struct virtio_dev *d, uint8_t vector, uint32_t apic_id)
{
    struct virtio_pci *p = pc(d);
    if (p->msix_entry == NULL || apic_id > 0xff)
        return -EIO;
    w32(p->msix_entry, 0, 0xfee00000u | apic_id << 12);
    w32(p->msix_entry, 4, 0);
    w32(p->msix_entry, 8, vector);
    w32(p->msix_entry, 12, 0); /* unmasked */
    unsigned ctl = p->msix_cap + 2u;
    uint16_t v = cfg16(p->bus_dev, p->bus_fn, ctl);
    cfg_w16(p->bus_dev, p->bus_fn, ctl,
            (uint16_t)((v | MSIX_ENABLE) & ~MSIX_FUNCTION_MASK));
    w16(p->common, C_MSIX_CONFIG, NO_VECTOR);
    p->queue_vector = 0;
    return 0;
}

static const struct virtio_transport pci_transport = {
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
};

/* ---- discovery ---- */

struct bar {
    uint64_t addr, size;
    bool mapped;
};

/* Address and size of memory BAR `i` (size by the all-ones probe, with
 * decoding off); size 0 if it is no usable memory BAR. */
static struct bar read_bar(unsigned dev, unsigned fn, unsigned i)
{
    struct bar b = {0};
    unsigned off = PCI_BAR0 + 4 * i;
    uint32_t lo = cfg32(dev, fn, off);
    if (lo & 1)
        return b; /* I/O space */
    bool is64 = ((lo >> 1) & 3) == 2;
    if (is64 && i == 5)
        return b;
    uint32_t hi = is64 ? cfg32(dev, fn, off + 4) : 0;

    uint16_t cmd = cfg16(dev, fn, PCI_COMMAND);
    cfg_w16(dev, fn, PCI_COMMAND, (uint16_t)(cmd & ~CMD_MEMORY));
    cfg_w32(dev, fn, off, 0xffffffffu);
    uint64_t mask = cfg32(dev, fn, off) & ~0xfu;
    cfg_w32(dev, fn, off, lo);
    if (is64) {
        cfg_w32(dev, fn, off + 4, 0xffffffffu);
        mask |= (uint64_t)cfg32(dev, fn, off + 4) << 32;
        cfg_w32(dev, fn, off + 4, hi);
    } else {
        mask |= UINT64_C(0xffffffff00000000);
    }
    cfg_w16(dev, fn, PCI_COMMAND, cmd);
    if (mask == 0 || mask == UINT64_C(0xffffffff00000000))
        return b;
    b.addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
    b.size = ~mask + 1;
    return b;
}

struct cap {
    bool found;
    uint8_t bar;
    uint32_t offset, length;
    uint32_t mult;
};

static void add_pci(unsigned dev, unsigned fn, uint32_t type,
                    void (*add)(struct virtio_dev *))
{
    static struct virtio_pci pcis[VIRTIO_MAX_DEVICES];
    static struct virtio_dev devs[VIRTIO_MAX_DEVICES];
    static size_t used;
    char where[24];
    snprintf(where, sizeof(where), "virtio-pci 00:%02x.%u", dev, fn);

    if (!(cfg16(dev, fn, PCI_STATUS) & STATUS_CAP_LIST)) {
        printf("[virtio] %s: legacy device (no capabilities), skipped\n",
               where);
        return;
    }
    struct cap caps[5] = {0};
    uint8_t msix = 0;
    unsigned ptr = cfg8(dev, fn, PCI_CAP_PTR) & 0xfcu;
    for (unsigned hops = 0; ptr >= 0x40 && hops < 48; hops++) {
        if (cfg8(dev, fn, ptr) == CAP_MSIX && msix == 0)
            msix = (uint8_t)ptr;
        if (cfg8(dev, fn, ptr) == CAP_VENDOR) {
            uint8_t t = cfg8(dev, fn, ptr + 3);
            if (t < 5 && !caps[t].found) {
                caps[t] = (struct cap){
                    .found = true,
                    .bar = cfg8(dev, fn, ptr + 4),
                    .offset = cfg32(dev, fn, ptr + 8),
                    .length = cfg32(dev, fn, ptr + 12),
                    .mult = t == CFG_NOTIFY ? cfg32(dev, fn, ptr + 16) : 0,
                };
            }
        }
        ptr = cfg8(dev, fn, ptr + 1) & 0xfcu;
    }
    if (!caps[CFG_COMMON].found || !caps[CFG_NOTIFY].found
        || !caps[CFG_DEVICE].found) {
        printf("[virtio] %s: no virtio 1.0 capabilities, skipped\n", where);
        return;
    }
    if (used == VIRTIO_MAX_DEVICES) {
        printf("[virtio] %s: more than %u devices, skipped\n", where,
               VIRTIO_MAX_DEVICES);
        return;
    }

    struct bar bars[6] = {0};
    volatile uint8_t *base[5] = {0};
    static const unsigned need[] = {CFG_COMMON, CFG_NOTIFY, CFG_DEVICE};
    for (unsigned k = 0; k < 3; k++) {
        struct cap *c = &caps[need[k]];
        if (c->bar > 5) {
            printf("[virtio] %s: capability in BAR %u, skipped\n", where,
                   c->bar);
            return;
        }
        struct bar *b = &bars[c->bar];
        if (b->size == 0)
            *b = read_bar(dev, fn, c->bar);
        uint64_t min_len = need[k] == CFG_COMMON ? COMMON_LEN : 1;
        if (b->size == 0 || b->addr == 0 || c->length < min_len
            || c->offset > b->size || c->length > b->size - c->offset) {
            printf("[virtio] %s: BAR %u does not hold its capability, "
                   "skipped\n", where, c->bar);
            return;
        }
        if (b->addr + b->size > (UINT64_C(4) << 30)) {
            printf("[virtio] %s: BAR %u at 0x%llx is above 4 GiB, which "
                   "the image does not map; skipped\n",
                   where, c->bar, (unsigned long long)b->addr);
            return;
        }
        if (!b->mapped) {
            if (boot_mmio_region(b->addr, b->size, "virtio-pci registers")
                != 0) {
                printf("[virtio] %s: cannot map BAR %u (0x%llx, %llu "
                       "bytes), skipped\n", where, c->bar,
                       (unsigned long long)b->addr,
                       (unsigned long long)b->size);
                return;
            }
            b->mapped = true;
        }
        base[need[k]] = (volatile uint8_t *)(uintptr_t)(b->addr + c->offset);
    }

    struct virtio_pci *p = &pcis[used];
    struct virtio_dev *d = &devs[used];
    used++;
    p->queue_vector = NO_VECTOR;
    p->bus_dev = (uint8_t)dev;
    p->bus_fn = (uint8_t)fn;
    if (msix != 0) {
        /* The table's first entry must lie in a memory BAR we can map;
         * otherwise the device is driven without interrupts. */
        uint32_t t = cfg32(dev, fn, msix + 4u);
        unsigned bir = t & 7u;
        uint64_t off = t & ~7u;
        if (bir <= 5 && bars[bir].size == 0)
            bars[bir] = read_bar(dev, fn, bir);
        struct bar *b = bir <= 5 ? &bars[bir] : NULL;
        if (b != NULL && b->size >= 16 && b->addr != 0 && off <= b->size - 16
            && b->addr + b->size <= (UINT64_C(4) << 30)
            && (b->mapped
                || boot_mmio_region(b->addr, b->size, "virtio-pci MSI-X table")
                       == 0)) {
            b->mapped = true;
            p->msix_entry = (volatile uint8_t *)(uintptr_t)(b->addr + off);
            p->msix_cap = msix;
        }
    }
    p->common = base[CFG_COMMON];
    p->notify = base[CFG_NOTIFY];
    p->device = base[CFG_DEVICE];
    p->notify_len = caps[CFG_NOTIFY].length;
    p->notify_mult = caps[CFG_NOTIFY].mult;
    p->device_len = caps[CFG_DEVICE].length;
    d->ops = &pci_transport;
    d->device_id = type;
    d->transport = p;
    snprintf(d->name, sizeof(d->name), "%s", where);

    uint16_t cmd = cfg16(dev, fn, PCI_COMMAND);
    cfg_w16(dev, fn, PCI_COMMAND,
            (uint16_t)(cmd | CMD_MEMORY | CMD_BUS_MASTER | CMD_INTX_DISABLE));
    add(d);
}

void virtio_pci_scan(void (*add)(struct virtio_dev *dev))
{
    for (unsigned dev = 0; dev < 32; dev++) {
        unsigned fns = 1;
        for (unsigned fn = 0; fn < fns; fn++) {
            uint16_t vendor = cfg16(dev, fn, PCI_VENDOR);
            if (vendor == 0xffff || vendor == 0)
                continue;
            if (fn == 0 && (cfg8(dev, fn, PCI_HEADER_TYPE) & 0x80))
                fns = 8;
            if (vendor != VENDOR_VIRTIO)
                continue;
            uint16_t id = cfg16(dev, fn, PCI_DEVICE);
            uint32_t type;
            if (id >= 0x1040 && id <= 0x107f)
                type = id - 0x1040u;
            else if (id >= 0x1000 && id <= 0x103f) /* transitional */
                type = cfg16(dev, fn, PCI_SUBSYSTEM_ID);
            else
                continue;
            add_pci(dev, fn, type, add);
        }
    }
}
