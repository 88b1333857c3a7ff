/*
 * The C half of the boot path: from the PVH start info to main().
 *
 * Trust boundary: the start info, memory map and command line live in
 * memory the loader owns. Each is read exactly once, bounds-checked
 * against the identity-mapped window, and copied into the statics below;
 * everything after boot_pvh() uses only the copies.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <boot/hvm_start_info.h>
#include <libc/hooks.h>
#include <platform/pc/uart16550.h>
#include <platform/xen/boot.h>
#include <platform/xen/xen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_internal.h"
#include "boot_option.h"

/* The opt-in to boot without NX, where W^X cannot stop code in data. */
#define OPTION_ALLOW_NO_NX "boot.allow_no_nx"

static struct boot_mem_region memmap[BOOT_MEMMAP_MAX];
static size_t memmap_count;
static uint64_t usable_ram;
static char cmdline[BOOT_CMDLINE_MAX];

/*
 * The BOOT_INIT entries (a linker set). Weak: an image in which nothing
 * registers one has no such section, and then both are 0.
 */
extern const struct boot_init __start_boot_init[] __attribute__((weak));
extern const struct boot_init __stop_boot_init[] __attribute__((weak));

/* main()'s arguments: argv points into a second, splittable copy. */
static char arg_storage[BOOT_CMDLINE_MAX];
static char program_name[] = "image";
static char *argv[BOOT_ARGV_MAX + 1];

size_t boot_memmap_count(void)
{
    return memmap_count;
}

const struct boot_mem_region *boot_memmap_entry(size_t index)
{
    return index < memmap_count ? &memmap[index] : NULL;
}

uint64_t boot_usable_ram(void)
{
    return usable_ram;
}

const char *boot_cmdline(void)
{
    return cmdline;
}

const char *boot_mem_type_name(uint32_t type)
{
    switch (type) {
    case HVM_MEMMAP_TYPE_RAM: return "RAM";
    case HVM_MEMMAP_TYPE_RESERVED: return "reserved";
    case HVM_MEMMAP_TYPE_ACPI: return "ACPI";
    case HVM_MEMMAP_TYPE_NVS: return "ACPI NVS";
    case HVM_MEMMAP_TYPE_UNUSABLE: return "unusable";
    case HVM_MEMMAP_TYPE_DISABLED: return "disabled";
    case HVM_MEMMAP_TYPE_PMEM: return "persistent";
    default: return "unknown";
    }
}

/*
 * May the boot path read [paddr, paddr + len)? Only inside the identity
 * map; and address 0 means "absent" in the start info (C may not
 * dereference a null pointer anyway).
 */
static bool mapped(uint64_t paddr, uint64_t len)
{
    return paddr != 0 && paddr < BOOT_IDENTITY_MAP_LIMIT
           && len <= BOOT_IDENTITY_MAP_LIMIT - paddr;
}

static const void *phys(uint64_t paddr)
{
    return (const void *)(uintptr_t)paddr;
}

static void copy_cmdline(uint64_t paddr)
{
    if (paddr == 0)
        return; /* "not present" in the PVH ABI: keep "" */
    if (!mapped(paddr, 1))
        boot_panic("command line at %#llx is outside the identity map",
                   (unsigned long long)paddr);

    /* Never read past the map, even if the string is unterminated. */
    uint64_t room = BOOT_IDENTITY_MAP_LIMIT - paddr;
    size_t max = room < sizeof cmdline - 1 ? (size_t)room : sizeof cmdline - 1;
    size_t len = strnlen(phys(paddr), max);

    memcpy(cmdline, phys(paddr), len);
    cmdline[len] = '\0';
    if (len == sizeof cmdline - 1 && ((const char *)phys(paddr))[len] != '\0')
        printf("[boot] warning: command line truncated to %zu bytes\n", len);
}

static void copy_memmap(uint64_t paddr, uint32_t entries)
{
    const uint64_t entry_size = sizeof(struct hvm_memmap_table_entry);
    const struct hvm_memmap_table_entry *src = phys(paddr);
    uint32_t dropped = 0;

    if (entries == 0)
        return;
    if (!mapped(paddr, entries * entry_size))
        boot_panic("memory map (%u entries at %#llx) is outside the "
                   "identity map",
                   entries, (unsigned long long)paddr);

    for (uint32_t i = 0; i < entries; i++) {
        struct hvm_memmap_table_entry e;

        memcpy(&e, &src[i], sizeof e); /* one read of loader memory */
        /*
         * Empty entries say nothing (QEMU's microvm firmware appends one);
         * one that wraps past 2^64 is garbage. Neither is kept.
         */
        if (e.size == 0)
            continue;
        if (e.size - 1 > UINT64_MAX - e.addr) {
            printf("[boot] warning: ignoring memory map entry %u "
                   "(%#llx + %#llx wraps)\n",
                   i, (unsigned long long)e.addr,
                   (unsigned long long)e.size);
            continue;
        }
        if (memmap_count == BOOT_MEMMAP_MAX) {
            dropped++;
            continue;
        }
        memmap[memmap_count++] = (struct boot_mem_region){e.addr, e.size,
                                                          e.type};
        if (e.type == HVM_MEMMAP_TYPE_RAM)
            usable_ram += e.size;
    }
    if (dropped)
        printf("[boot] warning: memory map too long, dropped the last %u "
               "entries\n",
               dropped);
}

static void record_start_info(const struct hvm_start_info *si)
{
    struct hvm_start_info info = {0};

    if (!mapped((uintptr_t)si, HVM_START_INFO_SIZE_V0))
        boot_panic("start info pointer %p is invalid", (const void *)si);
    /* Version 0 ends before the memory map fields: read only what exists. */
    memcpy(&info, si, HVM_START_INFO_SIZE_V0);
    if (info.magic != HVM_START_MAGIC_VALUE)
        boot_panic("bad PVH start info magic %#x at %p (want %#x); "
                   "was this image booted through XEN_ELFNOTE_PHYS32_ENTRY?",
                   info.magic, (const void *)si, HVM_START_MAGIC_VALUE);
    if (info.version >= 1) {
        if (!mapped((uintptr_t)si, sizeof info))
            boot_panic("start info at %p is outside the identity map",
                       (const void *)si);
        memcpy(&info, si, sizeof info);
    }

    copy_cmdline(info.cmdline_paddr);
    copy_memmap(info.memmap_paddr, info.memmap_entries);
}

void boot_check_cpu(bool nx)
{
    const char *bad = NULL;
    size_t bad_len = 0;
    enum boot_flag allow =
        boot_option_flag(cmdline, OPTION_ALLOW_NO_NX, &bad, &bad_len);

    boot_entropy_report();
    if (allow == BOOT_FLAG_MALFORMED)
        boot_panic("command line: \"%.*s\" is not understood; write "
                   OPTION_ALLOW_NO_NX "=1 (or =0)",
                   (int)bad_len, bad);
    if (nx)
        return;
    if (allow != BOOT_FLAG_ON)
        boot_panic("this CPU has no NX (execute-disable), so W^X cannot "
                   "stop code from running in data, stacks and the heap; "
                   "refusing to boot (" OPTION_ALLOW_NO_NX "=1 on the "
                   "command line boots anyway, without that protection)");
    printf("[boot] WARNING: this CPU has no NX (execute-disable): data, "
           "stacks and the heap are executable and W^X is void; booting "
           "only because of " OPTION_ALLOW_NO_NX "=1\n");
}

/*
 * Call the initialisers with orders in [from, to) in ascending order. The
 * set is read-only and has a handful of entries, so rather than sort it,
 * each round runs the entries of the next order up.
 */
static void run_initialisers(uint64_t from, uint64_t to)
{
    const struct boot_init *set = __start_boot_init;
    size_t count =
        ((uintptr_t)__stop_boot_init - (uintptr_t)set) / sizeof *set;
    uint64_t floor = from; /* orders below this have run */

    for (;;) {
        uint64_t next = UINT64_MAX;

        for (size_t i = 0; i < count; i++)
            if (set[i].order >= floor && set[i].order < next)
                next = set[i].order;
        if (next >= to)
            return;
        for (size_t i = 0; i < count; i++)
            if (set[i].order == next)
                set[i].fn();
        floor = next + 1;
    }
}

/*
 * The initialisers that shape the sealed page tables (guard pages), with
 * the memory map already recorded: both boot paths call this just before
 * they seal.
 */
void boot_run_initialisers_before_seal(void)
{
    run_initialisers(0, BOOT_INIT_ORDER_SEAL);
}

/* Split the command line copy at whitespace into argv[1..]. */
static int split_args(void)
{
    static const char whitespace[] = " \t\n\v\f\r";
    int argc = 0;
    char *save;

    argv[argc++] = program_name;
    memcpy(arg_storage, cmdline, sizeof arg_storage);
    for (char *word = strtok_r(arg_storage, whitespace, &save); word;
         word = strtok_r(NULL, whitespace, &save)) {
        if (argc == BOOT_ARGV_MAX) {
            printf("[boot] warning: more than %d arguments, dropping "
                   "\"%s\" and the rest\n",
                   BOOT_ARGV_MAX - 1, word);
            break;
        }
        argv[argc++] = word;
    }
    argv[argc] = NULL;
    return argc;
}

_Noreturn void boot_pvh(const struct hvm_start_info *si)
{
    /*
     * Console first: every later failure must be able to say why. On Xen
     * (found by CPUID, which changes nothing) the console is Xen's: a PVH
     * guest has no UART. Otherwise COM1.
     */
    bool xen = xenplat_init();
    if (xen) {
        libc_set_output(xenplat_console_write);
    } else {
        uart16550_init();
        libc_set_output(uart16550_write);
    }
    libc_set_exit(platform_exit);
    if (xen)
        xenplat_report();
    boot_exceptions_init();

    record_start_info(si);
    boot_check_cpu(boot_cpu_nx());
    /*
     * Everything needed from low memory is copied. The initialisers that
     * shape the sealed tables (guard pages) run, then the switch to the
     * sealed page tables (W^X from the linker's manifest, NULL and the
     * guard pages unmapped, the tables read-only), then everything else.
     */
    boot_run_initialisers_before_seal();
    boot_paging_seal();

    char **args;
    int argc = boot_prepare_main(&args);
    /* main() is called from here, so backtraces end in boot_pvh. */
    exit(main(argc, args));
}

/*
 * The common tail of the PVH and PV boot paths, once the console, the
 * exception handlers, the copies of the loader's data and the sealed page
 * tables are in place: run the initialisers that come after the seal,
 * split the command line.
 * The caller then calls main() itself.
 */
int boot_prepare_main(char ***args)
{
    run_initialisers(BOOT_INIT_ORDER_SEAL, UINT64_MAX);
    int argc = split_args();
    if (xenplat_on_xen())
        xenplat_report_main();
    *args = argv;
    return argc;
}

/* The PV boot path's command line (start_info.cmd_line, up to `max`). */
void boot_record_cmdline(const char *text, size_t max)
{
    size_t len = strnlen(text, max < sizeof cmdline - 1 ? max
                                                         : sizeof cmdline - 1);

    memcpy(cmdline, text, len);
    cmdline[len] = '\0';
}

/* The PV boot path's memory map, which it makes up from start_info. */
void boot_record_memory(uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0 || memmap_count == BOOT_MEMMAP_MAX)
        return;
    memmap[memmap_count++] = (struct boot_mem_region){addr, size, type};
    if (type == HVM_MEMMAP_TYPE_RAM)
        usable_ram += size;
}
