/*
 * time/time.h - clocks, sleeping, and the timer that wakes an idle CPU.
 *
 * Clocks
 *
 *   monotonic  nanoseconds since time_init(); never goes backwards and is
 *              never adjusted. Today it is the CPU's time-stamp counter
 *              (TSC) scaled by a calibrated frequency; on Xen, once the
 *              Xen layer maps shared_info and calls time_use_pvclock(),
 *              it is Xen's per-vcpu clock (the "pvclock"), continuing
 *              from where the TSC clock left off (images that start
 *              //libos/xen/evtchn_sched do this on Xen).
 *   wall       nanoseconds since the Unix epoch (UTC), where the machine
 *              has a clock to read: the CMOS real-time clock under QEMU
 *              (microvm, pc and q35 all have one, unless started with
 *              rtc=off), read once at time_init() with a resolution of
 *              one second, then advanced by the monotonic clock; on Xen,
 *              Xen's wall clock in the shared info page (wc_*, the UTC
 *              time at system time 0, plus the pvclock): from
 *              time_init() on PV, and on PVH once the Xen layer hands
 *              the page over (time_use_xen_wallclock; a PVH domain has
 *              no CMOS RTC).
 *
 * Calibration: the TSC frequency is taken, in this order, from Xen's
 * CPUID time leaf, CPUID leaf 0x15 (TSC/crystal ratio with a known
 * crystal), CPUID leaf 0x16 (nominal base frequency), or measured against
 * the i8254 PIT (3 windows of 20 ms, median), or failing all of those
 * against the CMOS RTC's once-a-second update (about 2 s). Without any
 * of them time_init() stops the image with a message saying so. QEMU's
 * TCG reports no leaf 0x15/0x16, so under QEMU the PIT is used.
 *
 * The wake-up timer is the local APIC timer: in TSC-deadline mode if
 * CPUID says the CPU has it, else one-shot, its rate measured against
 * the TSC. Its interrupt does nothing but wake the CPU: whoever halted
 * looks at the clock when it returns.
 *
 * Interrupts: the library OS runs with interrupts masked. They are
 * unmasked only inside time_block_until(), for as long as the CPU is
 * halted ("sti; hlt" takes a pending interrupt after the hlt, so no
 * wake-up is lost between arming the timer and halting). Interrupt
 * handlers therefore run only while the CPU idles. On Xen (PVH) HLT with
 * interrupts enabled is how a guest blocks: Xen turns it into
 * SCHEDOP_block, and the vcpu wakes for the timer or for Xen's event
 * channel upcall vector (<platform/xen/xen.h>, registered by
 * //libos/xen/evtchn_sched). Xen emulates the local APIC and its timer
 * for PVH guests, so the same wake-up timer serves there. time_init() masks LINT0 of the local APIC, which keeps
 * a legacy 8259 PIC left running by firmware (SeaBIOS on -M pc) from
 * delivering its timer tick into the exception vectors.
 *
 * Xen PV (xenplat_mode() == XENPLAT_PV, <platform/xen/xen.h>): none of
 * the devices above exists for a guest in ring 3 (port I/O, the local
 * APIC, STI/CLI/HLT all fault), and time_init() touches none of them. The
 * monotonic clock is the pvclock from the start (the shared info page the
 * PV boot path mapped, xenplat_pv_shared_info()), the TSC frequency comes
 * from the pvclock's scale ("xen-pvclock"), the wall clock from shared
 * info. The wake-up timer is Xen's single-shot timer
 * (VCPUOP_set_singleshot_timer), whose VIRQ_TIMER time_init() binds to
 * an event channel port of its own (time_xen_timer_port; the periodic
 * timer Xen starts PV vcpus with is stopped). "Interrupts" are event
 * upcalls, masked by vcpu_info's evtchn_upcall_mask; the idle waits
 * either by SCHEDOP_poll on the timer's port alone (events stay masked:
 * before anyone handles the upcall) or, once the Xen layer has set up
 * the upcall and a handler for the timer's port and said so
 * (time_xen_idle_on_events), by SCHEDOP_block, which unmasks delivery
 * itself, returns at once if an event is already pending, and is
 * followed by masking again. <platform/xen/idle.h> has the details.
 *
 * Everything here initialises itself on first use; calling time_init()
 * explicitly only moves the calibration delay to a moment of the
 * caller's choosing. With the PIT that delay is about 100 ms on a quiet
 * host and at most about 0.6 s on one so busy that most measurement
 * windows are disturbed; with the RTC, about 2 s.
 */
#ifndef TIME_TIME_H
#define TIME_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define TIME_NS_PER_US UINT64_C(1000)
#define TIME_NS_PER_MS UINT64_C(1000000)
#define TIME_NS_PER_S UINT64_C(1000000000)

/* A deadline that never comes: time_block_until(TIME_NEVER) waits for
 * any interrupt. */
#define TIME_NEVER UINT64_MAX

/*
 * Find the hypervisor, calibrate the TSC and the APIC timer, read the
 * wall clock, and install the timer's interrupt gates (vectors
 * TIME_TIMER_VECTOR and TIME_SPURIOUS_VECTOR). Runs once; later calls
 * return at once. Must be called with interrupts masked.
 */
void time_init(void);

/* The interrupt vectors time_init() takes for itself. */
#define TIME_TIMER_VECTOR 0xef
#define TIME_SPURIOUS_VECTOR 0xff /* the APIC's; its low 4 bits must be 1 */

/* Nanoseconds since time_init(). Never smaller than an earlier result. */
uint64_t time_monotonic_ns(void);

/*
 * Nanoseconds since 1970-01-01T00:00:00Z in *ns, and true; or false
 * (and *ns untouched) if the machine has no wall clock we can read.
 */
bool time_wall_ns(int64_t *ns);

/* A broken-down UTC time, proleptic Gregorian calendar. */
struct time_civil {
    int32_t year;   /* e.g. 2026 */
    uint8_t month;  /* 1-12 */
    uint8_t day;    /* 1-31 */
    uint8_t hour;   /* 0-23 */
    uint8_t minute; /* 0-59 */
    uint8_t second; /* 0-59: no leap seconds */
};

/* Seconds since the Unix epoch to a civil date and time (UTC). */
void time_civil_from_unix(int64_t seconds, struct time_civil *out);

/* A civil time (UTC) to seconds since the Unix epoch. */
int64_t time_unix_from_civil(const struct time_civil *civil);

/*
 * Halt the CPU until deadline_ns (monotonic), or earlier if any interrupt
 * arrives: the caller re-checks whatever it is waiting for and calls
 * again. Returns at once if the deadline has passed. TIME_NEVER halts
 * until an interrupt (with no interrupt source, forever). This is the
 * idle primitive the scheduler (//libos/sched) uses. Call and return
 * with interrupts masked.
 */
void time_block_until(uint64_t deadline_ns);

/*
 * Sleep for at least `ns` nanoseconds by halting the whole CPU (and so
 * every thread). A program that uses //libos/sched wants sched_sleep_ns()
 * instead, which lets other threads run meanwhile.
 */
void time_sleep_ns(uint64_t ns);

/* Where the TSC frequency came from. */
enum time_calibration {
    TIME_CALIBRATION_XEN_CPUID = 1, /* Xen's CPUID time leaf (kHz) */
    TIME_CALIBRATION_CPUID_15,      /* CPUID 0x15: crystal x ratio */
    TIME_CALIBRATION_CPUID_16,      /* CPUID 0x16: nominal base MHz */
    TIME_CALIBRATION_PIT,           /* measured against the i8254 */
    TIME_CALIBRATION_RTC,           /* measured against the CMOS RTC */
    TIME_CALIBRATION_XEN_PVCLOCK,   /* Xen PV: the pvclock's scale */
};

/* How the wake-up timer is programmed. */
enum time_timer_mode {
    TIME_TIMER_LAPIC_ONESHOT = 1,   /* count down at timer_hz */
    TIME_TIMER_LAPIC_TSC_DEADLINE,  /* fire when the TSC passes a value */
    TIME_TIMER_XEN_SINGLESHOT,      /* Xen PV: VIRQ_TIMER at a system time */
};

/* What time_init() found; for diagnostics and tests. */
struct time_info {
    char hypervisor[13];    /* CPUID 0x40000000 signature, "" on bare metal */
    bool xen;               /* Xen's signature found at xen_cpuid_base */
    uint32_t xen_cpuid_base;
    uint64_t tsc_hz;
    enum time_calibration calibration;
    enum time_timer_mode timer_mode;
    uint64_t timer_hz;      /* APIC timer ticks per second (one-shot mode) */
    bool x2apic;            /* APIC accessed through MSRs, not MMIO */
    bool wall_clock;        /* there is a wall clock */
    bool wall_clock_xen;    /* ... and it is Xen's (shared info), not the RTC */
    bool pvclock;           /* the monotonic clock is Xen's pvclock */
    bool xen_pv;            /* booted as a Xen PV guest */
    uint32_t timer_port;    /* Xen PV: VIRQ_TIMER's event channel port */
    bool idle_on_events;    /* Xen PV: idle by SCHEDOP_block, not poll */
    uint64_t calibration_ns; /* time time_init() spent measuring */
};

/* Valid after time_init() (and calls it). */
const struct time_info *time_get_info(void);

/* "xen-cpuid", "cpuid-0x15", "cpuid-0x16", "pit", "rtc", "xen-pvclock". */
const char *time_calibration_name(enum time_calibration c);

/* "lapic-oneshot", "lapic-tsc-deadline", "xen-singleshot". */
const char *time_timer_mode_name(enum time_timer_mode m);

/* Counters of the idle path since time_init(). */
struct time_stats {
    uint64_t blocks;           /* halts entered by time_block_until() */
    uint64_t timer_interrupts; /* wake-up timer interrupts (PV: events) */
    uint64_t spurious_interrupts;
    uint64_t timer_past;       /* Xen PV: deadlines Xen's clock had passed */
    uint64_t timer_early;      /* Xen PV: timer events before the deadline */
    uint64_t timer_early_max_ns; /* ... by this much at most */
    uint64_t pvclock_behind;   /* pvclock reads with the TSC below the stamp */
    uint64_t pvclock_behind_max_ticks;
    uint64_t idle_ns;          /* monotonic time spent halted */
};

void time_get_stats(struct time_stats *out);

/*
 * Print what time_init() found, one "[time] ..." line per fact: the
 * hypervisor, the TSC frequency and its source, the timer, the wall
 * clock as an ISO 8601 UTC time.
 */
void time_print_info(void);

/*
 * For the Xen layer (evtchn_sched_init in //libos/xen/evtchn_sched calls
 * it once the shared info page is mapped): switch the monotonic clock to
 * Xen's pvclock, read from `ti` (vcpu 0's vcpu_time_info in the shared info
 * page, which must stay mapped). The clock continues from its current
 * value: the offset between the two clocks is taken at the switch, so
 * time_monotonic_ns() neither jumps nor goes backwards. Should the
 * pvclock become unreadable (Xen never finishing an update, or fields
 * out of range), the clock stands still rather than switch sources. If
 * it is unreadable from the start, the TSC clock is kept and a warning
 * printed. Call with interrupts masked.
 */
struct xenabi_vcpu_time_info;
void time_use_pvclock(const volatile struct xenabi_vcpu_time_info *ti);

/*
 * For the Xen layer, with the shared info page (which must stay mapped):
 * take the wall clock from Xen's wc_* fields instead of the CMOS RTC,
 * which a PVH domain lacks. Needs the pvclock (time_use_pvclock) first;
 * does nothing without it, or when Xen has not set a wall clock. On PV
 * time_init() has done this already.
 */
struct xenabi_shared_info;
void time_use_xen_wallclock(const volatile struct xenabi_shared_info *shared);

/*
 * Xen PV: the event channel port VIRQ_TIMER raises, bound by time_init()
 * and masked there: *port and true; false when the timer is no event
 * channel (QEMU, PVH).
 */
bool time_xen_timer_port(uint32_t *port);

/*
 * Xen PV: the timer port's event handler (counts it; the idle itself
 * returns as the upcall ends the block).
 */
void time_xen_timer_event(void);

/*
 * Xen PV: with `on`, the idle blocks the vcpu (SCHEDOP_block) and any
 * event, the timer's among them, ends it through the upcall. Say so only
 * once the upcall is registered (xenplat_set_upcall) and the timer's
 * port is unmasked with a handler that clears it (the event-channel
 * dispatcher does), or the idle would sleep through its deadline. false:
 * back to polling the timer's port. No effect elsewhere.
 */
void time_xen_idle_on_events(bool on);

#endif /* TIME_TIME_H */
