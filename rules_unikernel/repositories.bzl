"""WORKSPACE entry points of rules_unikernel.

    load("@rules_unikernel//rules_unikernel:repositories.bzl", "rules_unikernel_dependencies", "rules_unikernel_register_toolchains")
    rules_unikernel_dependencies()
    rules_unikernel_register_toolchains()

bzlmod users get the same through MODULE.bazel and extensions.bzl.
"""

load("//rules_unikernel:versions.bzl", "LITTLEFS", "LWIP")
load("//rules_unikernel/private:python_repository.bzl", "unikernel_python_repository")
load("//rules_unikernel/private:source_repositories.bzl", "debian_source_repository", "pypi_sdist_repository")
load("//rules_unikernel/private:zig_repository.bzl", "zig_toolchain_repository")

def lwip_repository(name = "lwip"):
    """@lwip: lwIP's pristine sources (versions.bzl), BUILD from //third_party/lwip."""
    debian_source_repository(
        name = name,
        package = LWIP.debian_source,
        version = LWIP.debian_version,
        archive = LWIP.archive,
        sha256 = LWIP.sha256,
        strip_prefix = LWIP.strip_prefix,
        build_file = Label("//third_party/lwip:BUILD.lwip"),
    )

def littlefs_repository(name = "littlefs"):
    """@littlefs: littlefs's pristine C sources (versions.bzl), BUILD from //third_party/littlefs."""
    pypi_sdist_repository(
        name = name,
        requirement = LITTLEFS.requirement,
        package = LITTLEFS.package,
        archive = LITTLEFS.archive,
        sha256 = LITTLEFS.sha256,
        strip_prefix = LITTLEFS.strip_prefix,
        build_file = Label("//third_party/littlefs:BUILD.littlefs"),
    )

def rules_unikernel_dependencies():
    """Declares the zig toolchain, the Python environment, @lwip and @littlefs."""
    if not native.existing_rule("rules_unikernel_zig"):
        zig_toolchain_repository(name = "rules_unikernel_zig")
    if not native.existing_rule("rules_unikernel_python"):
        unikernel_python_repository(name = "rules_unikernel_python")
    if not native.existing_rule("lwip"):
        lwip_repository()
    if not native.existing_rule("littlefs"):
        littlefs_repository()

def rules_unikernel_register_toolchains():
    """Registers the freestanding C toolchain, the link tools and the Python toolchain."""
    native.register_toolchains(
        "@rules_unikernel//rules_unikernel/toolchain:all",
        "@rules_unikernel//rules_unikernel:default_link_toolchain",
        "@rules_unikernel_python//:toolchain",
    )
