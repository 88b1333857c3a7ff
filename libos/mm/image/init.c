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
