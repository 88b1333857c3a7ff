/*
 * Private to //libos/time: the state the image-side files share, and
 * the joints between them. The pure arithmetic lives in muldiv.h,
 * scale.h, calibrate.h, civil.h and hypervisor.h; Xen's pvclock and the
 * PV idle step in //libos/platform/xen.
 */
#ifndef TIME_INTERNAL_H
#define TIME_INTERNAL_H

#include <platform/xen/idle.h>
#include <stdbool.h>
#include <stdint.h>
#include <time/time.h>
#include <xenabi/shared_info.h>

#include "hypervisor.h"
#include "scale.h"

_Static_assert(TIME_NEVER == XENPLAT_IDLE_NEVER,
               "the PV idle takes time's deadlines as they are");

struct time_state {
    bool ready;
    bool initialising;
    struct time_info info;
    struct time_scale tsc_to_ns;
    struct time_scale ns_to_tsc;   /* TSC-deadline mode */
    struct time_scale ns_to_timer; /* one-shot mode: ns to APIC ticks */
    uint64_t tsc_epoch;            /* TSC at monotonic time 0 */
    uint64_t last_ns;              /* the largest time returned so far */
    /* Set by time_use_pvclock(): monotonic = pvclock - pvclock_offset. */
    const volatile struct xenabi_vcpu_time_info *pvclock;
    uint64_t pvclock_offset;
    int64_t wall_at_zero_ns;       /* wall clock at monotonic time 0 */
    struct xenplat_idle xen_idle; /* Xen PV: how the idle waits */
    uint64_t xen_armed;            /* Xen PV: the deadline armed, or 0 */
    struct time_stats stats;
};

/* clock.c */
extern struct time_state time_state;
_Noreturn void time_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* xen_pv.c: time_init() and the idle on Xen PV (no devices at all). */
void time_xen_pv_init(void);
void time_xen_pv_block_until(uint64_t deadline_ns, uint64_t now_ns);

/* tsc.c: the TSC's rate and where it came from; panics without one. */
uint64_t time_tsc_calibrate(const struct hypervisor_id *hv,
                            enum time_calibration *how);

/* pit.c: channel 0 of the i8254, free-running (mode 2, period 65536). */
bool time_pit_start(void); /* false: no PIT answers */
uint16_t time_pit_read(void);

/* rtc.c: the CMOS real-time clock. */
bool time_rtc_read(struct time_civil *out);
/* TSC at the next end of an RTC update cycle; false if none comes. */
bool time_rtc_next_update(uint64_t *tsc);

/* lapic.c: the local APIC, and its timer. */
void time_lapic_init(void);
bool time_lapic_x2apic(void);
bool time_lapic_has_tsc_deadline(void);
void time_lapic_eoi(void);
void time_lapic_timer_measure_start(void); /* masked, counting down from max */
uint32_t time_lapic_timer_current(void);
void time_lapic_timer_oneshot(uint32_t ticks);
void time_lapic_timer_tsc_deadline(uint64_t tsc);
void time_lapic_timer_stop(void);
#define LAPIC_TIMER_MAX_TICKS UINT32_MAX

/* timer.c: the wake-up timer, in nanoseconds. */
void time_timer_init(void);
void time_timer_arm(uint64_t deadline_ns, uint64_t now_ns);
void time_timer_disarm(void);

/* interrupt_entry.S: IDT entry points; they call the handlers below. */
void time_timer_entry(void);
void time_spurious_entry(void);

/* idle.c: interrupt handlers, called on the interrupted stack. */
void time_timer_interrupt(void);
void time_spurious_interrupt(void);

#endif /* TIME_INTERNAL_H */
