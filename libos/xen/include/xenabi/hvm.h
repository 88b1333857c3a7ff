/*
 * xenabi/hvm.h - hvm_op(cmd, arg): what an HVM or PVH guest asks Xen for
 * instead of reading start_info: where the xenstore and console rings
 * are, and how event channel upcalls should arrive.
 */
#ifndef XENABI_HVM_H
#define XENABI_HVM_H

#include <xenabi/types.h>

#define XENABI_HVMOP_SET_PARAM 0 /* arg: struct xenabi_hvm_param */
#define XENABI_HVMOP_GET_PARAM 1 /* arg: struct xenabi_hvm_param */
#define XENABI_HVMOP_FLUSH_TLBS 5
#define XENABI_HVMOP_PAGETABLE_DYING 9
#define XENABI_HVMOP_GET_TIME 10
/* arg: struct xenabi_hvm_evtchn_upcall_vector */
#define XENABI_HVMOP_SET_EVTCHN_UPCALL_VECTOR 23

struct xenabi_hvm_param {
    xenabi_domid_t domid; /* XENABI_DOMID_SELF */
    uint16_t pad;
    uint32_t index; /* XENABI_HVM_PARAM_* */
    uint64_t value; /* in for SET_PARAM, out for GET_PARAM */
};
XENABI_ASSERT_SIZE(struct xenabi_hvm_param, 16);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_param, domid, 0);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_param, pad, 2);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_param, index, 4);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_param, value, 8);

/* Parameters a guest reads or sets about itself. */
#define XENABI_HVM_PARAM_CALLBACK_IRQ 0   /* set: how upcalls arrive (below) */
#define XENABI_HVM_PARAM_STORE_PFN 1      /* get: xenstore ring frame */
#define XENABI_HVM_PARAM_STORE_EVTCHN 2   /* get: xenstore event channel */
#define XENABI_HVM_PARAM_CONSOLE_PFN 17   /* get: console ring frame */
#define XENABI_HVM_PARAM_CONSOLE_EVTCHN 18 /* get: console event channel */

/*
 * HVM_PARAM_CALLBACK_IRQ value: the delivery type in bits 63:56, its
 * argument below. 0 turns upcalls off. With TYPE_VECTOR (needs
 * XENFEAT_hvm_callback_vector) Xen raises the given IDT vector on the vcpu
 * directly, with no emulated interrupt controller involved: the simplest
 * choice for a PVH unikernel. TYPE_GSI and TYPE_PCI_INTX go through the
 * emulated IO-APIC and need an EOI there.
 */
#define XENABI_HVM_CALLBACK_TYPE_SHIFT 56
#define XENABI_HVM_CALLBACK_TYPE_MASK \
    (UINT64_C(0xff) << XENABI_HVM_CALLBACK_TYPE_SHIFT)
#define XENABI_HVM_CALLBACK_TYPE_GSI 0      /* bits 55:0: GSI (not 0) */
/* PCI_INTX: bits 47:32 segment, 31:16 bus, 15:8 devfn, 1:0 INTx pin. */
#define XENABI_HVM_CALLBACK_TYPE_PCI_INTX 1
#define XENABI_HVM_CALLBACK_TYPE_VECTOR 2   /* bits 7:0: vector */

static inline uint64_t xenabi_hvm_callback_vector(uint8_t vector)
{
    return ((uint64_t)XENABI_HVM_CALLBACK_TYPE_VECTOR
            << XENABI_HVM_CALLBACK_TYPE_SHIFT)
           | vector;
}

/*
 * A per-vcpu upcall vector, preferred over CALLBACK_IRQ where supported
 * (CPUID base + 4 EAX XENABI_CPUID_HVM_UPCALL_VECTOR). Unlike the
 * CALLBACK_IRQ vector, this one is raised through the emulated local APIC,
 * so its handler must write the APIC's EOI register.
 */
struct xenabi_hvm_evtchn_upcall_vector {
    uint32_t vcpu;
    uint8_t vector;
    uint8_t pad[3];
};
XENABI_ASSERT_SIZE(struct xenabi_hvm_evtchn_upcall_vector, 8);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_evtchn_upcall_vector, vcpu, 0);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_evtchn_upcall_vector, vector, 4);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_evtchn_upcall_vector, pad, 5);

/* HVMOP_get_time: Xen's system time in ns. */
struct xenabi_hvm_get_time {
    uint64_t now;
};
XENABI_ASSERT_SIZE(struct xenabi_hvm_get_time, 8);
XENABI_ASSERT_OFFSET(struct xenabi_hvm_get_time, now, 0);

#endif /* XENABI_HVM_H */
