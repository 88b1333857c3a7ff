"""bzlmod module extension: the zig toolchain and the Python environment."""

load("//rules_unikernel/private:python_repository.bzl", "unikernel_python_repository")
load("//rules_unikernel/private:zig_repository.bzl", "zig_toolchain_repository")

def _toolchains_impl(_module_ctx):
    zig_toolchain_repository(name = "rules_unikernel_zig")
    unikernel_python_repository(name = "rules_unikernel_python")

toolchains = module_extension(
    implementation = _toolchains_impl,
    doc = "Declares @rules_unikernel_zig and @rules_unikernel_python (see repositories.bzl).",
)
