"""unikernel_content: files turned into a read-only table linked into an image."""

load("@rules_cc//cc:defs.bzl", "cc_library")

# The table's header and lookup (<content/content.h>), and the slot an
# image fills with at most one table. Labels, so a user's repository gets
# this repository's targets.
_CONTENT_CORE = str(Label("//libos/content:core"))
CONTENT_SLOT = "content"

# Bytes that may not appear in a served path; the tool checks the rest
# (UTF-8, segments) and the bytes of names Starlark cannot see.
_UNSAFE = ["\\", "\"", "?", "#", "%", "<", ">", "^", "`", "{", "|", "}", "\n", "\r", "\t"]

def _package_prefix(ctx):
    """The directory whose files are served, as a short path ending in "/" (or "")."""
    strip = ctx.attr.strip_prefix
    if strip.startswith("/") or strip.endswith("/") or ".." in strip.split("/") or "//" in strip:
        fail(("%s: strip_prefix = %r; write a directory relative to this package, without a leading or " +
              "trailing '/' and without '..' (e.g. \"site\")") % (ctx.label, strip))
    parts = [p for p in [ctx.label.workspace_root, ctx.label.package, strip] if p]
    return "/".join(parts) + "/" if parts else ""

def served_paths(ctx):
    """[(served path, File)]: each file's path under strip_prefix, checked at analysis."""
    prefix = _package_prefix(ctx)
    if not ctx.files.srcs:
        fail("%s: srcs is empty; list the files to serve (e.g. glob([\"site/**\"]))" % ctx.label)
    by_path = {}
    out = []
    for f in ctx.files.srcs:
        short = f.short_path
        if short.startswith("../"):
            # A file of another repository: its path from that repository's root.
            short = "external/" + short[3:]
        if not short.startswith(prefix):
            fail(("%s: %s is not under %s (this package%s); move it there or change strip_prefix") %
                 (ctx.label, f.short_path, prefix or "the workspace root",
                  " + strip_prefix %r" % ctx.attr.strip_prefix if ctx.attr.strip_prefix else ""))
        path = "/" + short[len(prefix):]
        for c in _UNSAFE:
            if c in path:
                fail("%s: %s: its served path %r holds %r; rename the file without it" % (ctx.label, f.short_path, path, c))
        key = path.lower()
        if key in by_path:
            fail("%s: %s and %s are both served at %s; rename one or change strip_prefix" %
                 (ctx.label, by_path[key].short_path, f.short_path, path))
        by_path[key] = f
        out.append((path, f))
    return out

def _unikernel_content_impl(ctx):
    files = served_paths(ctx)
    out = ctx.actions.declare_file(ctx.label.name + ".c")
    args = ctx.actions.args()
    args.add(out, format = "--output=%s")
    for path, f in files:
        args.add_all(["--file", path, f])
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [f for _, f in files],
        outputs = [out],
        mnemonic = "UnikernelContent",
        progress_message = "Generating the content table %s" % ctx.label,
        env = {"PYTHONDONTWRITEBYTECODE": "1"},
    )
    return [DefaultInfo(files = depset([out]))]

unikernel_content_rule = rule(
    implementation = _unikernel_content_impl,
    doc = "Generates the C source of a read-only content table (<content/content.h>) from files; " +
          "the unikernel_content macro compiles it into a cc_library.",
    attrs = {
        "srcs": attr.label_list(
            allow_files = True,
            mandatory = True,
            doc = "The files to serve, each at \"/\" + its path under this package's strip_prefix directory.",
        ),
        "strip_prefix": attr.string(
            doc = "A directory of this package whose files are served from \"/\" (e.g. \"site\": " +
                  "site/index.html is /index.html). Empty: the package's own directory.",
        ),
        "_tool": attr.label(
            default = "//rules_unikernel/tool:content",
            executable = True,
            cfg = "exec",
        ),
    },
)

def unikernel_content(name, srcs, strip_prefix = "", visibility = None, testonly = None, tags = None):
    """Declares `name`, a cc_library holding the files as the image's content table, and `name + "_table"` (its C source).

    Args:
      name: the cc_library an image (or a host test) links.
      srcs: the files to serve.
      strip_prefix: the directory of this package served as "/".
      visibility: visibility of the library.
      testonly: testonly of both targets.
      tags: tags of both targets (the library also gets "unikernel_slot:content").
    """
    unikernel_content_rule(
        name = name + "_table",
        srcs = srcs,
        strip_prefix = strip_prefix,
        testonly = testonly,
        tags = tags,
        visibility = ["//visibility:private"],
    )
    cc_library(
        name = name,
        srcs = [":" + name + "_table"],
        deps = [_CONTENT_CORE],
        tags = (tags or []) + ["unikernel_slot:" + CONTENT_SLOT],
        testonly = testonly,
        visibility = visibility,
    )
