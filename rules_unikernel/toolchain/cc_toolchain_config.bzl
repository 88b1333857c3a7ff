"""cc_toolchain_config for freestanding x86_64 code compiled by zig cc.

Every flag that decides what the library OS may assume about its machine
lives here, in one feature, so it is visible in every compile action's argv
(//tests/analysis:freestanding_flags_test asserts on it).
"""

load(
    "@rules_cc//cc:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@rules_cc//cc:action_names.bzl", "ACTION_NAMES")

_COMPILE_ACTIONS = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
]

# The target: baseline x86-64 (SSE2, no later extensions) so images run on any
# x86-64 CPU Xen or QEMU offers; kernel-style code generation.
FREESTANDING_COPTS = [
    "-target",
    "x86_64-freestanding-none",
    "-mcpu=x86_64",
    "-ffreestanding",
    "-nostdlib",
    # Position-dependent code in the low 2 GiB: the image is linked at its
    # physical address and identity-mapped by the boot code.
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=small",
    # Interrupt handlers run on the interrupted stack: no red zone.
    "-mno-red-zone",
    # One section per function and object so the linker can drop and shuffle them.
    "-ffunction-sections",
    "-fdata-sections",
    # No .eh_frame: nothing unwinds, and it would keep dead code alive.
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    # Frame pointers make fault reports' backtraces possible.
    "-fno-omit-frame-pointer",
    # zig cc's own defaults, pinned: it defines NDEBUG at -O1 and above (asserts
    # must fire in images) and turns on UBSan at -O0 (no runtime here).
    "-UNDEBUG",
    "-fno-sanitize=all",
]

# The stack protector in "strong" mode with a global __stack_chk_guard
# (//libos/boot draws it at boot). zig cc refuses -fstack-protector-strong
# without a libc ("enabling stack protection requires libc"), so the
# equivalent clang option is handed to the compiler proper.
STACK_PROTECTOR_COPTS = ["-Xclang", "-stack-protector", "-Xclang", "2"]

_C_ACTIONS = [ACTION_NAMES.c_compile, ACTION_NAMES.cpp_compile]

# Byte-identical objects whatever the checkout path or the date.
REPRODUCIBLE_COPTS = [
    "-no-canonical-prefixes",
    "-ffile-compilation-dir=.",
    "-Werror=date-time",
]

# Optimised for size, with debug info: the linker strips the shipped image and
# keeps a debug twin with the same layout. -Os rather than -O2: about 18% less
# code in the appliances and no speed difference measurable under QEMU
# (docs/benchmarks.md, "Image sizes"). A component whose speed needs -O2
# says so in its own copts, which come after these.
DEFAULT_OPT_COPTS = ["-Os", "-g"]

def _impl(ctx):
    features = [
        feature(
            name = "freestanding_x86_64",
            enabled = True,
            flag_sets = [flag_set(
                actions = _COMPILE_ACTIONS,
                flag_groups = [flag_group(flags = FREESTANDING_COPTS + REPRODUCIBLE_COPTS + DEFAULT_OPT_COPTS)],
            )],
        ),
        feature(
            name = "c11",
            enabled = True,
            flag_sets = [flag_set(actions = [ACTION_NAMES.c_compile], flag_groups = [flag_group(flags = ["-std=c11"])])],
        ),
        feature(
            name = "warnings",
            enabled = True,
            flag_sets = [flag_set(actions = _C_ACTIONS, flag_groups = [flag_group(flags = ["-Wall", "-Wextra"])])],
        ),
        # A target can opt out with features = ["-stack_protector"].
        feature(
            name = "stack_protector",
            enabled = True,
            flag_sets = [flag_set(actions = _C_ACTIONS, flag_groups = [flag_group(flags = STACK_PROTECTOR_COPTS)])],
        ),
        # A target can opt out with features = ["-warnings_as_errors"].
        feature(
            name = "warnings_as_errors",
            enabled = True,
            flag_sets = [flag_set(actions = _C_ACTIONS, flag_groups = [flag_group(flags = ["-Werror"])])],
        ),
        # Bazel's legacy `dbg`/`opt` features are left empty on purpose: one
        # flag set whatever --compilation_mode says, so images do not change
        # with it.
        feature(name = "dbg"),
        feature(name = "opt"),
        feature(name = "fastbuild"),
        feature(name = "supports_pic", enabled = False),
    ]

    # Relative to the package of the cc_toolchain (the zig repository).
    tool_paths = [
        tool_path(name = "gcc", path = "zig-cc"),
        tool_path(name = "cpp", path = "zig-cc"),
        tool_path(name = "ar", path = "zig-ar"),
        tool_path(name = "ld", path = "ld.lld"),
        tool_path(name = "nm", path = "/bin/false"),
        tool_path(name = "objcopy", path = "/bin/false"),
        tool_path(name = "objdump", path = "/bin/false"),
        tool_path(name = "strip", path = "/bin/false"),
        tool_path(name = "gcov", path = "/bin/false"),
    ]

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = ctx.attr.builtin_include_directories,
        toolchain_identifier = "rules_unikernel_zig_freestanding",
        host_system_name = "x86_64-unknown-linux",
        target_system_name = "x86_64-unknown-none",
        target_cpu = "x86_64",
        target_libc = "none",
        compiler = "zig-freestanding",
        abi_version = "none",
        abi_libc_version = "none",
        tool_paths = tool_paths,
    )

freestanding_cc_toolchain_config = rule(
    implementation = _impl,
    doc = "The CcToolchainConfigInfo of rules_unikernel's freestanding zig toolchain.",
    attrs = {
        "builtin_include_directories": attr.string_list(
            doc = "zig's clang builtin headers, relative to the toolchain's package (used only for Bazel's inclusion check).",
        ),
    },
    provides = [CcToolchainConfigInfo],
)
