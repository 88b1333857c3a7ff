/*
 * Device interrupts: one IDT vector per device (VIRTIO_IRQ_VECTOR + slot),
 * whose handler calls the driver's function and ends the interrupt at the
 * local APIC. The boot CPU's local APIC is the destination (one vcpu).
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <errno.h>
#include <stdint.h>
#include <virtio/virtio.h>

#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_X2APIC (UINT64_C(1) << 10)
#define X2APIC_ID 0x802u
#define X2APIC_EOI 0x80bu
#define XAPIC_ID 0x020u
#define XAPIC_EOI 0x0b0u

static struct {
    struct virtio_dev *dev;
    void (*fn)(void *);
    void *arg;
} slots[VIRTIO_IRQ_SLOTS];
static unsigned used;
static uint64_t taken;

static bool x2apic(void)
{
    return (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) != 0;
}

/* The xAPIC page (its base from the MSR), inside the first 4 GiB that
 * the sealed tables map. */
static volatile uint32_t *xapic_reg(uint32_t off)
{
    uint64_t base = rdmsr(MSR_APIC_BASE) & ~(uint64_t)0xfff;
    return (volatile uint32_t *)(uintptr_t)(base + off);
}

static uint32_t apic_id(void)
{
    if (x2apic())
        return (uint32_t)rdmsr(X2APIC_ID);
    return *xapic_reg(XAPIC_ID) >> 24;
}

static void eoi(void)
{
    if (x2apic())
        wrmsr(X2APIC_EOI, 0);
    else
        *xapic_reg(XAPIC_EOI) = 0;
}

static void dispatch(unsigned slot)
{
    taken++;
    if (slots[slot].fn != NULL) {
        /* A level-triggered line must drop before the end of interrupt,
         * or it fires again at once. */
        if (slots[slot].dev->ops->irq_ack != NULL)
            slots[slot].dev->ops->irq_ack(slots[slot].dev);
        slots[slot].fn(slots[slot].arg);
    }
    eoi();
}

/* Called from irq_entry.S. */
void virtio_irq_handler0(void);
void virtio_irq_handler1(void);
void virtio_irq_handler2(void);
void virtio_irq_handler3(void);
void virtio_irq_handler0(void) { dispatch(0); }
void virtio_irq_handler1(void) { dispatch(1); }
void virtio_irq_handler2(void) { dispatch(2); }
void virtio_irq_handler3(void) { dispatch(3); }

extern void virtio_irq_entry0(void), virtio_irq_entry1(void),
    virtio_irq_entry2(void), virtio_irq_entry3(void);
static void (*const entries[VIRTIO_IRQ_SLOTS])(void) = {
    virtio_irq_entry0, virtio_irq_entry1, virtio_irq_entry2,
    virtio_irq_entry3};

int virtio_irq_attach(struct virtio_dev *dev, void (*fn)(void *arg),
                      void *arg)
{
    if (dev->ops->irq_enable == NULL)
        return -ENOTSUP;
    if (used == VIRTIO_IRQ_SLOTS)
        return -ENOSPC;
    unsigned slot = used;
    unsigned vector = VIRTIO_IRQ_VECTOR + slot;
    slots[slot].dev = dev;
    slots[slot].fn = fn;
    slots[slot].arg = arg;
    if (boot_set_interrupt_gate(vector, entries[slot]) != 0
        || dev->ops->irq_enable(dev, (uint8_t)vector, apic_id()) != 0) {
        slots[slot].fn = NULL;
        return -EIO;
    }
    used++;
    return 0;
}

uint64_t virtio_irq_count(void)
{
    return taken;
}
