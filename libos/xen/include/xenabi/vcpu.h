/*
 * xenabi/vcpu.h - vcpu_op(cmd, vcpu_id, arg): per-vcpu timers and where
 * Xen keeps a vcpu's vcpu_info.
 */
#ifndef XENABI_VCPU_H
#define XENABI_VCPU_H

#include <xenabi/types.h>

#define XENABI_VCPUOP_INITIALISE 0
#define XENABI_VCPUOP_UP 1
#define XENABI_VCPUOP_DOWN 2
#define XENABI_VCPUOP_IS_UP 3
#define XENABI_VCPUOP_GET_RUNSTATE_INFO 4
#define XENABI_VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA 5
#define XENABI_VCPUOP_SET_PERIODIC_TIMER 6   /* arg: see struct below */
#define XENABI_VCPUOP_STOP_PERIODIC_TIMER 7  /* arg NULL */
#define XENABI_VCPUOP_SET_SINGLESHOT_TIMER 8 /* arg: see struct below */
#define XENABI_VCPUOP_STOP_SINGLESHOT_TIMER 9 /* arg NULL */
#define XENABI_VCPUOP_REGISTER_VCPU_INFO 10  /* arg: see struct below */
#define XENABI_VCPUOP_SEND_NMI 11
#define XENABI_VCPUOP_GET_PHYSID 12
#define XENABI_VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA 13

/* Fires VIRQ_TIMER every period_ns (Xen may refuse periods below 1 ms). */
struct xenabi_vcpu_set_periodic_timer {
    uint64_t period_ns;
};
XENABI_ASSERT_SIZE(struct xenabi_vcpu_set_periodic_timer, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_set_periodic_timer, period_ns, 0);

/* Fires VIRQ_TIMER once, at an absolute system time (vcpu_time_info). */
struct xenabi_vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;
    uint32_t flags; /* XENABI_VCPU_SSHOTTMR_* */
    uint32_t pad0;
};
XENABI_ASSERT_SIZE(struct xenabi_vcpu_set_singleshot_timer, 16);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_set_singleshot_timer,
                     timeout_abs_ns, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_set_singleshot_timer, flags, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_set_singleshot_timer, pad0, 12);

/* Fail with -ETIME instead of firing at once when the time has passed. */
#define XENABI_VCPU_SSHOTTMR_FUTURE (1u << 0)

/*
 * Move a vcpu's vcpu_info out of the shared info page (which only has room
 * for the first 32 vcpus) into guest memory: frame mfn, byte offset. The
 * 64-byte structure must not cross a page boundary.
 */
struct xenabi_vcpu_register_vcpu_info {
    uint64_t mfn; /* a GFN for HVM/PVH guests */
    uint32_t offset;
    uint32_t rsvd; /* zero */
};
XENABI_ASSERT_SIZE(struct xenabi_vcpu_register_vcpu_info, 16);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_register_vcpu_info, mfn, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_register_vcpu_info, offset, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_register_vcpu_info, rsvd, 12);

/* Runstate (VCPUOP_get_runstate_info and the registered memory area). */
#define XENABI_RUNSTATE_RUNNING 0
#define XENABI_RUNSTATE_RUNNABLE 1
#define XENABI_RUNSTATE_BLOCKED 2
#define XENABI_RUNSTATE_OFFLINE 3

struct xenabi_vcpu_runstate_info {
    int32_t state; /* XENABI_RUNSTATE_* */
    uint32_t pad0;
    uint64_t state_entry_time; /* ns; bit 63 set while Xen updates it */
    uint64_t time[4];          /* ns spent in each state */
};
XENABI_ASSERT_SIZE(struct xenabi_vcpu_runstate_info, 48);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_runstate_info, state, 0);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_runstate_info, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_runstate_info, state_entry_time, 8);
XENABI_ASSERT_OFFSET(struct xenabi_vcpu_runstate_info, time, 16);

#define XENABI_RUNSTATE_UPDATE (UINT64_C(1) << 63)

#endif /* XENABI_VCPU_H */
