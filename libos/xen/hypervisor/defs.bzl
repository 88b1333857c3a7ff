"""Build settings shared by the Xen platform core packages.

//libos/xen/{evtchn,gnttab,xenstore,xenbus} are built twice: for the image
by the freestanding toolchain, and for the host by the host gcc, where
their only users are the tests that drive them against the simulated
hypervisor (//libos/xen/sim). Host builds are therefore always
instrumented with AddressSanitizer and UndefinedBehaviorSanitizer: a
protocol bug or a hostile peer that makes the code touch memory it does
not own stops the test instead of passing silently.
"""

# -std=c11 and the warnings because the host toolchain adds neither (the
# image toolchain adds both; repeating them is harmless).
XEN_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
]

SANITIZE_COPTS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
]

SANITIZE_LINKOPTS = ["-fsanitize=address,undefined"]

# glibc hides POSIX functions our libc has (strnlen) under -std=c11.
HOST_DEFINES = ["-D_POSIX_C_SOURCE=200809L"]

_ON_UNIKERNEL = "//libos/xen/hypervisor:on_unikernel"

def xen_copts():
    """Compiler flags of a platform core library: sanitizers on the host only."""
    return XEN_COPTS + select({
        _ON_UNIKERNEL: [],
        "//conditions:default": SANITIZE_COPTS + HOST_DEFINES,
    })

def xen_linkopts():
    """Link flags matching xen_copts() (the sanitizer runtimes on the host)."""
    return select({
        _ON_UNIKERNEL: [],
        "//conditions:default": SANITIZE_LINKOPTS,
    })

def xen_libc():
    """<string.h> and friends: our libc in an image, the host's in host builds."""
    return select({
        _ON_UNIKERNEL: ["//libos/libc"],
        "//conditions:default": [],
    })
