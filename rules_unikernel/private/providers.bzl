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

UnikernelLinkToolchainInfo = provider(
    doc = "The tools unikernel_image links with; returned (as the field `unikernel_link` of " +
          "ToolchainInfo) by a unikernel_link_toolchain registered for " +
          "//rules_unikernel:link_toolchain_type.",
    fields = {
        "linker": "FilesToRunProvider: the link tool (rules_unikernel's //rules_unikernel/tool:link " +
                  "or a program with the same command line and worker protocol).",
        "ld": "File: the ld.lld the link tool runs (its --ld).",
        "ld_files": "depset of File: everything ld.lld needs at run time.",
    },
)
