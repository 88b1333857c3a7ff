/*
 * W^X on Xen PV: page tables built from the linker's seal manifest, as
 * paging.c builds them for PVH and QEMU, but in the PV way.
 *
 * A PV guest never writes a live page-table entry: Xen validates every
 * table before the CPU may use it, and refuses any table that maps a
 * page-table page writable. So the tables are written while they are
 * still ordinary pages (in the room Xen leaves mapped after its bootstrap
 * area), then made read-only in Xen's bootstrap tables
 * (update_va_mapping), pinned as an L4 tree (Xen checks all of it), and
 * switched to (MMUEXT_NEW_BASEPTR). Entries hold machine frames, from the
 * p2m list.
 *
 * The result, at virtual == pseudo-physical address as on PVH:
 *   - RAM pages [1, ram_pages): read/write, non-executable;
 *   - the image as sealed: text read + execute, notes and rodata
 *     read-only, data and bss read/write, the last three non-executable;
 *   - page 0 and the boot stack's guard page: not mapped;
 *   - the shared info page over its .bss page: read/write, non-executable;
 *   - the new tables and Xen's bootstrap tables: read-only (Xen insists).
 * Xen adds its own slots (the M2P table among them) to the L4 when it
 * pins it. Execute-disable is used when the CPU has NX (CPUID), as on
 * PVH.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <boot/seal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <xenabi/hypercall.h>
#include <xenabi/pv.h>
#include <xenabi/types.h>

#include "internal.h"

#define PAGE_SIZE 4096u
#define ENTRIES 512

#define PTE_P (UINT64_C(1) << 0)
#define PTE_W (UINT64_C(1) << 1)
#define PTE_U (UINT64_C(1) << 2) /* Xen wants it: the kernel is in ring 3 */
#define PTE_A (UINT64_C(1) << 5)
#define PTE_D (UINT64_C(1) << 6)
#define PTE_NX (UINT64_C(1) << 63)
#define PTE_ADDR UINT64_C(0x000ffffffffff000)

/* A table entry grants everything; the leaves decide. */
#define TABLE_BITS (PTE_P | PTE_W | PTE_U | PTE_A)

#define CPUID_EXT_FEATURES 0x80000001u
#define CPUID_NX (1u << 20)

/* Bounds of the loaded image, defined by the linker. */
extern char __text_start[], __image_end[];

static const struct pv_paging_plan *plan;
static uint64_t pool_next, pool_end;
static uint64_t *l4;
static bool nx;

static uint64_t machine_address(uint64_t va)
{
    return plan->p2m[va >> 12] << 12;
}

/* The table an entry points to, at its pseudo-physical address. */
static uint64_t *table_of(uint64_t entry)
{
    const volatile uint64_t *m2p =
        (const volatile uint64_t *)XENABI_MACH2PHYS_VIRT_START;

    return (uint64_t *)(uintptr_t)(m2p[(entry & PTE_ADDR) >> 12] << 12);
}

static uint64_t *new_table(void)
{
    if (pool_next == pool_end)
        boot_panic("pv: page tables need more than %llu pages",
                   (unsigned long long)plan->pool_pages);
    uint64_t *t = (uint64_t *)(uintptr_t)pool_next;
    pool_next += PAGE_SIZE;
    memset(t, 0, PAGE_SIZE);
    return t;
}

static uint64_t *next_level(uint64_t *table, unsigned index)
{
    if (!(table[index] & PTE_P)) {
        uint64_t *t = new_table();
        table[index] = machine_address((uintptr_t)t) | TABLE_BITS;
        return t;
    }
    return table_of(table[index]);
}

static uint64_t *leaf(uint64_t va)
{
    uint64_t *l3 = next_level(l4, (va >> 39) & 511);
    uint64_t *l2 = next_level(l3, (va >> 30) & 511);
    uint64_t *l1 = next_level(l2, (va >> 21) & 511);
    return &l1[(va >> 12) & 511];
}

static uint64_t leaf_bits(uint32_t flags)
{
    uint64_t bits = PTE_P | PTE_U | PTE_A;

    if (flags & UNIKERNEL_SEAL_W)
        bits |= PTE_W | PTE_D;
    if (!(flags & UNIKERNEL_SEAL_X) && nx)
        bits |= PTE_NX;
    return bits;
}

static void map_own(uint64_t va, uint64_t bits)
{
    *leaf(va) = machine_address(va) | bits;
}

static long mmuext(struct xenabi_mmuext_op *ops, unsigned count)
{
    return xenplat_hypercall_raw(XENABI_HYPERCALL_MMUEXT_OP,
                                 xenabi_handle(ops), count, 0,
                                 XENABI_DOMID_SELF, 0);
}

uint64_t xenplat_pv_paging_seal(const struct pv_paging_plan *p)
{
    const struct unikernel_seal *seal = &__unikernel_seal;
    const uint64_t limit = p->ram_pages * PAGE_SIZE;

    plan = p;
    pool_next = p->pool_start;
    pool_end = p->pool_start + p->pool_pages * PAGE_SIZE;
    nx = (cpuid(CPUID_EXT_FEATURES, 0).edx & CPUID_NX) != 0;
    const uint64_t rw = leaf_bits(UNIKERNEL_SEAL_R | UNIKERNEL_SEAL_W);
    const uint64_t ro = leaf_bits(UNIKERNEL_SEAL_R);

    if (seal->version != UNIKERNEL_SEAL_VERSION)
        boot_panic("seal manifest version %u, this boot code reads %u",
                   seal->version, UNIKERNEL_SEAL_VERSION);
    l4 = new_table();

    /* All RAM but page 0: data. */
    for (uint64_t va = PAGE_SIZE; va < limit; va += PAGE_SIZE)
        map_own(va, rw);

    /* The image, page by page, as the linker sealed it. */
    for (uint32_t i = 0; i < seal->count; i++) {
        const struct unikernel_seal_region *r = &seal->regions[i];
        uint64_t first = r->start & ~(uint64_t)(PAGE_SIZE - 1);

        if ((r->flags & UNIKERNEL_SEAL_W) && (r->flags & UNIKERNEL_SEAL_X))
            boot_panic("seal region %u is writable and executable", i);
        if (r->end < r->start || r->end > limit)
            boot_panic("seal region %u [%#llx, %#llx) is outside RAM", i,
                       (unsigned long long)r->start,
                       (unsigned long long)r->end);
        for (uint64_t a = first; a < r->end; a += PAGE_SIZE)
            map_own(a, leaf_bits(r->flags));
    }

    /* Holes that must fault. */
    *leaf((uintptr_t)boot_stack_guard) = 0;

    /* The shared info page, over its .bss page. */
    *leaf(p->shared_info_va) = (p->shared_info_ma & PTE_ADDR) | rw;

    /* Page-table pages, Xen's and ours: read-only, or Xen refuses. */
    for (uint64_t i = 0; i < p->old_table_pages; i++)
        map_own(p->old_tables + i * PAGE_SIZE, ro);
    for (uint64_t t = p->pool_start; t < pool_next; t += PAGE_SIZE)
        map_own(t, ro);

    /* Read-only in Xen's tables too, now that they are written. */
    for (uint64_t t = p->pool_start; t < pool_next; t += PAGE_SIZE) {
        long rc = xenplat_hypercall_raw(
            XENABI_HYPERCALL_UPDATE_VA_MAPPING, t, machine_address(t) | ro,
            XENABI_UVMF_INVLPG | XENABI_UVMF_LOCAL, 0, 0);
        if (rc != 0)
            boot_panic("pv: making page table %#llx read-only failed: %ld",
                       (unsigned long long)t, rc);
    }

    struct xenabi_mmuext_op ops[] = {
        {.cmd = XENABI_MMUEXT_PIN_L4_TABLE,
         .arg1 = machine_address((uintptr_t)l4) >> 12},
        {.cmd = XENABI_MMUEXT_NEW_BASEPTR,
         .arg1 = machine_address((uintptr_t)l4) >> 12},
    };
    long rc = mmuext(ops, 2);
    if (rc != 0)
        boot_panic("pv: Xen refused the sealed page tables (pin and switch: "
                   "%ld)",
                   rc);
    return (pool_next - p->pool_start) / PAGE_SIZE;
}

/* The present leaf mapping `va` in the sealed tables, or 0; allocates nothing. */
static uint64_t present_leaf(uint64_t va)
{
    const uint64_t *t = l4;

    for (int shift = 39; t != NULL && shift >= 12; shift -= 9) {
        uint64_t e = t[(va >> shift) & 511];

        if (!(e & PTE_P))
            return 0;
        if (shift == 12)
            return e;
        t = table_of(e);
    }
    return 0;
}

/*
 * The guard pages the initialisers asked for (boot_guard_page), unmapped
 * through Xen: on PV they come after the switch to the sealed tables,
 * because the initialisers that place them need all RAM mapped. Then
 * boot_guard_page() refuses further requests.
 */
void xenplat_pv_paging_guards(void)
{
    for (size_t g = 0; g < boot_guard_page_count(); g++) {
        uint64_t va = boot_guard_page_addr(g);
        long rc = xenplat_hypercall_raw(XENABI_HYPERCALL_UPDATE_VA_MAPPING,
                                        va, 0,
                                        XENABI_UVMF_INVLPG
                                            | XENABI_UVMF_LOCAL,
                                        0, 0);
        if (rc != 0)
            boot_panic("pv: unmapping the guard page %#llx failed: %ld",
                       (unsigned long long)va, rc);
    }
    boot_paging_mark_sealed();
}

bool xenplat_pv_paging_readable(uint64_t addr, uint64_t len)
{
    if (len == 0 || addr + len < addr)
        return false;
    if (l4 == NULL) /* still on Xen's tables: trust only the image */
        return addr >= (uintptr_t)__text_start
               && addr + len <= (uintptr_t)__image_end;
    for (uint64_t a = addr & ~(uint64_t)(PAGE_SIZE - 1); a < addr + len;
         a += PAGE_SIZE)
        if (!present_leaf(a))
            return false;
    return true;
}
