/*
 * The Xen PV boot path: from start_info to the common tail of boot.c.
 *
 * _start_pv (pv_entry.S) runs this on the boot stack, in ring 3, on the
 * page tables Xen built. Xen placed, right after the image and in this
 * order, the p2m list, start_info, the xenstore and console pages, its
 * bootstrap page tables and a stack, all at virtual == pseudo-physical
 * address, and mapped at least 512 KiB more after them (xen.h's start_info
 * contract). The steps mirror boot_pvh():
 *
 *   1. the console: the PV console ring, whose machine frame start_info
 *      names (its pseudo-physical page comes from the M2P table);
 *   2. the shared info page, mapped over a page of .bss: the trap handlers
 *      need it for the page-fault address;
 *   3. the trap table (set_trap_table) with pv_entry.S's stubs, which hand
 *      boot_exception() the same frame as on PVH, and the failsafe
 *      callback (the event callback comes with xenplat_set_upcall);
 *   4. the command line (then boot_check_cpu: the entropy report, and no
 *      boot without NX unless boot.allow_no_nx=1), and a memory map made
 *      up from start_info: RAM
 *      [0, nr_pages pages), with everything from the end of the image to
 *      the end of the new page tables reserved;
 *   5. the sealed page tables (pv_paging.c), then the initialisers and
 *      main(), as on PVH.
 *
 * Trust: start_info comes from the domain builder, which is trusted as
 * much as Xen is; still, every address taken from it is checked against
 * the domain's pages before it is used.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <boot/hvm_start_info.h>
#include <libc/hooks.h>
#include <platform/xen/pv.h>
#include <platform/xen/xen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenabi/console.h>
#include <xenabi/errno.h>
#include <xenabi/hypercall.h>
#include <xenabi/pv.h>
#include <xenabi/sched.h>
#include <xenabi/shared_info.h>
#include <xenabi/start_info.h>

#include "internal.h"

#define PAGE_SIZE 4096u
#define PTE_P (UINT64_C(1) << 0)
#define PTE_W (UINT64_C(1) << 1)
#define PTE_U (UINT64_C(1) << 2)
#define PTE_A (UINT64_C(1) << 5)
#define PTE_D (UINT64_C(1) << 6)
#define PTE_NX (UINT64_C(1) << 63)

/*
 * Xen guarantees this much mapped, unused room after its last bootstrap
 * element: the new page tables are built there (pv_paging.c).
 */
#define POOL_PAGES 128u

/* Linker-defined bounds of the image (page aligned). */
extern char __text_start[], __image_end[];
/* pv_entry.S */
extern const uint64_t xenplat_pv_exception_stubs[32];
void xenplat_pv_failsafe_entry(void);

/*
 * A page of .bss, page-aligned and alone, that the shared info page is
 * mapped over (its own frame is simply not used).
 */
static uint8_t shared_info_page[PAGE_SIZE]
    __attribute__((aligned(PAGE_SIZE), section(".bss.pv_shared_info")));
static volatile struct xenabi_shared_info *shared_info;

static struct xenabi_trap_info traps[33];

/*
 * What the rest of the image may ask about (<platform/xen/pv.h>); set by
 * xenplat_pv_start.
 */
static struct xenabi_start_info start_info;
static const uint64_t *p2m;
static uint64_t mapped_pages;

static long hypercall3(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return xenplat_hypercall_raw(nr, a1, a2, a3, 0, 0);
}

/* Execute-disable, where the CPU has it (else the bit is reserved). */
static uint64_t nx_bit(void)
{
    return (cpuid(0x80000001u, 0).edx & (1u << 20)) ? PTE_NX : 0;
}

static uint64_t page_up(uint64_t addr)
{
    return (addr + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The pseudo-physical frame of machine frame `mfn` (Xen's M2P table). */
static uint64_t m2p(uint64_t mfn)
{
    const volatile uint64_t *table =
        (const volatile uint64_t *)XENABI_MACH2PHYS_VIRT_START;

    if (mfn >= (XENABI_MACH2PHYS_VIRT_END - XENABI_MACH2PHYS_VIRT_START) / 8)
        return UINT64_MAX;
    return table[mfn];
}

_Noreturn void xenplat_pv_halt(void)
{
    struct xenabi_sched_shutdown arg = {.reason = XENABI_SHUTDOWN_CRASH};

    for (;;) {
        hypercall3(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_SHUTDOWN,
                   xenabi_handle(&arg), 0);
        hypercall3(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_YIELD, 0, 0);
    }
}

volatile struct xenabi_shared_info *xenplat_pv_shared_info(void)
{
    return shared_info;
}

#define RFLAGS_IF (UINT64_C(1) << 9)

bool xenplat_interrupts_enabled(void)
{
    uint64_t flags;

    /* In ring 3 a PV guest's RFLAGS.IF is always set: the mask says. */
    if (xenplat_mode() == XENPLAT_PV)
        return shared_info != NULL
               && __atomic_load_n(&shared_info->vcpu_info[0]
                                       .evtchn_upcall_mask,
                                  __ATOMIC_SEQ_CST)
                      == 0;
    __asm__ volatile("pushfq; popq %0" : "=r"(flags) : : "memory");
    return (flags & RFLAGS_IF) != 0;
}

void xenplat_mask_events(void)
{
    if (xenplat_mode() == XENPLAT_PV && shared_info != NULL)
        __atomic_store_n(&shared_info->vcpu_info[0].evtchn_upcall_mask, 1,
                         __ATOMIC_SEQ_CST);
}

/*
 * The failsafe callback (pv_entry.S): Xen could not load one of these
 * selectors on its way back to us. Frame: rcx, r11, ds, es, fs, gs, rip,
 * cs, rflags, rsp, ss.
 */
_Noreturn void xenplat_pv_failsafe(const uint64_t *frame);
_Noreturn void xenplat_pv_failsafe(const uint64_t *frame)
{
    boot_panic("pv: Xen's failsafe callback: a segment register could not "
               "be reloaded returning to rip %#llx (ds %#llx es %#llx fs "
               "%#llx gs %#llx cs %#llx ss %#llx)",
               (unsigned long long)frame[6], (unsigned long long)frame[2],
               (unsigned long long)frame[3], (unsigned long long)frame[4],
               (unsigned long long)frame[5], (unsigned long long)frame[7],
               (unsigned long long)frame[10]);
}

uint64_t xenplat_pv_fault_address(void)
{
    return shared_info ? shared_info->vcpu_info[0].arch.cr2 : 0;
}

/*
 * The TSC frequency, from the scale Xen publishes for vcpu 0: ns =
 * ((ticks << shift) * mul) >> 32, so one ms is 10^6 * 2^32 / mul shifted
 * ticks.
 */
uint32_t xenplat_pv_tsc_khz(void)
{
    if (!shared_info)
        return 0;
    uint32_t mul = shared_info->vcpu_info[0].time.tsc_to_system_mul;
    int8_t shift = shared_info->vcpu_info[0].time.tsc_shift;
    if (mul == 0)
        return 0;
    uint64_t ticks = (UINT64_C(1000000) << 32) / mul;
    ticks = shift >= 0 ? ticks >> shift : ticks << -shift;
    return (uint32_t)ticks;
}

uint64_t xenplat_pv_pfn_to_mfn(uint64_t pfn)
{
    if (p2m == NULL || pfn >= mapped_pages)
        return UINT64_MAX;
    return p2m[pfn];
}

uint64_t xenplat_pv_mfn_to_pfn(uint64_t mfn)
{
    if (p2m == NULL)
        return UINT64_MAX;
    uint64_t pfn = m2p(mfn);
    /* The M2P may hold stale entries: it is ours only if the p2m agrees. */
    if (pfn >= mapped_pages || p2m[pfn] != mfn)
        return UINT64_MAX;
    return pfn;
}

bool xenplat_pv_rings(struct xenplat_pv_rings *out)
{
    if (p2m == NULL)
        return false;
    *out = (struct xenplat_pv_rings){
        .store_mfn = start_info.store_mfn,
        .store_evtchn = start_info.store_evtchn,
        .console_evtchn = start_info.console.domu.evtchn,
        .console_mfn = start_info.console.domu.mfn,
        .shared_info = start_info.shared_info,
    };
    return true;
}

long xenplat_pv_map_frame(void *page, uint64_t mfn)
{
    uintptr_t va = (uintptr_t)page;
    const char *where = boot_paging_region(va);

    if (p2m == NULL)
        return -XENABI_ENOSYS;
    if (va % PAGE_SIZE != 0 || where == NULL
        || (strcmp(where, "bss") != 0 && strcmp(where, "data") != 0)
        || boot_paging_region(va + PAGE_SIZE - 1) != where)
        return -XENABI_EINVAL;
    return hypercall3(XENABI_HYPERCALL_UPDATE_VA_MAPPING, va,
                      (mfn << 12) | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D
                          | nx_bit(),
                      XENABI_UVMF_INVLPG | XENABI_UVMF_LOCAL);
}

static void map_shared_info(uint64_t machine_address)
{
    long rc = hypercall3(XENABI_HYPERCALL_UPDATE_VA_MAPPING,
                         (uintptr_t)shared_info_page,
                         machine_address | PTE_P | PTE_W | PTE_U | PTE_A
                             | PTE_D | nx_bit(),
                         XENABI_UVMF_INVLPG | XENABI_UVMF_LOCAL);
    if (rc != 0)
        boot_panic("pv: mapping the shared info page (%#llx) failed: %ld",
                   (unsigned long long)machine_address, rc);
    shared_info = (volatile struct xenabi_shared_info *)shared_info_page;
}

/*
 * The trap table: vectors 0-31 to pv_entry.S's stubs, events masked on
 * entry. Xen handles NMI (2), double fault (8) and machine check (18)
 * itself or through callbacks, so those are left out. int3 and into may
 * be used by the kernel (ring 3 here), hence DPL 3 for them.
 */
static void traps_init(void)
{
    size_t n = 0;

    for (uint8_t v = 0; v < 32; v++) {
        if (v == 2 || v == 8 || v == 18)
            continue;
        traps[n++] = (struct xenabi_trap_info){
            .vector = v,
            .flags = XENABI_TI_MASK_EVENTS | (v == 3 || v == 4 ? 3u : 0u),
            .cs = XENABI_FLAT_KERNEL_CS,
            .address = xenplat_pv_exception_stubs[v],
        };
    }
    traps[n] = (struct xenabi_trap_info){0}; /* the terminator */
    long rc = hypercall3(XENABI_HYPERCALL_SET_TRAP_TABLE, xenabi_handle(traps),
                         0, 0);
    if (rc != 0)
        boot_panic("pv: set_trap_table failed: %ld", rc);
    /* A report instead of a silent crash should Xen ever need it. */
    rc = xenplat_pv_register_failsafe(xenplat_pv_failsafe_entry);
    if (rc != 0)
        boot_panic("pv: registering the failsafe callback failed: %ld", rc);
}

/* The ring's page, if start_info names one that is ours. */
static struct xenabi_console_interface *
console_ring(const struct xenabi_start_info *info)
{
    uint64_t pfn = m2p(info->console.domu.mfn);

    if (info->console.domu.mfn == 0 || pfn >= info->nr_pages)
        return NULL;
    return (struct xenabi_console_interface *)(uintptr_t)(pfn << 12);
}

/* How many RAM pages the pool's tables can map (one L1 per 2 MiB). */
static uint64_t mappable_pages(uint64_t pool_pages)
{
    /* L4, L3, one L2 per GiB (at most 1 below), one L1 per 2 MiB. */
    uint64_t l1 = pool_pages - 3;
    return l1 * 512;
}

_Noreturn void xenplat_pv_start(const struct xenabi_start_info *si,
                       uint64_t xen_stack_top)
{
    struct xenabi_start_info info;

    /* Xen placed it in our mapped bootstrap area; copy it once. */
    memcpy(&info, si, sizeof info);
    xenplat_init_pv(console_ring(&info), info.console.domu.evtchn);
    libc_set_output(xenplat_console_write);
    libc_set_exit(platform_exit);
    if (strncmp(info.magic, "xen-3.0-x86_64", 14) != 0)
        boot_panic("pv: start info magic \"%.32s\", want \"xen-3.0-x86_64\"",
                   info.magic);
    map_shared_info(info.shared_info);
    xenplat_report();
    traps_init();

    boot_record_cmdline((const char *)info.cmd_line, sizeof info.cmd_line);
    boot_check_cpu(nx_bit() != 0);

    /*
     * The end of what Xen placed after the image: the stack is last, but
     * take the maximum over everything start_info names, in case.
     */
    uint64_t end = page_up(xen_stack_top);
    end = max64(end, info.pt_base + info.nr_pt_frames * PAGE_SIZE);
    end = max64(end, page_up((uintptr_t)si + sizeof *si));
    end = max64(end, page_up(info.mfn_list + info.nr_pages * 8));
    if (m2p(info.store_mfn) < info.nr_pages)
        end = max64(end, (m2p(info.store_mfn) + 1) * PAGE_SIZE);
    if (console_ring(&info))
        end = max64(end, (uintptr_t)console_ring(&info) + PAGE_SIZE);

    uint64_t ram_pages = info.nr_pages;
    uint64_t can_map = mappable_pages(POOL_PAGES);
    if (ram_pages > can_map) {
        printf("[boot] pv: mapping the first %llu MiB of %llu MiB of RAM\n",
               (unsigned long long)(can_map >> 8),
               (unsigned long long)(ram_pages >> 8));
        ram_pages = can_map;
    }
    if (end + POOL_PAGES * PAGE_SIZE > ram_pages * PAGE_SIZE)
        boot_panic("pv: %llu MiB of RAM leave no room after Xen's bootstrap "
                   "area (ends at %#llx); give the domain more memory",
                   (unsigned long long)(info.nr_pages >> 8),
                   (unsigned long long)end);

    struct pv_paging_plan plan = {
        .p2m = (const uint64_t *)(uintptr_t)info.mfn_list,
        .ram_pages = ram_pages,
        .pool_start = end,
        .pool_pages = POOL_PAGES,
        .old_tables = info.pt_base,
        .old_table_pages = info.nr_pt_frames,
        .shared_info_va = (uintptr_t)shared_info_page,
        .shared_info_ma = info.shared_info,
    };
    uint64_t used = xenplat_pv_paging_seal(&plan);

    start_info = info;
    p2m = plan.p2m;
    mapped_pages = ram_pages;

    /* Low memory, the image and Xen's area are RAM; mm keeps off them. */
    boot_record_memory(0, ram_pages * PAGE_SIZE, HVM_MEMMAP_TYPE_RAM);
    boot_record_memory((uintptr_t)__image_end,
                       end + used * PAGE_SIZE - (uintptr_t)__image_end,
                       HVM_MEMMAP_TYPE_RESERVED);

    /*
     * The initialisers that place guard pages (the memory manager, the
     * thread stacks) need all RAM mapped, so on PV they run on the sealed
     * tables, and their guard pages are unmapped through Xen afterwards.
     */
    boot_run_initialisers_before_seal();
    xenplat_pv_paging_guards();

    char **args;
    int argc = boot_prepare_main(&args);
    exit(main(argc, args));
}
