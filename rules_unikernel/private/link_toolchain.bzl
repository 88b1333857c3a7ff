"""unikernel_link_toolchain: the link tool and ld.lld, found through a toolchain type."""

load(":providers.bzl", "UnikernelLinkToolchainInfo")

def _unikernel_link_toolchain_impl(ctx):
    ld_files = depset(
        [ctx.file.ld],
        transitive = [ctx.attr.ld_files[DefaultInfo].files] if ctx.attr.ld_files else [],
    )
    return [platform_common.ToolchainInfo(
        unikernel_link = UnikernelLinkToolchainInfo(
            linker = ctx.attr.linker[DefaultInfo].files_to_run,
            ld = ctx.file.ld,
            ld_files = ld_files,
        ),
    )]

unikernel_link_toolchain = rule(
    implementation = _unikernel_link_toolchain_impl,
    doc = "The tools unikernel_image links with. Wrap it in a `toolchain(toolchain_type = " +
          "\"@rules_unikernel//rules_unikernel:link_toolchain_type\")` and register that to " +
          "replace rules_unikernel's own (docs/rules.md).",
    attrs = {
        "linker": attr.label(
            doc = "The link tool: an executable with the command line of //rules_unikernel/tool:link " +
                  "(--ld, --input, --output, ..., all given in a params file `@FILE`) that also " +
                  "speaks Bazel's persistent-worker protocol when started with --persistent_worker.",
            mandatory = True,
            executable = True,
            cfg = "exec",
        ),
        "ld": attr.label(
            doc = "The ld.lld executable the link tool runs.",
            mandatory = True,
            allow_single_file = True,
            cfg = "exec",
        ),
        "ld_files": attr.label(
            doc = "Files ld.lld needs when it runs (e.g. the rest of its distribution).",
            allow_files = True,
            cfg = "exec",
        ),
    },
)
