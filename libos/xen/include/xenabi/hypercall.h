/*
 * xenabi/hypercall.h - how a guest calls Xen, and the calls' numbers.
 *
 * Calling convention (x86_64): the hypercall number selects a 32-byte stub
 * in the hypercall page; the guest does
 *
 *     call hypercall_page + number * XENABI_HYPERCALL_STUB_SIZE
 *
 * with arguments 1 to 5 in %rdi, %rsi, %rdx, %r10 and %r8 and the result
 * in %rax: 0 or a positive value on success, -XENABI_E* on failure
 * (<xenabi/errno.h>). The stub loads the number into %eax itself; the
 * argument registers a call uses come back clobbered. Treating %rcx and
 * %r11 as clobbered too costs nothing and stays right for PV stubs, which
 * use syscall. Structures passed by address are laid out as in the other
 * xenabi headers and must stay mapped during the call.
 *
 * An HVM or PVH guest fills the hypercall page itself, because only Xen
 * knows whether the CPU wants vmcall (Intel) or vmmcall (AMD): find Xen
 * with CPUID (<xenabi/cpuid.h>), read leaf base + 2 (EAX = number of
 * hypercall pages, always at least 1; EBX = the MSR to use), then write
 * the guest-physical address of a page-aligned, executable page to that
 * MSR (wrmsr, EDX:EAX = address). Xen writes the stubs into the page.
 */
#ifndef XENABI_HYPERCALL_H
#define XENABI_HYPERCALL_H

#include <xenabi/types.h>

#define XENABI_HYPERCALL_PAGE_SIZE 4096
#define XENABI_HYPERCALL_STUB_SIZE 32
/* A hypercall page has room for this many stubs. */
#define XENABI_HYPERCALL_MAX \
    (XENABI_HYPERCALL_PAGE_SIZE / XENABI_HYPERCALL_STUB_SIZE)

/* Hypercall numbers: all of Xen's. "PV only": an HVM/PVH guest gets -ENOSYS. */
#define XENABI_HYPERCALL_SET_TRAP_TABLE 0     /* PV only */
#define XENABI_HYPERCALL_MMU_UPDATE 1         /* PV only */
#define XENABI_HYPERCALL_SET_GDT 2            /* PV only */
#define XENABI_HYPERCALL_STACK_SWITCH 3       /* PV only */
#define XENABI_HYPERCALL_SET_CALLBACKS 4      /* PV only */
#define XENABI_HYPERCALL_FPU_TASKSWITCH 5     /* PV only */
#define XENABI_HYPERCALL_SCHED_OP_COMPAT 6    /* superseded by SCHED_OP */
#define XENABI_HYPERCALL_PLATFORM_OP 7        /* privileged */
#define XENABI_HYPERCALL_SET_DEBUGREG 8
#define XENABI_HYPERCALL_GET_DEBUGREG 9
#define XENABI_HYPERCALL_UPDATE_DESCRIPTOR 10
/* 11 is unused. */
#define XENABI_HYPERCALL_MEMORY_OP 12         /* <xenabi/memory.h> */
#define XENABI_HYPERCALL_MULTICALL 13
#define XENABI_HYPERCALL_UPDATE_VA_MAPPING 14 /* PV only */
#define XENABI_HYPERCALL_SET_TIMER_OP 15      /* arg: absolute ns, 0 = stop */
#define XENABI_HYPERCALL_EVENT_CHANNEL_OP_COMPAT 16
#define XENABI_HYPERCALL_XEN_VERSION 17       /* <xenabi/version.h> */
#define XENABI_HYPERCALL_CONSOLE_IO 18        /* CONSOLEIO_* below */
#define XENABI_HYPERCALL_PHYSDEV_OP_COMPAT 19
#define XENABI_HYPERCALL_GRANT_TABLE_OP 20    /* <xenabi/grant_table.h> */
#define XENABI_HYPERCALL_VM_ASSIST 21         /* VMASST_* below */
#define XENABI_HYPERCALL_UPDATE_VA_MAPPING_OTHERDOMAIN 22
#define XENABI_HYPERCALL_IRET 23              /* PV only */
#define XENABI_HYPERCALL_VCPU_OP 24           /* <xenabi/vcpu.h> */
#define XENABI_HYPERCALL_SET_SEGMENT_BASE 25  /* PV only */
#define XENABI_HYPERCALL_MMUEXT_OP 26         /* PV page-table management */
#define XENABI_HYPERCALL_XSM_OP 27
#define XENABI_HYPERCALL_NMI_OP 28
#define XENABI_HYPERCALL_SCHED_OP 29          /* <xenabi/sched.h> */
#define XENABI_HYPERCALL_CALLBACK_OP 30       /* PV only */
#define XENABI_HYPERCALL_XENOPROF_OP 31
#define XENABI_HYPERCALL_EVENT_CHANNEL_OP 32  /* <xenabi/event_channel.h> */
#define XENABI_HYPERCALL_PHYSDEV_OP 33
#define XENABI_HYPERCALL_HVM_OP 34            /* <xenabi/hvm.h> */
#define XENABI_HYPERCALL_SYSCTL 35            /* toolstack only */
#define XENABI_HYPERCALL_DOMCTL 36            /* toolstack only */
#define XENABI_HYPERCALL_KEXEC_OP 37
#define XENABI_HYPERCALL_TMEM_OP 38           /* removed from Xen */
#define XENABI_HYPERCALL_ARGO_OP 39
#define XENABI_HYPERCALL_XENPMU_OP 40
#define XENABI_HYPERCALL_DM_OP 41             /* device models only */
#define XENABI_HYPERCALL_HYPFS_OP 42

/*
 * console_io(cmd, count, buffer): the hypervisor's own console. An
 * unprivileged domain may only write, and only to a Xen built with
 * verbose debugging (CONFIG_VERBOSE_DEBUG, the default of debug builds);
 * otherwise the call fails with -XENABI_EPERM. Handy for early messages
 * in a lab, never to be relied on.
 */
#define XENABI_CONSOLEIO_WRITE 0
#define XENABI_CONSOLEIO_READ 1

/* vm_assist(cmd, type): opt in or out of a legacy paravirtual behaviour. */
#define XENABI_VMASST_CMD_ENABLE 0
#define XENABI_VMASST_CMD_DISABLE 1
#define XENABI_VMASST_TYPE_4GB_SEGMENTS 0         /* x86-32 PV only */
#define XENABI_VMASST_TYPE_4GB_SEGMENTS_NOTIFY 1  /* x86-32 PV only */
#define XENABI_VMASST_TYPE_WRITABLE_PAGETABLES 2
#define XENABI_VMASST_TYPE_PAE_EXTENDED_CR3 3
#define XENABI_VMASST_TYPE_ARCHITECTURAL_IOPL 4
#define XENABI_VMASST_TYPE_RUNSTATE_UPDATE_FLAG 5
#define XENABI_VMASST_TYPE_M2P_STRICT 32

/*
 * multicall(entries, count): run a batch of hypercalls. Each entry names
 * one call and its arguments; Xen stores each call's result in place.
 */
struct xenabi_multicall_entry {
    uint64_t op;      /* XENABI_HYPERCALL_* */
    uint64_t result;  /* out: the call's return value */
    uint64_t args[6]; /* unused trailing arguments are ignored */
};
XENABI_ASSERT_SIZE(struct xenabi_multicall_entry, 64);
XENABI_ASSERT_OFFSET(struct xenabi_multicall_entry, op, 0);
XENABI_ASSERT_OFFSET(struct xenabi_multicall_entry, result, 8);
XENABI_ASSERT_OFFSET(struct xenabi_multicall_entry, args, 16);

#endif /* XENABI_HYPERCALL_H */
