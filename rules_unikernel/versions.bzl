"""Pinned versions and hashes of everything rules_unikernel downloads.

This is the one place to bump them. The Python packages are pinned, with
hashes, in rules_unikernel/toolchain/python/requirements_lock.txt.
"""

# zig (clang + LLD inside) from its PyPI wheel: a zip holding `ziglang/zig`
# and `ziglang/lib/`. Only linux x86_64 hosts are supported for now.
ZIG_VERSION = "0.17.1"

ZIG_WHEELS = {
    "linux-x86_64": struct(
        url = "https://files.pythonhosted.org/packages/59/e3/2a34676370a11c36b7cd04ffb2439c1089c0530cf4b01408c77cf7f8d9c3/ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
        sha256 = "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54",
    ),
}
