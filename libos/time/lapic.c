/*
 * The local APIC: just enough of it for a wake-up timer (Intel SDM
 * vol. 3, chapter 11 "Advanced Programmable Interrupt Controller").
 *
 * Registers are reached through the xAPIC's 4 KiB MMIO page (its address
 * in IA32_APIC_BASE, 0xfee00000 by default, inside the boot code's
 * identity map) or, if something already switched the APIC to x2APIC
 * mode (a hypervisor may start a vcpu that way), through MSRs 0x800 +
 * offset / 16. The identity map is write-back cacheable; that is fine
 * for the virtual APICs this image runs on (QEMU and Xen intercept the
 * page), but bare metal would want the page mapped uncached.
 */
#include <arch/x86.h>
#include <stdint.h>

#include "time_internal.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10) /* EXTD: registers are MSRs */
#define APIC_BASE_ENABLE (1u << 11) /* global enable */
#define APIC_BASE_ADDRESS_MASK UINT64_C(0x000ffffffffff000)
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800

/* Register offsets in the xAPIC page (SDM vol. 3, table 11-1). */
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0

#define SVR_SOFTWARE_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_ONESHOT (0u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
/*
 * Divide the timer's input clock by 16: QEMU's 1 GHz becomes 62.5 MHz
 * (a 32-bit count then lasts 68 s) and Xen's 100 MHz becomes 6.25 MHz;
 * both still resolve well under a microsecond.
 */
#define TIMER_DIVIDE_BY_16 0x3

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

static volatile uint32_t *mmio;
static bool x2apic;

static uint32_t apic_read(uint32_t reg)
{
    if (x2apic)
        return (uint32_t)rdmsr(MSR_X2APIC_FIRST + reg / 16);
    return mmio[reg / 4];
}

static void apic_write(uint32_t reg, uint32_t value)
{
    if (x2apic)
        wrmsr(MSR_X2APIC_FIRST + reg / 16, value);
    else
        mmio[reg / 4] = value;
}

void time_lapic_init(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);

    if (!(base & APIC_BASE_ENABLE)) {
        base |= APIC_BASE_ENABLE;
        wrmsr(MSR_APIC_BASE, base);
    }
    x2apic = (base & APIC_BASE_X2APIC) != 0;
    if (!x2apic) {
        uint64_t paddr = base & APIC_BASE_ADDRESS_MASK;

        if (paddr >= (UINT64_C(4) << 30))
            time_panic("the local APIC at %#llx is outside the identity "
                       "map",
                       (unsigned long long)paddr);
        mmio = (volatile uint32_t *)(uintptr_t)paddr;
    }

    /*
     * LINT0 is where a legacy 8259 PIC delivers (ExtINT). Firmware can
     * leave the PIC running with its timer tick routed at vectors that
     * now hold exception handlers (SeaBIOS on -M pc: IRQ0 -> vector 8,
     * "double fault"); masking LINT0 silences all of it at once.
     */
    apic_write(APIC_LVT_LINT0, apic_read(APIC_LVT_LINT0) | LVT_MASKED);
    apic_write(APIC_LVT_TIMER, LVT_MASKED | TIME_TIMER_VECTOR);
    apic_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    apic_write(APIC_TPR, 0); /* accept every vector */
    apic_write(APIC_SVR, SVR_SOFTWARE_ENABLE | TIME_SPURIOUS_VECTOR);
}

bool time_lapic_x2apic(void)
{
    return x2apic;
}

bool time_lapic_has_tsc_deadline(void)
{
    return (cpuid(1, 0).ecx & CPUID_1_ECX_TSC_DEADLINE) != 0;
}

void time_lapic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

void time_lapic_timer_measure_start(void)
{
    apic_write(APIC_LVT_TIMER,
               LVT_MASKED | LVT_TIMER_ONESHOT | TIME_TIMER_VECTOR);
    apic_write(APIC_TIMER_INITIAL, LAPIC_TIMER_MAX_TICKS);
}

uint32_t time_lapic_timer_current(void)
{
    return apic_read(APIC_TIMER_CURRENT);
}

void time_lapic_timer_oneshot(uint32_t ticks)
{
    apic_write(APIC_LVT_TIMER, LVT_TIMER_ONESHOT | TIME_TIMER_VECTOR);
    apic_write(APIC_TIMER_INITIAL, ticks); /* writing starts the count */
}

void time_lapic_timer_tsc_deadline(uint64_t tsc)
{
    apic_write(APIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | TIME_TIMER_VECTOR);
    /*
     * The SDM asks for the LVT write to reach the APIC before the MSR
     * write that arms the deadline (an MMIO store can still be in the
     * store buffer when WRMSR executes).
     */
    __asm__ volatile("mfence" : : : "memory");
    wrmsr(MSR_TSC_DEADLINE, tsc);
}

void time_lapic_timer_stop(void)
{
    if (time_state.info.timer_mode == TIME_TIMER_LAPIC_TSC_DEADLINE)
        wrmsr(MSR_TSC_DEADLINE, 0);
    else
        apic_write(APIC_TIMER_INITIAL, 0);
}
