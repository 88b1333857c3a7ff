"""WORKSPACE entry points of rules_unikernel.

    load("@rules_unikernel//rules_unikernel:repositories.bzl", "rules_unikernel_dependencies", "rules_unikernel_register_toolchains")
    rules_unikernel_dependencies()
    rules_unikernel_register_toolchains()

bzlmod users get the same through MODULE.bazel and extensions.bzl.
"""

load("//rules_unikernel/private:python_repository.bzl", "unikernel_python_repository")
load("//rules_unikernel/private:zig_repository.bzl", "zig_toolchain_repository")

def rules_unikernel_dependencies():
    """Declares the zig toolchain and the Python environment repositories."""
    if not native.existing_rule("rules_unikernel_zig"):
        zig_toolchain_repository(name = "rules_unikernel_zig")
    if not native.existing_rule("rules_unikernel_python"):
        unikernel_python_repository(name = "rules_unikernel_python")

def rules_unikernel_register_toolchains():
    """Registers the freestanding C toolchain, the link tools and the Python toolchain."""
    native.register_toolchains(
        "@rules_unikernel//toolchain:all",
        "@rules_unikernel//rules_unikernel:default_link_toolchain",
        "@rules_unikernel_python//:toolchain",
    )
