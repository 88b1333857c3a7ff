/*
 * Halting the CPU until a deadline, and the interrupts that end a halt.
 */
#include <arch/x86.h>
#include <platform/xen/pvclock.h>
#include <platform/xen/xen.h>
#include <time/time.h>

#include "time_internal.h"

/*
 * "sti; hlt" is the one sequence that cannot lose a wake-up: STI takes
 * effect only after the next instruction, so an interrupt already
 * pending (the timer fired while we were arming it) is taken after HLT
 * has started and ends it at once. The "cli" right after restores the
 * masked state the rest of the image runs in. Under Xen (PVH), HLT with
 * interrupts enabled exits to the hypervisor, which blocks the vcpu as
 * SCHEDOP_block would (hvm_hlt() in Xen); an explicit SCHEDOP_block
 * hypercall from a PVH guest would reopen the window between STI and
 * the hypercall, which is why this stays HLT on Xen too.
 */
static void halt_until_interrupt(void)
{
    __asm__ volatile("sti; hlt; cli" : : : "memory");
}

void time_block_until(uint64_t deadline_ns)
{
    struct time_state *s = &time_state;
    uint64_t now = time_monotonic_ns();

    if (deadline_ns <= now)
        return;
    if (s->info.xen_pv) {
        /* No HLT in ring 3: Xen blocks the vcpu (xen_pv.c,
         * <platform/xen/idle.h>). */
        s->stats.blocks++;
        time_xen_pv_block_until(deadline_ns, now);
        s->stats.idle_ns += time_monotonic_ns() - now;
        return;
    }
    if (deadline_ns == TIME_NEVER)
        time_timer_disarm();
    else
        time_timer_arm(deadline_ns, now);
    s->stats.blocks++;
    halt_until_interrupt();
    s->stats.idle_ns += time_monotonic_ns() - now;
}

void time_sleep_ns(uint64_t ns)
{
    uint64_t now = time_monotonic_ns();
    uint64_t deadline = ns > TIME_NEVER - 1 - now ? TIME_NEVER - 1 : now + ns;

    while (time_monotonic_ns() < deadline)
        time_block_until(deadline);
}

void time_get_stats(struct time_stats *out)
{
    *out = time_state.stats;
    out->pvclock_behind = xenplat_pvclock_behind;
    out->pvclock_behind_max_ticks = xenplat_pvclock_behind_max;
}

void time_timer_interrupt(void)
{
    time_state.stats.timer_interrupts++;
    time_lapic_eoi();
}

void time_spurious_interrupt(void)
{
    /* A spurious APIC interrupt is not in service: no EOI (SDM 11.9). */
    time_state.stats.spurious_interrupts++;
}
