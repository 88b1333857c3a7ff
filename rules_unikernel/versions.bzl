"""Pinned versions and hashes of everything rules_unikernel fetches.

This is the one place to bump them. The Python packages are pinned, with
hashes, in rules_unikernel/toolchain/python/requirements_lock.txt.

No download host is named here or anywhere in the tree: wheels and sdists
come through the host's pip (so pip.conf, PIP_INDEX_URL and mirrors apply),
Debian source packages through apt-get (so apt's own sources apply). We check
every sha256 ourselves as well. A file of the name `archive` placed in the
directory named by $RULES_UNIKERNEL_DISTDIR is used instead of fetching
(same hash check). See docs/dependencies.md.
"""

# zig (clang + LLD inside) from its PyPI wheel: a zip holding `ziglang/zig`
# and `ziglang/lib/`. Only linux x86_64 hosts are supported for now.
ZIG_VERSION = "0.17.1"

ZIG_WHEELS = {
    "linux-x86_64": struct(
        requirement = "ziglang==" + ZIG_VERSION,
        # pip download --platform: the wheel for this host (a py3-none
        # wheel: any Python runs pip).
        platform = "manylinux_2_12_x86_64",
        archive = "ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
        sha256 = "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54",
    ),
}

# lwIP, the TCP/IP stack, from Debian's source package (orig tarball only:
# upstream's tree, minus what Debian's dfsg repack removed). @lwip.
LWIP = struct(
    version = "2.1.3",
    debian_source = "lwip",
    debian_version = "2.1.3+dfsg1-2",
    archive = "lwip_2.1.3+dfsg1.orig.tar.xz",
    sha256 = "0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24",
    strip_prefix = "lwip-2.1.3",
)

# littlefs 2.11 (LFS_VERSION 0x0002000b), the C sources shipped in the
# littlefs-python sdist (its `littlefs/` directory). @littlefs.
LITTLEFS = struct(
    version = "2.11",
    requirement = "littlefs-python==0.19.0",
    package = "littlefs-python",
    archive = "littlefs_python-0.19.0.tar.gz",
    sha256 = "4ce8c6eeeb2703abaf8cb60f2dab624b17af42b13df3dbc6c42d4142bad79a59",
    strip_prefix = "littlefs_python-0.19.0/littlefs",
)
