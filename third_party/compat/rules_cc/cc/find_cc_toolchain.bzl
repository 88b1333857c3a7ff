"""find_cc_toolchain under the load path of rules_cc (Bazel 4.2.3 compat)."""

CC_TOOLCHAIN_TYPE = "@bazel_tools//tools/cpp:toolchain_type"

def find_cc_toolchain(ctx):
    """Returns the CcToolchainInfo of the resolved C++ toolchain."""
    if "_cc_toolchain" in dir(ctx.attr):
        return ctx.attr._cc_toolchain[cc_common.CcToolchainInfo]
    return ctx.toolchains[CC_TOOLCHAIN_TYPE]

def use_cc_toolchain():
    return [CC_TOOLCHAIN_TYPE]
