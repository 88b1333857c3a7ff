/*
 * The boot path's promises to main(): argv split from the command line
 * as documented in <boot/boot.h>, the raw command line kept verbatim,
 * and a memory map whose RAM adds up to boot_usable_ram().
 */
#include <boot/boot.h>
#include <boot/hvm_start_info.h>
#include <stdio.h>
#include <string.h>

#include <testing/check.h>

/* Must match `cmdline` in BUILD.bazel. */
static const char cmdline[] = "  alpha\tbeta  gamma ";


int main(int argc, char **argv)
{
    CHECK_MSG(strcmp(boot_cmdline(), cmdline) == 0, "raw command line kept");
    CHECK_MSG(argc == 4, "argc counts \"image\" plus three words");
    CHECK_MSG(argc >= 1 && strcmp(argv[0], "image") == 0, "argv[0] is \"image\"");
    CHECK_MSG(argc >= 4 && strcmp(argv[1], "alpha") == 0
              && strcmp(argv[2], "beta") == 0
              && strcmp(argv[3], "gamma") == 0,
          "words split at spaces and tabs");
    CHECK_MSG(argv[argc] == NULL, "argv[argc] is NULL");

    uint64_t ram = 0;
    for (size_t i = 0; i < boot_memmap_count(); i++) {
        const struct boot_mem_region *r = boot_memmap_entry(i);
        CHECK_MSG(r->size != 0, "no empty memory map entries");
        if (r->type == HVM_MEMMAP_TYPE_RAM)
            ram += r->size;
    }
    CHECK_MSG(boot_memmap_entry(boot_memmap_count()) == NULL,
          "entry past the end is NULL");
    CHECK_MSG(ram == boot_usable_ram(), "usable RAM is the sum of RAM entries");
    CHECK_MSG(ram >= (UINT64_C(16) << 20), "at least 16 MiB of RAM reported");

    return check_finish();
}
