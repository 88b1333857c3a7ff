"""Compiler flags of //libos/mm's C code, shared with its tests."""

# -std=c11 and the warnings because the host toolchain adds neither (the
# image toolchain adds both; repeating them is harmless), so host builds
# are held to the same standard. -fno-strict-aliasing because memory
# changes type as it moves between page maps, slab headers, pool bitmaps
# and user data.
MM_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fno-strict-aliasing",
]
