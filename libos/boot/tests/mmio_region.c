/*
 * boot_mmio_region(): what it refuses, and that a region it accepted is
 * mapped read/write, non-executable and uncached in the sealed tables
 * while its neighbours stay write-back. An initialiser ordered before the
 * seal asks; main() asks again (too late) and walks the page tables.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <stdint.h>
#include <testing/check.h>

extern char __text_start[], __image_end[];

#define REGION UINT64_C(0xfeb00000) /* where microvm puts virtio-mmio */
#define PTE_P (UINT64_C(1) << 0)
#define PTE_W (UINT64_C(1) << 1)
#define PTE_PWT (UINT64_C(1) << 3)
#define PTE_PCD (UINT64_C(1) << 4)
#define PTE_PS (UINT64_C(1) << 7)
#define PTE_NX (UINT64_C(1) << 63)
#define ADDR_MASK UINT64_C(0x000ffffffffff000)

static int before_seal[8];

static void ask_before_seal(void)
{
    before_seal[0] = boot_mmio_region(REGION + 0x200, 0x200, "the test's registers");
    before_seal[1] = boot_mmio_region(REGION, 0, "empty");
    before_seal[2] = boot_mmio_region(UINT64_C(4) << 30, 4096, "above 4 GiB");
    before_seal[3] = boot_mmio_region((UINT64_C(4) << 30) - 4096, 8192,
                                      "across 4 GiB");
    before_seal[4] = boot_mmio_region((uintptr_t)__text_start, 4096,
                                      "the image");
    before_seal[5] = boot_mmio_region(0, 4096, "page 0");
    before_seal[6] = boot_mmio_region(REGION, BOOT_MMIO_REGION_MAX + 1,
                                      "too large");
    before_seal[7] = boot_mmio_region(UINT64_MAX - 4095, 8192, "wraps");
}
BOOT_INIT(ask_before_seal, BOOT_INIT_ORDER_DEVICES);

/* The leaf entry mapping `addr` (identity-mapped tables: entries are
 * addresses we can read). */
static uint64_t leaf(uint64_t addr)
{
    const uint64_t *pml4 = (const uint64_t *)(uintptr_t)(read_cr3() & ADDR_MASK);
    const uint64_t *pdpt = (const uint64_t *)(uintptr_t)(pml4[(addr >> 39) & 511] & ADDR_MASK);
    const uint64_t *pd = (const uint64_t *)(uintptr_t)(pdpt[(addr >> 30) & 511] & ADDR_MASK);
    uint64_t pde = pd[(addr >> 21) & 511];
    if (pde & PTE_PS)
        return pde;
    const uint64_t *pt = (const uint64_t *)(uintptr_t)(pde & ADDR_MASK);
    return pt[(addr >> 12) & 511];
}

int main(void)
{
    CHECK_EQ(before_seal[0], 0);
    for (int i = 1; i < 8; i++)
        CHECK_EQ(before_seal[i], -1);
    CHECK_EQ(boot_mmio_region(REGION + 0x10000, 4096, "late"), -1);

    uint64_t e = leaf(REGION);
    CHECK(e & PTE_P);
    CHECK(e & PTE_W);
    CHECK((e & (PTE_PCD | PTE_PWT)) == (PTE_PCD | PTE_PWT));
    CHECK(!(e & PTE_PS)); /* a 4 KiB page, rounded out from 0x200 bytes */
    if (rdmsr(0xc0000080u) & (UINT64_C(1) << 11)) /* EFER.NXE */
        CHECK(e & PTE_NX);
    uint64_t next = leaf(REGION + 4096);
    CHECK((next & (PTE_PCD | PTE_PWT)) == 0); /* only the region */
    CHECK(next & PTE_P);
    check_verdict((e & PTE_PCD) != 0, "device registers mapped uncached");
    return check_finish();
}
