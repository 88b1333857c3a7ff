"""unikernel_volume: a littlefs disk image built from files, byte-reproducible."""

load(":providers.bzl", "VolumeInfo")

# The tool's own limits (rules_unikernel/tool/unikernel/volume/layout.py), checked
# here first so that the errors come at analysis.
_IO_SIZE = 512
_MAX_BLOCK_SIZE = 1024 * 1024
_MAX_VOLUME_BYTES = 1024 * 1024 * 1024
_NAME_MAX = 255
_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024}

def _bytes(size):
    """Bytes of "1M", "64K", "4096", or None."""
    unit = size[-1:].upper() if size[-1:].upper() in ["K", "M", "G"] else ""
    number = size[:len(size) - len(unit)]
    if not number or not number.isdigit():
        return None
    return int(number) * _UNITS[unit]

def _human(n):
    for unit in ["G", "M", "K"]:
        if n % _UNITS[unit] == 0:
            return "%d%s" % (n // _UNITS[unit], unit)
    return str(n)

def _check_geometry(label, size, block_size):
    """The size in bytes, after checking it and the block size; fails naming the fix."""
    if block_size < _IO_SIZE or block_size > _MAX_BLOCK_SIZE or block_size % _IO_SIZE:
        fail("%s: block_size = %d; a block is a multiple of %d bytes from %d to %d (4096 suits most uses)" %
             (label, block_size, _IO_SIZE, _IO_SIZE, _MAX_BLOCK_SIZE))
    n = _bytes(size)
    if n == None or n == 0 or n > _MAX_VOLUME_BYTES:
        fail("%s: size = %r is not a volume size; write bytes or a number with K, M or G, from 1 block up to 1G (e.g. \"1M\")" %
             (label, size))
    if n % block_size:
        below = n - n % block_size
        fail("%s: size = %r (%d bytes) is not a multiple of block_size = %d; use \"%s\"%s" %
             (label, size, n, block_size, _human(below + block_size), (" or \"%s\"" % _human(below)) if below else ""))
    if n // block_size < 2:
        fail("%s: size = %r is %d block of %d bytes; littlefs needs at least 2 (its superblock pair) and room for the files" %
             (label, size, n // block_size, block_size))
    return n

def _repo_path(f):
    """The file's path inside its repository ("www/index.html" of @site//www:index.html too)."""
    path = f.short_path
    if path.startswith("../"):
        path = path.split("/", 2)[2]
    return path

def _prefix(ctx):
    """The directory whose contents become the volume's root, as a repository path ("" = the root)."""
    s = ctx.attr.strip_prefix
    if s.startswith("/"):
        return s.strip("/")
    base = ctx.label.package
    s = s.strip("/")
    if s in ["", "."]:
        return base
    return base + "/" + s if base else s

def _volume_paths(ctx):
    """[(path in the volume, File)], checked: under strip_prefix, names littlefs takes, no collisions."""
    prefix = _prefix(ctx)
    shown = "strip_prefix = %r (%s)" % (ctx.attr.strip_prefix, ("the directory %s/" % prefix) if prefix else "the repository root")
    out = []
    owner = {}
    for f in ctx.files.srcs:
        path = _repo_path(f)
        if prefix:
            if not path.startswith(prefix + "/"):
                fail("%s: %s is not under %s; set strip_prefix to a directory that holds every file (\"/\" keeps paths from the repository root)" %
                     (ctx.label, f.short_path, shown))
            path = path[len(prefix) + 1:]
        for part in path.split("/"):
            if len(part) > _NAME_MAX:
                fail("%s: %s: the name %r... is %d bytes; littlefs names are at most %d bytes; rename the file" %
                     (ctx.label, f.short_path, part[:40], len(part), _NAME_MAX))
        if path in owner:
            fail("%s: two files go to '%s' in the volume after %s: %s and %s; drop one or change strip_prefix" %
                 (ctx.label, path, shown, owner[path].short_path, f.short_path))
        owner[path] = f
        out.append((path, f))
    for path, f in out:
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in owner:
                fail("%s: '%s' in the volume is the file %s and also the directory of %s; drop one or change strip_prefix" %
                     (ctx.label, parent, owner[parent].short_path, f.short_path))
    return out

_LAUNCHER = """#!/bin/sh
# bazel run <volume> -- [ls|cat|extract] [PATH] [...]: `unikernel volume` on this image.
command=${{1:-ls}}
[ $# -gt 0 ] && shift
exec {cli} volume "$command" "$PWD/"{image} "$@"
"""

def _sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _unikernel_volume_impl(ctx):
    size = _check_geometry(ctx.label, ctx.attr.volume_size, ctx.attr.block_size)
    files = _volume_paths(ctx)
    image = ctx.actions.declare_file(ctx.label.name + ".img")
    listing = ctx.actions.declare_file(ctx.label.name + ".files.json")
    ctx.actions.write(listing, json.encode([[path, f.path] for path, f in files]))
    args = ctx.actions.args()
    args.add(listing, format = "--files=%s")
    args.add(str(size), format = "--size=%s")
    args.add(str(ctx.attr.block_size), format = "--block-size=%s")
    args.add(image, format = "--output=%s")
    ctx.actions.run(
        executable = ctx.attr._builder[DefaultInfo].files_to_run,
        arguments = [args],
        inputs = [listing] + [f for _, f in files],
        outputs = [image],
        mnemonic = "UnikernelVolume",
        progress_message = "Building littlefs volume %s" % ctx.label,
        env = {"PYTHONDONTWRITEBYTECODE": "1"},
    )

    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        launcher,
        _LAUNCHER.format(cli = _sh_quote(ctx.executable._cli.short_path), image = _sh_quote(image.short_path)),
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [image]).merge(ctx.attr._cli[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(files = depset([image]), executable = launcher, runfiles = runfiles),
        VolumeInfo(image = image, size = size, block_size = ctx.attr.block_size, read_only = ctx.attr.read_only),
    ]

unikernel_volume_rule = rule(
    implementation = _unikernel_volume_impl,
    doc = "Builds a littlefs disk image (<name>.img) from files, byte-reproducible; unikernel_image's " +
          "`volumes` attaches it. `bazel run :<name> -- ls|cat PATH|extract [PATH] [--output DIR]` looks inside.",
    attrs = {
        "srcs": attr.label_list(
            allow_files = True,
            doc = "The files of the volume (source or generated). Their paths inside it are their paths " +
                  "below strip_prefix.",
        ),
        "strip_prefix": attr.string(
            default = "",
            doc = "The directory whose contents become the volume's root: relative to this package " +
                  "(\"\": the package itself, \"www\": its www/), or from the repository root with a " +
                  "leading \"/\" (\"/\": paths as in the repository). Every file must be below it.",
        ),
        "volume_size": attr.string(
            mandatory = True,
            doc = "The image's size (`size` in the unikernel_volume macro; Bazel reserves that name for tests): bytes or a number with K, M or G (\"1M\"), a multiple of block_size, at " +
                  "most 1G. Files that do not fit fail the build, naming the size they need; leave room for " +
                  "what the guest writes.",
        ),
        "block_size": attr.int(
            default = 4096,
            doc = "littlefs's block size: a multiple of 512 from 512 to 1M.",
        ),
        "read_only": attr.bool(
            default = True,
            doc = "How images attach the volume unless their `volumes` says \"rw\" or \"ro\".",
        ),
        "_builder": attr.label(
            default = "//rules_unikernel/tool:volume",
            executable = True,
            cfg = "exec",
        ),
        "_cli": attr.label(
            default = "//rules_unikernel/tool:cli",
            executable = True,
            cfg = "target",
        ),
    },
    executable = True,
)

def unikernel_volume(name, size = None, volume_size = None, **kwargs):
    """Declares `name`, a unikernel_volume_rule; `size` is its `volume_size`.

    Bazel reserves the attribute name `size` for tests, so the rule calls it
    `volume_size`; BUILD files write `size = "1M"` as the issue and the docs do.

    Args:
      name: target name; the image is <name>.img.
      size: the image's size ("1M"); the rule's volume_size.
      volume_size: the same, under the rule's own name (give one of the two).
      **kwargs: srcs, strip_prefix, block_size, read_only, visibility, tags, ...
    """
    if size != None and volume_size != None:
        fail("%s: give size or volume_size, not both" % name)
    unikernel_volume_rule(name = name, volume_size = size if size != None else volume_size, **kwargs)
