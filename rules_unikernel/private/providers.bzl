"""Providers of rules_unikernel."""

UnikernelImageInfo = provider(
    doc = "A linked unikernel image and what was built alongside it.",
    fields = {
        "elf": "File: the stripped, bootable image (<name>.elf).",
        "debug_elf": "File: the same layout with symbols and DWARF (<name>.debug.elf).",
        "manifest": "File: the linker's JSON manifest (<name>.manifest.json).",
        "map": "File: the link map (<name>.map).",
        "cmdline": "string: the command line the image is booted with by default.",
        "memory_mib": "int: guest memory in MiB for QEMU runs.",
    },
)
