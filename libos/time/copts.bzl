"""Compiler flags of //libos/time's C code, shared with its tests."""

# -std=c11 and the warnings because the host toolchain adds neither (the
# image toolchain adds both; repeating them is harmless), so the files
# built for host tests are held to the same standard.
TIME_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
]

# Host unit tests: AddressSanitizer and UndefinedBehaviorSanitizer, and
# any report is fatal.
SANITIZE_COPTS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
]

SANITIZE_LINKOPTS = ["-fsanitize=address,undefined"]
