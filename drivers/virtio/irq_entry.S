/* The IDT entries of the virtio interrupt vectors (irq.c). */
#include <arch/interrupt_entry.h>

    interrupt_entry virtio_irq_entry0, virtio_irq_handler0
    interrupt_entry virtio_irq_entry1, virtio_irq_handler1
    interrupt_entry virtio_irq_entry2, virtio_irq_handler2
    interrupt_entry virtio_irq_entry3, virtio_irq_handler3

    .section .note.GNU-stack, "", @progbits
