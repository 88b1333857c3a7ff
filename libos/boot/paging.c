/*
 * W^X at run time: the page tables the image runs on, built from the
 * linker's seal manifest (<boot/seal.h>), then sealed.
 *
 * entry.S runs C on a simple identity map (first 4 GiB, read/write/execute).
 * boot_paging_seal() replaces it with one where
 *   - text is read + execute, notes and rodata read-only and non-executable,
 *     data and bss read/write and non-executable, at 4 KiB granularity;
 *   - all other memory below 4 GiB (the heap, I/O) is read/write and
 *     non-executable, in 2 MiB pages;
 *   - device registers that components declared before the seal
 *     (boot_mmio_region) are read/write, non-executable and uncached;
 *   - page 0 is unmapped, so NULL pointer accesses fault, and so are the
 *     guard pages below the boot stack and the exception stack;
 *   - the page-table pages themselves are read-only, and so are the GDT
 *     and TSS (exceptions.c): with CR0.WP set (entry.S)
 *     not even the kernel can change a mapping afterwards, and there is no
 *     API to map anything. That is the seal.
 * Execute-disable needs EFER.NXE, which entry.S sets when the CPU has NX;
 * without it the NX bit is reserved, so it is left clear and only W is
 * enforced (boot_paging_nx() says which).
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <boot/seal.h>
#include <platform/xen/boot.h>
#include <platform/xen/xen.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "boot_internal.h"

#define PAGE_SIZE 4096u
#define LARGE_PAGE_SIZE (512u * PAGE_SIZE)
#define ENTRIES 512

#define PTE_P (UINT64_C(1) << 0)
#define PTE_W (UINT64_C(1) << 1)
#define PTE_PWT (UINT64_C(1) << 3)
#define PTE_PCD (UINT64_C(1) << 4)
#define PTE_PS (UINT64_C(1) << 7)
#define PTE_NX (UINT64_C(1) << 63)

#define MSR_EFER 0xc0000080u
#define EFER_NXE (UINT64_C(1) << 11)

#define MAPPED_GIB 4
/*
 * 4 KiB tables: the first 2 MiB, those covering the image, one per
 * 2 MiB region with guard pages (thread stacks), and up to two per
 * device region (boot_mmio_region).
 */
#define SMALL_TABLES (32 + 2 * BOOT_MMIO_REGIONS_MAX)
#define POOL_PAGES (2 + MAPPED_GIB + SMALL_TABLES)

typedef uint64_t table[ENTRIES];

/*
 * Page-aligned and in a section of its own, so that once sealed (mapped
 * read-only) it shares no page with data that must stay writable.
 */
static table pool[POOL_PAGES]
    __attribute__((aligned(PAGE_SIZE), section(".bss.boot_paging")));
static size_t pool_used;
static bool nx;
static bool sealed;

/* Pages boot_guard_page() asked to leave unmapped, and their names. */
static struct {
    uint64_t page;
    const char *what;
} guards[BOOT_GUARD_PAGES_MAX];
static size_t guard_count;

/* Device registers boot_mmio_region() asked to map uncached. */
static struct {
    uint64_t start, end; /* page-aligned */
    const char *what;
} mmio[BOOT_MMIO_REGIONS_MAX];
static size_t mmio_count;

/* Bounds of the loaded image, defined by the linker (page aligned). */
extern char __text_start[], __image_end[];

static uint64_t *new_table(void)
{
    if (pool_used == POOL_PAGES)
        boot_panic("page tables: more than %u 2 MiB regions need 4 KiB "
                   "pages (the image, guard pages, device registers); raise "
                   "SMALL_TABLES in "
                   "paging.c",
                   SMALL_TABLES - 1);
    uint64_t *t = pool[pool_used++];
    memset(t, 0, sizeof(table));
    return t;
}

static uint64_t *pd_for(uint64_t *pdpt, uint64_t addr)
{
    return (uint64_t *)(uintptr_t)(pdpt[addr >> 30] & ~(uint64_t)0xfff
                                   & ~PTE_NX);
}

/* The 4 KiB page table behind `addr`, splitting its 2 MiB page if needed. */
static uint64_t *pt_for(uint64_t *pdpt, uint64_t addr)
{
    uint64_t *pde = &pd_for(pdpt, addr)[(addr >> 21) & 511];

    if (*pde & PTE_PS) {
        uint64_t base = addr & ~(uint64_t)(LARGE_PAGE_SIZE - 1);
        uint64_t keep = *pde & (PTE_W | PTE_NX);
        uint64_t *pt = new_table();

        for (unsigned i = 0; i < ENTRIES; i++)
            pt[i] = (base + (uint64_t)i * PAGE_SIZE) | PTE_P | keep;
        /* A table entry grants everything; the leaves decide. */
        *pde = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W;
    }
    return (uint64_t *)(uintptr_t)(*pde & ~(uint64_t)0xfff & ~PTE_NX);
}

static void set_page(uint64_t *pdpt, uint64_t addr, uint64_t bits)
{
    pt_for(pdpt, addr)[(addr >> 12) & 511] =
        (addr & ~(uint64_t)(PAGE_SIZE - 1)) | bits;
}

static uint64_t leaf_bits(uint32_t flags)
{
    uint64_t bits = PTE_P;

    if (flags & UNIKERNEL_SEAL_W)
        bits |= PTE_W;
    if (!(flags & UNIKERNEL_SEAL_X) && nx)
        bits |= PTE_NX;
    return bits;
}

static void check_seal(const struct unikernel_seal *seal)
{
    if (seal->version != UNIKERNEL_SEAL_VERSION)
        boot_panic("seal manifest version %u, this boot code reads %u",
                   seal->version, UNIKERNEL_SEAL_VERSION);
    for (uint32_t i = 0; i < seal->count; i++) {
        const struct unikernel_seal_region *r = &seal->regions[i];

        if ((r->flags & UNIKERNEL_SEAL_W) && (r->flags & UNIKERNEL_SEAL_X))
            boot_panic("seal region %u is writable and executable", i);
        if (r->end < r->start || r->end > (UINT64_C(1) << 30))
            boot_panic("seal region %u [%#llx, %#llx) is invalid", i,
                       (unsigned long long)r->start,
                       (unsigned long long)r->end);
    }
}

int boot_guard_page(const void *page, const char *what)
{
    uint64_t a = (uintptr_t)page;

    if (sealed || a % PAGE_SIZE != 0 || a == 0
        || a >= (uint64_t)MAPPED_GIB << 30 || guard_count == BOOT_GUARD_PAGES_MAX
        || (a + PAGE_SIZE > (uintptr_t)__text_start
            && a < (uintptr_t)__image_end))
        return -1;
    guards[guard_count].page = a;
    guards[guard_count].what = what;
    guard_count++;
    return 0;
}

int boot_mmio_region(uint64_t addr, uint64_t len, const char *what)
{
    uint64_t limit = (uint64_t)MAPPED_GIB << 30;

    if (sealed || xenplat_mode() == XENPLAT_PV || len == 0
        || len > BOOT_MMIO_REGION_MAX || addr >= limit || len > limit - addr
        || mmio_count == BOOT_MMIO_REGIONS_MAX)
        return -1;
    uint64_t start = addr & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t end = (addr + len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (start == 0
        || (end > (uintptr_t)__text_start && start < (uintptr_t)__image_end))
        return -1;
    mmio[mmio_count].start = start;
    mmio[mmio_count].end = end;
    mmio[mmio_count].what = what;
    mmio_count++;
    return 0;
}

size_t boot_guard_page_count(void)
{
    return guard_count;
}

uint64_t boot_guard_page_addr(size_t index)
{
    return index < guard_count ? guards[index].page : 0;
}

void boot_paging_mark_sealed(void)
{
    sealed = true;
}

void boot_paging_seal(void)
{
    const struct unikernel_seal *seal = &__unikernel_seal;

    check_seal(seal);
    nx = (rdmsr(MSR_EFER) & EFER_NXE) != 0;
    uint64_t rw_nx = PTE_P | PTE_W | (nx ? PTE_NX : 0);

    /* Everything below 4 GiB: read/write data in 2 MiB pages. */
    uint64_t *pml4 = new_table();
    uint64_t *pdpt = new_table();
    pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
    for (unsigned g = 0; g < MAPPED_GIB; g++) {
        uint64_t *pd = new_table();

        pdpt[g] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
        for (unsigned i = 0; i < ENTRIES; i++)
            pd[i] = ((uint64_t)g << 30) + (uint64_t)i * LARGE_PAGE_SIZE
                    | rw_nx | PTE_PS;
    }

    /* The image, page by page, as the linker sealed it. */
    for (uint32_t i = 0; i < seal->count; i++) {
        const struct unikernel_seal_region *r = &seal->regions[i];
        uint64_t first = r->start & ~(uint64_t)(PAGE_SIZE - 1);

        for (uint64_t a = first; a < r->end; a += PAGE_SIZE)
            set_page(pdpt, a, leaf_bits(r->flags));
    }

    /* Device registers: uncached, never executable. */
    for (size_t m = 0; m < mmio_count; m++)
        for (uint64_t a = mmio[m].start; a < mmio[m].end; a += PAGE_SIZE)
            set_page(pdpt, a, rw_nx | PTE_PCD | PTE_PWT);

    /* Holes that must fault. */
    set_page(pdpt, 0, 0);
    set_page(pdpt, (uintptr_t)boot_stack_guard, 0);
    set_page(pdpt, (uintptr_t)boot_exception_stack_guard, 0);
    for (size_t g = 0; g < guard_count; g++)
        set_page(pdpt, guards[g].page, 0);

    /*
     * The tables themselves become read-only: the seal. So do the GDT and
     * TSS (loaded already), which hold the exception stack pointer.
     */
    uint64_t ro = PTE_P | (nx ? PTE_NX : 0);
    for (size_t p = 0; p < POOL_PAGES; p++)
        set_page(pdpt, (uintptr_t)pool[p], ro);
    set_page(pdpt, (uintptr_t)&boot_descriptors, ro);

    write_cr3((uint64_t)(uintptr_t)pml4);
    sealed = true;
}

/* The leaf entry mapping `addr` in the sealed tables (0: not mapped). */
static uint64_t leaf(uint64_t addr)
{
    const uint64_t *pml4 = pool[0], *pdpt = pool[1];

    if (!(pml4[0] & PTE_P) || addr >= (uint64_t)MAPPED_GIB << 30)
        return 0;
    const uint64_t *pd = pd_for((uint64_t *)pdpt, addr);
    uint64_t pde = pd[(addr >> 21) & 511];
    if (!(pde & PTE_P) || (pde & PTE_PS))
        return pde;
    const uint64_t *pt =
        (const uint64_t *)(uintptr_t)(pde & ~(uint64_t)0xfff & ~PTE_NX);
    return pt[(addr >> 12) & 511];
}

bool boot_paging_readable(uint64_t addr, uint64_t len)
{
    if (xenplat_mode() == XENPLAT_PV)
        return xenplat_pv_paging_readable(addr, len);
    if (len == 0 || addr + len < addr
        || addr + len > (uint64_t)MAPPED_GIB << 30)
        return false;
    if (!sealed) /* entry.S's identity map: all of the first 4 GiB */
        return true;
    for (uint64_t a = addr & ~(uint64_t)(PAGE_SIZE - 1); a < addr + len;
         a += PAGE_SIZE)
        if (!(leaf(a) & PTE_P))
            return false;
    return true;
}

bool boot_paging_nx(void)
{
    return nx;
}

/* Which part of the image `addr` lies in, for fault reports. */
const char *boot_paging_region(uint64_t addr)
{
    static const char *const names[] = {
        [UNIKERNEL_SEAL_TEXT] = "text",   [UNIKERNEL_SEAL_NOTES] = "notes",
        [UNIKERNEL_SEAL_RODATA] = "rodata", [UNIKERNEL_SEAL_DATA] = "data",
        [UNIKERNEL_SEAL_BSS] = "bss",
    };
    const struct unikernel_seal *seal = &__unikernel_seal;
    uint64_t guard = (uintptr_t)boot_stack_guard;

    if (addr < PAGE_SIZE)
        return "page 0: a NULL pointer";
    uint64_t xguard = (uintptr_t)boot_exception_stack_guard;
    uint64_t descriptors = (uintptr_t)&boot_descriptors;

    if (addr >= guard && addr < guard + PAGE_SIZE)
        return "the boot stack's guard page: a stack overflow";
    if (addr >= xguard && addr < xguard + PAGE_SIZE)
        return "the exception stack's guard page: a stack overflow";
    if (addr >= xguard + PAGE_SIZE
        && addr < (uintptr_t)boot_exception_stack_top)
        return "the exception stack";
    if (addr >= descriptors && addr < descriptors + PAGE_SIZE)
        return "the sealed GDT and TSS";
    for (size_t g = 0; g < guard_count; g++)
        if (addr >= guards[g].page && addr < guards[g].page + PAGE_SIZE)
            return guards[g].what;
    for (size_t m = 0; m < mmio_count; m++)
        if (addr >= mmio[m].start && addr < mmio[m].end)
            return mmio[m].what;
    if (addr >= (uintptr_t)pool && addr < (uintptr_t)(pool + POOL_PAGES))
        return "the sealed page tables";
    if (addr >= (uintptr_t)boot_stack && addr < (uintptr_t)boot_stack_top)
        return "the boot stack";
    for (uint32_t i = 0; i < seal->count; i++) {
        const struct unikernel_seal_region *r = &seal->regions[i];

        if (addr >= r->start && addr < r->end && r->kind < 6)
            return names[r->kind];
    }
    return NULL;
}
