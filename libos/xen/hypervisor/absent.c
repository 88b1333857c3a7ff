/*
 * The hypervisor of an image that is not running on Xen (QEMU's PVH boot,
 * for example): every hypercall fails with -XENABI_ENOSYS, so the Xen
 * libraries' init functions return that and the application can print
 * "not on Xen" and carry on. Frames map virtual == physical, as the boot
 * path's page tables do.
 */
#include <hypervisor/hypervisor.h>

long xen_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3,
                   uint64_t a4, uint64_t a5)
{
    (void)nr;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    (void)a5;
    return -XENABI_ENOSYS;
}

void *xen_frame_to_ptr(xenabi_pfn_t gfn)
{
    return (void *)(uintptr_t)(gfn << XENABI_PAGE_SHIFT);
}

xenabi_pfn_t xen_ptr_to_frame(const void *page)
{
    return (xenabi_pfn_t)((uintptr_t)page >> XENABI_PAGE_SHIFT);
}
