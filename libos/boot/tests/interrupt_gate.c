/*
 * boot_set_interrupt_gate() and the sealed IDT: a gate installed before
 * the seal works after it, asking for it again changes nothing, and a gate
 * asked for after the seal ends the boot with a report.
 */
#include <boot/boot.h>
#include <stdint.h>
#include <stdio.h>

#define EARLY_VECTOR 0x70
#define LATE_VECTOR 0x71

/* Counted by the gate's entry below. */
__attribute__((used)) static volatile uint64_t gate_hits;

/* An interrupt entry: count, return (it touches no register). */
void test_gate_entry(void);
void test_other_entry(void);
__asm__(".pushsection .text.test_gate_entry, \"ax\", @progbits\n"
        ".globl test_gate_entry, test_other_entry\n"
        "test_gate_entry:\n"
        "    lock incq gate_hits(%rip)\n"
        "    iretq\n"
        "test_other_entry:\n"
        "    iretq\n"
        ".popsection\n");

static int installed = -2;

static void install_early(void)
{
    installed = boot_set_interrupt_gate(EARLY_VECTOR, test_gate_entry);
}
BOOT_INIT(install_early, BOOT_INIT_ORDER_INTERRUPTS);

int main(void)
{
    if (installed != 0) {
        printf("FAILED: the early install returned %d\n", installed);
        return 1;
    }
    for (int i = 0; i < 3; i++)
        __asm__ volatile("int $0x70" ::: "memory");
    printf("gate installed before the seal taken %llu times\n",
           (unsigned long long)gate_hits);

    int same = boot_set_interrupt_gate(EARLY_VECTOR, test_gate_entry);
    int other = boot_set_interrupt_gate(EARLY_VECTOR, test_other_entry);
    int low = boot_set_interrupt_gate(31, test_gate_entry);
    int high = boot_set_interrupt_gate(256, test_gate_entry);
    int null = boot_set_interrupt_gate(LATE_VECTOR, NULL);
    printf("after the seal: same gate %d, another entry %d, vector 31 %d, "
           "vector 256 %d, NULL %d\n",
           same, other, low, high, null);

    /* Must not return: the IDT is read-only now. */
    int late = boot_set_interrupt_gate(LATE_VECTOR, test_gate_entry);
    printf("survived a late install (%d)\n", late);
    return 0;
}
