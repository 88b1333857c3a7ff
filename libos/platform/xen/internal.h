/*
 * Private to //libos/platform/xen: the joints between its files.
 */
#ifndef PLATFORM_XEN_INTERNAL_H
#define PLATFORM_XEN_INTERNAL_H

#include <boot/platform.h>
#include <platform/xen/boot.h>
#include <platform/xen/xen.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hypercall_page.S: the page Xen fills, and the call into it. */
extern char boot_hypercall_page[];
long xenplat_hypercall_raw(unsigned int nr, uint64_t a1, uint64_t a2,
                           uint64_t a3, uint64_t a4, uint64_t a5);

/*
 * Xen PV (pv_entry.S, pv.c, pv_paging.c). _start_pv calls
 * xenplat_pv_start() on the boot stack with the start info and the top
 * of Xen's bootstrap stack (the end of what Xen placed after the image).
 */
struct xenabi_start_info;
struct xenabi_console_interface;
_Noreturn void xenplat_pv_start(const struct xenabi_start_info *si,
                                uint64_t xen_stack_top);
/* xen.c's state for a PV boot: the console ring from start_info. */
void xenplat_init_pv(struct xenabi_console_interface *console,
                     uint32_t port);
uint32_t xenplat_pv_tsc_khz(void);
/* CALLBACKOP_register for the failsafe callback (upcall.c). */
long xenplat_pv_register_failsafe(void (*entry)(void));

/*
 * Switch to page tables built from the seal (pv_paging.c): RAM pages
 * [1, ram_pages) mapped, the image as sealed, the frames listed as page
 * tables read-only; `pool` pages from `pool_start` (mapped writable by Xen)
 * hold the new tables. Returns the number of pool pages used.
 */
struct pv_paging_plan {
    const uint64_t *p2m;       /* pfn -> mfn, start_info.mfn_list */
    uint64_t ram_pages;        /* map pfns [1, ram_pages) */
    uint64_t pool_start;       /* first pool page (address) */
    uint64_t pool_pages;       /* pages available there */
    uint64_t old_tables;       /* Xen's bootstrap tables (address) */
    uint64_t old_table_pages;  /* and their number */
    uint64_t shared_info_va;   /* page to map the shared info at */
    uint64_t shared_info_ma;   /* its machine address */
};
uint64_t xenplat_pv_paging_seal(const struct pv_paging_plan *plan);
/* Unmap the guard pages boot_guard_page() collected, then seal (PV). */
void xenplat_pv_paging_guards(void);

#endif /* PLATFORM_XEN_INTERNAL_H */
