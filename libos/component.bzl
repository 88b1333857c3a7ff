"""The one way to declare a library-OS component, and the flags it builds with.

Every flag the C code of libos/, drivers/, examples/ and their tests is built
with is defined here, once; BUILD files load the macros, never the flags.

A component is built in one of two ways (docs/adding-a-component.md):

- `host = True` (the default): the code touches no device and no boot state,
  so it also builds for the host. In an image it is compiled by the
  freestanding toolchain against //libos/libc; on the host, where its only
  users are tests, it is compiled by the host compiler against the host's C
  library and always instrumented with AddressSanitizer and
  UndefinedBehaviorSanitizer (its "sanitizer variant"), so a bug or a hostile
  peer that makes it touch memory it does not own stops the test.
- `host = False`: image-only (devices, the boot path, interrupt entry);
  host builds of //... skip it.

A component whose device-free logic is worth testing on its own but whose
public target is image-only is two targets in its package: `core` or
`<name>_core` (host = True: the logic) and `<name>` (host = False: the
devices and the wiring, depending on the core). `core` is the one name for
"the host-buildable part".
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

# Labels, not strings, so the macro means this repository's targets when a
# user's repository loads it as @rules_unikernel//libos:component.bzl.
ON_UNIKERNEL = str(Label("//libos:on_unikernel"))
_LIBC = str(Label("//libos/libc"))
_UNIKERNEL = str(Label("//rules_unikernel/toolchain:unikernel"))

# The image toolchain adds these itself (repeating them is harmless); the
# host toolchain adds none, so host builds are held to the same standard.
COMPONENT_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
]

# Host builds: any sanitizer report is fatal.
SANITIZE_COPTS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
]

SANITIZE_LINKOPTS = ["-fsanitize=address,undefined"]

# For code that switches stacks, which AddressSanitizer cannot follow.
UBSAN_COPTS = [
    "-fsanitize=undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
]

# glibc hides POSIX functions our libc has (strnlen) under -std=c11.
HOST_DEFINES = ["-D_POSIX_C_SOURCE=200809L"]

def host_copts():
    """Flags of host-buildable code: sanitizers and glibc's POSIX names on the host only."""
    return COMPONENT_COPTS + select({
        ON_UNIKERNEL: [],
        "//conditions:default": SANITIZE_COPTS + HOST_DEFINES,
    })

def host_linkopts():
    """Link flags matching host_copts() (the sanitizer runtimes on the host)."""
    return select({
        ON_UNIKERNEL: [],
        "//conditions:default": SANITIZE_LINKOPTS,
    })

def image_libc():
    """<string.h> and friends: //libos/libc in an image, the host's C library elsewhere."""
    return select({
        ON_UNIKERNEL: [_LIBC],
        "//conditions:default": [],
    })

def _tags(slot, requires, tags):
    out = list(tags or [])
    if slot:
        out.append("unikernel_slot:" + slot)
    for r in requires or []:
        out.append("unikernel_requires:" + r)
    return out

def component(
        name,
        srcs = [],
        hdrs = None,
        deps = [],
        host = True,
        slot = None,
        requires = None,
        copts = [],
        linkopts = [],
        libc = True,
        tags = None,
        visibility = ["//visibility:public"],
        **kwargs):
    """Declares a library-OS component: one cc_library, built for the image and, if host, for host tests.

    Args:
      name: the target name.
      srcs: sources and private headers.
      hdrs: public headers; default: everything under include/ (then included as <name/x.h>).
      deps: other components.
      host: True if the code builds on the host too (with sanitizers there); False: image-only.
      slot: the component slot it fills ("unikernel_slot:<slot>"): an image links at most one filler.
      requires: slots an image that links this must fill ("unikernel_requires:<slot>").
      copts: extra compiler flags (on top of the shared ones).
      linkopts: extra link flags.
      libc: False only for what //libos/libc itself is built from; the others get <string.h>
        and friends from //libos/libc in an image (and from the host's C library on the host).
      tags: extra tags.
      visibility: default public.
      **kwargs: other cc_library attributes (alwayslink, textual_hdrs, ...).
    """
    if hdrs == None:
        hdrs = native.glob(["include/**/*.h"])
    if hdrs and all([h.startswith("include/") for h in hdrs]):
        kwargs.setdefault("strip_include_prefix", "include")
    deps = [d for d in deps if d != _LIBC]
    if host:
        all_copts = host_copts() + copts
        all_linkopts = host_linkopts() + linkopts
        all_deps = deps + (image_libc() if libc else [])
    else:
        all_copts = COMPONENT_COPTS + copts
        all_linkopts = linkopts
        all_deps = deps + ([_LIBC] if libc else [])
        kwargs["target_compatible_with"] = [_UNIKERNEL]
    cc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        copts = all_copts,
        linkopts = all_linkopts,
        deps = all_deps,
        tags = _tags(slot, requires, tags),
        visibility = visibility,
        **kwargs
    )

def interface(name, hdrs, deps = [], requires = None, visibility = ["//visibility:public"], **kwargs):
    """A component's public header alone (for users that leave the implementation to the image).

    Args:
      name: the target name (by convention "headers").
      hdrs: the public headers, under include/.
      deps: headers these include.
      requires: slots an image that links this must fill: the implementations.
      visibility: default public.
      **kwargs: other cc_library attributes.
    """
    cc_library(
        name = name,
        hdrs = hdrs,
        strip_include_prefix = "include",
        deps = deps,
        tags = _tags(None, requires, None),
        visibility = visibility,
        **kwargs
    )
