/*
 * platform/xen/pv.h - what code outside the boot path needs when the image
 * runs as a 64-bit Xen PV guest (xenplat_mode() == XENPLAT_PV,
 * <platform/xen/xen.h>):
 * frame translation, the start_info facts an HVM or PVH guest gets from
 * HVM params, and mapping a frame Xen owns (the shared info page, grant
 * table frames) over a page of ours. //libos/platform/xen:hypervisor uses
 * it to give the Xen libraries their PV path.
 *
 * Frames: a PV guest's addresses are pseudo-physical (virtual == pseudo-
 * physical in these images); Xen, grants and the other domains deal in
 * machine frames (MFNs). The p2m list from start_info maps one way, Xen's
 * read-only M2P table the other.
 *
 * Every function fails (UINT64_MAX, false, or -XENABI_ENOSYS) when the
 * image was not booted as PV.
 */
#ifndef PLATFORM_XEN_PV_H
#define PLATFORM_XEN_PV_H

#include <stdbool.h>
#include <stdint.h>

/* The machine frame behind our pseudo-physical frame `pfn`. */
uint64_t xenplat_pv_pfn_to_mfn(uint64_t pfn);

/* Our pseudo-physical frame holding machine frame `mfn`, if it is ours. */
uint64_t xenplat_pv_mfn_to_pfn(uint64_t mfn);

/* From start_info: the xenstore and console rings, and the shared info. */
struct xenplat_pv_rings {
    uint64_t store_mfn;
    uint32_t store_evtchn;
    uint32_t console_evtchn;
    uint64_t console_mfn;
    uint64_t shared_info; /* machine address */
};
bool xenplat_pv_rings(struct xenplat_pv_rings *out);

/*
 * Map machine frame `mfn` at `page` (update_va_mapping), read/write and
 * non-executable. Only a page-aligned page of the image's .data or .bss
 * may be replaced so, so W^X holds (docs/architecture.md); its own frame
 * is simply no longer mapped. Returns 0 or -XENABI_E*.
 */
long xenplat_pv_map_frame(void *page, uint64_t mfn);

/*
 * The shared info page as the boot path mapped it (over a page of .bss)
 * before anything else ran: vcpu 0's pvclock and event mask, the wall
 * clock. Written by Xen concurrently. NULL when not booted as PV.
 * (//libos/xen/evtchn maps the same frame again for itself.)
 */
struct xenabi_shared_info;
volatile struct xenabi_shared_info *xenplat_pv_shared_info(void);

#endif /* PLATFORM_XEN_PV_H */
