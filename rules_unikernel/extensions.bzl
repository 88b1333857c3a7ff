"""bzlmod module extension: the zig toolchain, the Python environment, @lwip and @littlefs."""

load("//rules_unikernel:repositories.bzl", "littlefs_repository", "lwip_repository")
load("//rules_unikernel/private:python_repository.bzl", "unikernel_python_repository")
load("//rules_unikernel/private:zig_repository.bzl", "zig_toolchain_repository")

def _toolchains_impl(_module_ctx):
    zig_toolchain_repository(name = "rules_unikernel_zig")
    unikernel_python_repository(name = "rules_unikernel_python")
    lwip_repository()
    littlefs_repository()

toolchains = module_extension(
    implementation = _toolchains_impl,
    doc = "Declares @rules_unikernel_zig, @rules_unikernel_python, @lwip and @littlefs (see repositories.bzl).",
)
