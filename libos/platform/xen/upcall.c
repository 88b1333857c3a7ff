/*
 * The event-channel upcall on Xen. PV: the event callback registered
 * with CALLBACKOP_register (pv_entry.S, xenplat_pv_upcall_entry), entered
 * by Xen whenever events are pending and vcpu 0's upcall mask is clear,
 * which in this library OS is only inside SCHEDOP_block (libos/time).
 *
 * PVH: an IDT vector that Xen raises
 * while vcpu 0 has events pending (HVM_PARAM_CALLBACK_IRQ, callback type
 * "vector"), and the function it calls. See <platform/xen/xen.h>.
 *
 * Why this delivery type: Xen checks it before anything else when it
 * looks for an interrupt to inject (hvm_vcpu_has_pending_irq(): while
 * vcpu_info.evtchn_upcall_pending is set, the vector is pending), and
 * injects it straight into the vcpu, bypassing the emulated local APIC
 * and IO-APIC. So there is nothing to acknowledge (no EOI: that is
 * needed only for the per-vcpu HVMOP_set_evtchn_upcall_vector, which
 * goes through the local APIC), and the "line" drops by itself when the
 * handler clears evtchn_upcall_pending. It is level-like: a handler that
 * returned with upcall_pending still set would be entered again at once.
 */
#include <boot/boot.h>
#include <platform/xen/xen.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <xenabi/callback.h>
#include <xenabi/errno.h>
#include <xenabi/hvm.h>
#include <xenabi/hypercall.h>
#include <xenabi/version.h>

#include "internal.h"

/* upcall_entry.S; pv_entry.S */
void xenplat_upcall_entry(void);
void xenplat_pv_upcall_entry(void);

static void (*upcall_fn)(void);
static uint64_t upcall_interrupts;

/* Called by the entry stub, interrupts masked. */
void xenplat_upcall(void);
void xenplat_upcall(void)
{
    upcall_interrupts++;
    if (upcall_fn != NULL)
        upcall_fn();
}

/*
 * PV: called by xenplat_pv_upcall_entry with the frame it returns through
 * HYPERVISOR_iret: rip, cs, rflags, rsp, ss. Without a function nobody
 * would clear evtchn_upcall_pending, and Xen would enter again as soon
 * as the iret unmasked events: return with them masked instead (IF
 * clear in the saved rflags), leaving every event pending for whoever
 * dispatches later.
 */
#define RFLAGS_IF (UINT64_C(1) << 9)
void xenplat_pv_upcall(uint64_t *frame);
void xenplat_pv_upcall(uint64_t *frame)
{
    upcall_interrupts++;
    if (upcall_fn != NULL)
        upcall_fn();
    else
        frame[2] &= ~RFLAGS_IF;
}

static long register_callback(uint16_t type, void (*entry)(void))
{
    struct xenabi_callback_register cb = {
        .type = type,
        .address = (uint64_t)(uintptr_t)entry,
    };
    return xenplat_hypercall(XENABI_HYPERCALL_CALLBACK_OP,
                             XENABI_CALLBACKOP_REGISTER, xenabi_handle(&cb),
                             0, 0, 0);
}

/*
 * PV: the entry point is registered once and stays (Xen refuses to
 * unregister the event callback); the function can change, and NULL
 * makes the entry leave events pending and masked (xenplat_pv_upcall).
 */
static int set_upcall_pv(void (*fn)(void))
{
    static bool registered;

    upcall_fn = fn;
    if (fn == NULL || registered)
        return 0;
    long rc = register_callback(XENABI_CALLBACKTYPE_EVENT,
                                xenplat_pv_upcall_entry);
    if (rc < 0) {
        upcall_fn = NULL;
        return (int)rc;
    }
    registered = true;
    return 0;
}

long xenplat_pv_register_failsafe(void (*entry)(void))
{
    return register_callback(XENABI_CALLBACKTYPE_FAILSAFE, entry);
}

static long set_callback_irq(uint64_t value)
{
    struct xenabi_hvm_param p = {
        .domid = XENABI_DOMID_SELF,
        .index = XENABI_HVM_PARAM_CALLBACK_IRQ,
        .value = value,
    };
    return xenplat_hypercall(XENABI_HYPERCALL_HVM_OP, XENABI_HVMOP_SET_PARAM,
                             xenabi_handle(&p), 0, 0, 0);
}

static bool has_callback_vector(void)
{
    struct xenabi_feature_info fi = {.submap_idx = 0};
    long rc = xenplat_hypercall(XENABI_HYPERCALL_XEN_VERSION,
                                XENABI_XENVER_GET_FEATURES,
                                xenabi_handle(&fi), 0, 0, 0);
    return rc == 0
           && (fi.submap >> XENABI_XENFEAT_HVM_CALLBACK_VECTOR & 1) != 0;
}

/*
 * The PVH vector's gate, before the seal makes the IDT read-only: Xen
 * raises the vector only once xenplat_set_upcall() has named it.
 */
static void install_upcall_vector(void)
{
    if (xenplat_mode() != XENPLAT_PVH)
        return;
    if (boot_set_interrupt_gate(XENPLAT_UPCALL_VECTOR, xenplat_upcall_entry)
        != 0)
        boot_panic("xen: cannot install the upcall vector %#x",
                   XENPLAT_UPCALL_VECTOR);
}
BOOT_INIT(install_upcall_vector, BOOT_INIT_ORDER_INTERRUPTS);

int xenplat_set_upcall(void (*fn)(void))
{
    if (!xenplat_on_xen())
        return -XENABI_ENOSYS;
    if (xenplat_mode() == XENPLAT_PV)
        return set_upcall_pv(fn);
    if (fn == NULL) {
        /* Upcalls off first, then forget the function. */
        long rc = set_callback_irq(0);
        if (rc < 0)
            return (int)rc;
        upcall_fn = NULL;
        return 0;
    }
    if (!has_callback_vector())
        return -XENABI_EOPNOTSUPP;
    /*
     * The function before Xen may raise the vector, whose gate is in
     * since before the seal (checked here: a no-op then): with interrupts
     * masked nothing arrives meanwhile, and an event already pending is
     * delivered at the next halt.
     */
    upcall_fn = fn;
    if (boot_set_interrupt_gate(XENPLAT_UPCALL_VECTOR, xenplat_upcall_entry)
        != 0) {
        upcall_fn = NULL;
        return -XENABI_EINVAL;
    }
    long rc = set_callback_irq(
        xenabi_hvm_callback_vector(XENPLAT_UPCALL_VECTOR));
    if (rc < 0) {
        upcall_fn = NULL;
        return (int)rc;
    }
    return 0;
}

uint64_t xenplat_upcall_count(void)
{
    return upcall_interrupts;
}
