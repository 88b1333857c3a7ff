/*
 * mm_init() on an image: the boot memory map in, extents out; and what a
 * heap fault does on an image (print one line, exit).
 */
#include <boot/boot.h>
#include <boot/hvm_start_info.h>
#include <mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Bounds of the loaded image, defined by the linker (page aligned). */
extern char __text_start[], __image_end[];

/*
 * The boot code identity-maps physical memory below 4 GiB and nothing
 * above (BOOT_IDENTITY_MAP_LIMIT in <boot/platform.h>; keep in
 * step): RAM above it cannot be addressed yet.
 */
#define MAPPED_LIMIT (UINT64_C(4) << 30)

/* Below 1 MiB: real-mode data, the BIOS area and the loader's tables. */
#define LOW_MEMORY_END (UINT64_C(1) << 20)

static void exit_on_fault(const struct mm_fault_report *r)
{
    printf("[mm] corruption in %s(%p): %s\n", r->function, r->ptr,
           mm_fault_name(r->fault));
    exit(MM_EXIT_CORRUPTION);
}

void mm_init(void)
{
    /* Static: ~4 KiB is too much for the 64 KiB boot stack to spare. */
    static struct mm_region ram[BOOT_MEMMAP_MAX];
    static struct mm_region reserved[BOOT_MEMMAP_MAX + 2];
    static bool done;
    size_t ram_count = 0, reserved_count = 0;

    if (done)
        return;
    done = true;

    for (size_t i = 0; i < boot_memmap_count(); i++) {
        const struct boot_mem_region *r = boot_memmap_entry(i);

        if (r->type != HVM_MEMMAP_TYPE_RAM) {
            /* Overlapping RAM entries must not hand these out. */
            reserved[reserved_count++] = (struct mm_region){r->addr, r->size};
        } else if (r->addr < MAPPED_LIMIT) {
            uint64_t room = MAPPED_LIMIT - r->addr;
            ram[ram_count++] = (struct mm_region){
                r->addr, r->size < room ? r->size : room};
        }
    }
    reserved[reserved_count++] = (struct mm_region){0, LOW_MEMORY_END};
    reserved[reserved_count++] = (struct mm_region){
        (uintptr_t)__text_start,
        (uint64_t)((uintptr_t)__image_end - (uintptr_t)__text_start)};

    mm_init_regions(ram, ram_count, reserved, reserved_count);
    mm_randomise(boot_random_u64());
    mm_set_heap_key(boot_random_u64());

    /* Keep a handler the application installed before us. */
    mm_fault_handler previous = mm_set_fault_handler(exit_on_fault);
    if (previous)
        mm_set_fault_handler(previous);
}

/* Before main() and before any driver that allocates. */
BOOT_INIT(mm_init, BOOT_INIT_ORDER_MEMORY);

/*
 * 100 * log2(n) rounded down, n >= 1: the integer part is the bit length,
 * the fraction comes bit by bit from squaring the mantissa (no libm here).
 */
static uint64_t log2_centi(uint64_t n)
{
    if (n <= 1)
        return 0;
    unsigned whole = 63 - (unsigned)__builtin_clzll(n);
    /* The mantissa n / 2^whole in [1, 2), as a 1.31 fixed-point number. */
    uint64_t y = whole >= 31 ? n >> (whole - 31) : n << (31 - whole);
    uint64_t fraction = 0;

    for (int bit = 0; bit < 16; bit++) {
        y = (y * y) >> 31; /* y < 2^32, so the square fits */
        fraction <<= 1;
        if (y >= (UINT64_C(1) << 32)) {
            y >>= 1;
            fraction |= 1;
        }
    }
    return whole * UINT64_C(100) + ((fraction * 100) >> 16);
}

static void print_bits(const char *what, uint64_t centi)
{
    printf("%s %llu.%02llu bits", what, (unsigned long long)(centi / 100),
           (unsigned long long)(centi % 100));
}

/*
 * What the boot-time randomisation drew, in bits, after the initialisers
 * that draw it (memory, then the stack pool): one heap or stack extent
 * among E usable ones is log2(E) bits; a thread stack adds where the pool
 * starts in its extents (log2(P)) and which of the S slots it gets
 * (log2(S)). docs/security.md has the figures and the model.
 */
static void report_randomisation(void)
{
    const struct mm_boot_randomness *r = mm_boot_randomness();

    if (r->extents == 0)
        return;
    uint64_t extent = log2_centi(r->extents);
    print_bits("[boot] randomised at boot: heap", extent);
    printf(" (1 of %u extents), ", (unsigned)r->extents);
    if (r->stack_slots == 0) {
        printf("stacks none pooled\n");
        return;
    }
    print_bits("stacks",
               extent + log2_centi(r->stack_offsets) + log2_centi(r->stack_slots));
    printf(" (1 of %u extents, 1 of %llu pages, 1 of %u slots)\n",
           (unsigned)r->extents, (unsigned long long)r->stack_offsets,
           (unsigned)r->stack_slots);
}

BOOT_INIT(report_randomisation, BOOT_INIT_ORDER_STACKS + 1);
