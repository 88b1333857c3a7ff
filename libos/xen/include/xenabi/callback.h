/*
 * xenabi/callback.h - callback_op(cmd, arg): where Xen enters a PV guest
 * for events and for the "failsafe" case (PV only; an HVM or PVH guest
 * gets interrupts instead, <xenabi/hvm.h>).
 *
 * A 64-bit PV guest registers each entry point with CALLBACKOP_register.
 * Xen enters the event callback with event delivery masked (its flags
 * are ignored for it), on the current stack when the guest runs in
 * kernel mode, with the frame <xenabi/pv.h> describes for exceptions:
 *
 *     rcx, r11, rip, cs, rflags, rsp, ss
 *
 * where rflags.IF is the inverse of the upcall mask at the moment of the
 * interruption, so that HYPERVISOR_iret (struct xenabi_iret_context),
 * which sets the mask from the IF it is handed back, restores it. The
 * failsafe callback is entered when Xen cannot load the guest's segment
 * registers on its way back to the guest; its frame has the four data
 * selectors between r11 and rip:
 *
 *     rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss
 */
#ifndef XENABI_CALLBACK_H
#define XENABI_CALLBACK_H

#include <xenabi/types.h>

#define XENABI_CALLBACKOP_REGISTER 0   /* arg: struct xenabi_callback_register */
#define XENABI_CALLBACKOP_UNREGISTER 1 /* arg: struct xenabi_callback_unregister */

#define XENABI_CALLBACKTYPE_EVENT 0
#define XENABI_CALLBACKTYPE_FAILSAFE 1
#define XENABI_CALLBACKTYPE_SYSCALL 2
#define XENABI_CALLBACKTYPE_NMI 4
#define XENABI_CALLBACKTYPE_SYSENTER 5
#define XENABI_CALLBACKTYPE_SYSCALL32 7

/* Mask events on entry (ignored for the event and NMI callbacks). */
#define XENABI_CALLBACKF_MASK_EVENTS (1u << 0)

/* On x86-64 a callback is a plain address (xen_callback_t). */
struct xenabi_callback_register {
    uint16_t type;  /* XENABI_CALLBACKTYPE_* */
    uint16_t flags; /* XENABI_CALLBACKF_* */
    uint32_t pad0;
    uint64_t address;
};
XENABI_ASSERT_SIZE(struct xenabi_callback_register, 16);
XENABI_ASSERT_OFFSET(struct xenabi_callback_register, type, 0);
XENABI_ASSERT_OFFSET(struct xenabi_callback_register, flags, 2);
XENABI_ASSERT_OFFSET(struct xenabi_callback_register, pad0, 4);
XENABI_ASSERT_OFFSET(struct xenabi_callback_register, address, 8);

/* Xen refuses to unregister the event and failsafe callbacks. */
struct xenabi_callback_unregister {
    uint16_t type;
    uint16_t unused;
};
XENABI_ASSERT_SIZE(struct xenabi_callback_unregister, 4);
XENABI_ASSERT_OFFSET(struct xenabi_callback_unregister, type, 0);
XENABI_ASSERT_OFFSET(struct xenabi_callback_unregister, unused, 2);

#endif /* XENABI_CALLBACK_H */
