"""Repository rule: the hermetic freestanding C toolchain (zig cc + ld.lld).

zig comes from its PyPI wheel, fetched by the host's pip (so the user's
index or mirror applies) and pinned by sha256 in versions.bzl. The
repository holds the unpacked zig, small wrapper scripts and the
cc_toolchain target; //toolchain registers it for //rules_unikernel/toolchain:xen_x86_64.
"""

load("//rules_unikernel:versions.bzl", "ZIG_VERSION", "ZIG_WHEELS")
load(":fetch.bzl", "FETCH_ENVIRON", "host_python", "pip_download")

# Every zig invocation gets a throwaway cache: zig's shared cache has returned
# stale objects across source changes, and a freestanding build compiles no
# libc, so nothing is lost. Absolute paths zig derives from its own location
# (its lib/include directory) are mapped to a fixed name so no output depends
# on where Bazel's output base is. The dependency file (-MF) names zig's
# headers by their real, absolute path in this output base; it is an output
# of the action, so a cache hit would hand it to another output base, whose
# include check then rejects those headers as undeclared. The wrapper
# rewrites them to the path Bazel invoked zig by (external/<repo>/...),
# under which they are declared inputs (tests/repro:depfile_test).
_WRAPPER = """#!/bin/sh
here=$(dirname "$0")
zig=$(readlink -f "$here/zig") || exit 1
zigdir=$(dirname "$zig")
tmp=$(mktemp -d "${{TMPDIR:-/tmp}}/zig.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
ZIG_GLOBAL_CACHE_DIR="$tmp" ZIG_LOCAL_CACHE_DIR="$tmp" "$zig" {command} {extra}"$@" || exit
case "$here" in /*) exit 0 ;; esac
prev=""
for arg in "$@"; do
    if [ "$prev" = "-MF" ] && [ -f "$arg" ]; then
        sed -i "s|$zigdir/|$here/|g" "$arg" || exit
    fi
    prev=$arg
done
"""

_CC_EXTRA = '"-ffile-prefix-map=$zigdir=zig" "-ffile-prefix-map=$PWD=." '

def _absolute(label):
    # In the main WORKSPACE of Bazel 4.2.3, str(Label) drops the repository
    # name; a BUILD file in another repository needs it.
    s = str(label)
    return "@rules_unikernel" + s if s.startswith("//") else s

def _zig_toolchain_repository_impl(rctx):
    key = "linux-x86_64"
    # rctx.os.arch is missing on Bazel 4.2.3; ask uname.
    arch = rctx.execute(["uname", "-m"]).stdout.strip()
    if rctx.os.name != "linux" or arch != "x86_64":
        fail("rules_unikernel: the zig toolchain is only pinned for linux x86_64 hosts (this host: %s %s)" % (rctx.os.name, arch))
    wheel = ZIG_WHEELS[key]
    what = "zig toolchain (%s)" % wheel.requirement
    python = host_python(rctx, what)
    archive = pip_download(rctx, python, what, wheel.requirement, wheel.archive, wheel.sha256, [
        "--only-binary=:all:",
        "--platform",
        wheel.platform,
        # The wheel is py3-none; the host's version satisfies its Requires-Python.
        "--python-version",
        python.version,
    ])

    # rctx.extract knows a zip by its name, not a wheel.
    rctx.symlink(archive, "_fetch/ziglang.zip")
    rctx.extract("_fetch/ziglang.zip", stripPrefix = "ziglang")
    rctx.delete("_fetch")
    for name, command, extra in [
        ("zig-cc", "cc", _CC_EXTRA),
        ("zig-ar", "ar", ""),
        ("ld.lld", "ld.lld", ""),
    ]:
        rctx.file(name, _WRAPPER.format(command = command, extra = extra), executable = True)

    lib_include = str(rctx.path("lib/include"))
    rctx.template(
        "BUILD.bazel",
        rctx.attr._build_tpl,
        substitutions = {
            "{config_bzl}": _absolute(Label("//rules_unikernel/toolchain:cc_toolchain_config.bzl")),
            "{builtin_include}": lib_include,
            "{zig_version}": ZIG_VERSION,
        },
    )

zig_toolchain_repository = repository_rule(
    implementation = _zig_toolchain_repository_impl,
    doc = "Fetches zig %s through pip (pinned in versions.bzl) and defines the freestanding cc_toolchain." % ZIG_VERSION,
    attrs = {
        "_build_tpl": attr.label(default = "//rules_unikernel/private:zig_toolchain.BUILD.tpl"),
    },
    environ = FETCH_ENVIRON,
)
