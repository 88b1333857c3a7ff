"""resolved_cc_toolchain: the C toolchain Bazel resolves in a configuration.

`@bazel_tools//tools/cpp:current_cc_toolchain` on Bazel 4.2.3 ignores toolchain
resolution when reached through a Starlark transition (it reports the legacy
--crosstool_top toolchain), so the image rule asks through this rule instead:
it declares the C++ toolchain type and forwards what resolution picked.
"""

CC_TOOLCHAIN_TYPE = "@bazel_tools//tools/cpp:toolchain_type"

ResolvedCcToolchainInfo = provider(
    doc = "The C toolchain resolved for this target's configuration.",
    fields = {"cc": "CcToolchainInfo"},
)

def _resolved_cc_toolchain_impl(ctx):
    info = ctx.toolchains[CC_TOOLCHAIN_TYPE]
    cc = info.cc if hasattr(info, "cc") else info
    return [ResolvedCcToolchainInfo(cc = cc)]

resolved_cc_toolchain = rule(
    implementation = _resolved_cc_toolchain_impl,
    doc = "Forwards the C toolchain resolved for the target platform of this target's configuration.",
    toolchains = [CC_TOOLCHAIN_TYPE],
)
