/*
 * The smallest useful appliance: it proves the boot path works by
 * printing what the boot path learned, then exits with status 0.
 */
#include <boot/boot.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello from a PVH unikernel!\n");

    printf("command line: \"%s\"\n", boot_cmdline());
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("  argv[%d] = \"%s\"\n", i, argv[i]);

    size_t n = boot_memmap_count();
    printf("memory map: %zu entries\n", n);
    for (size_t i = 0; i < n; i++) {
        const struct boot_mem_region *r = boot_memmap_entry(i);
        /* Print inclusive end addresses, as firmware E820 dumps do. */
        printf("  [0x%016llx-0x%016llx] %10llu KiB  %s\n",
               (unsigned long long)r->addr,
               (unsigned long long)(r->addr + r->size - 1),
               (unsigned long long)(r->size >> 10),
               boot_mem_type_name(r->type));
    }
    printf("usable RAM: %llu MiB\n",
           (unsigned long long)(boot_usable_ram() >> 20));
    return 0;
}
