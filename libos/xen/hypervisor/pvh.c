/*
 * The hypervisor of an image booted as a Xen PVH guest: hypercalls go
 * through the boot path's hypercall page (<boot/xen.h>). Not on Xen (the
 * same image under QEMU), boot_xen_hypercall() fails with -XENABI_ENOSYS,
 * exactly like :absent, so this is the choice for images that may run on
 * either. Frames map virtual == physical, as the boot path's page tables
 * do.
 */
#include <boot/xen.h>
#include <hypervisor/hypervisor.h>

long xen_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3,
                   uint64_t a4, uint64_t a5)
{
    return boot_xen_hypercall(nr, a1, a2, a3, a4, a5);
}

void *xen_frame_to_ptr(xenabi_pfn_t gfn)
{
    return (void *)(uintptr_t)(gfn << XENABI_PAGE_SHIFT);
}

xenabi_pfn_t xen_ptr_to_frame(const void *page)
{
    return (xenabi_pfn_t)((uintptr_t)page >> XENABI_PAGE_SHIFT);
}
