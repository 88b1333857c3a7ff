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
        "volumes": "list of struct(volume = VolumeInfo, read_only = bool): the disks attached, in order " +
                   "(virtio-blk devices in QEMU, xvda, xvdb, ... on Xen).",
        "xl_cfg": "File: the Xen domain config (<name>.xl.cfg): the image, its volumes and a vif per NIC.",
    },
)

VolumeInfo = provider(
    doc = "A littlefs disk image built by unikernel_volume.",
    fields = {
        "image": "File: the raw disk image (<name>.img).",
        "size": "int: its size in bytes.",
        "block_size": "int: the littlefs block size in bytes.",
        "read_only": "bool: how images attach it unless they say otherwise.",
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
