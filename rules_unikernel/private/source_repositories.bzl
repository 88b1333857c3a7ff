"""Repository rules: other people's C libraries, kept pristine and hash-pinned.

- `debian_source_repository`: the orig tarball of a Debian source package,
  fetched with `apt-get source --download-only` (apt's own sources, so the
  machine's mirror and proxy apply). Used for @lwip.
- `pypi_sdist_repository`: a directory of a PyPI sdist, fetched with
  `pip download --no-binary` (pip's own index configuration). Used for
  @littlefs.

Both check the archive's sha256 (versions.bzl) themselves, take the archive
from $RULES_UNIKERNEL_DISTDIR instead when it is there, extract it and add
a BUILD file kept in our tree. Versions are passed in by repositories.bzl and
extensions.bzl from versions.bzl.
"""

load(":fetch.bzl", "FETCH_ENVIRON", "check_sha256", "distdir_archive", "fetch_fail", "host_python", "pip_download")

def _finish(rctx, archive):
    rctx.extract(archive, stripPrefix = rctx.attr.strip_prefix)
    rctx.delete("_fetch")
    rctx.symlink(rctx.attr.build_file, "BUILD.bazel")
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

def _offline_hint(rctx):
    return "or put %s (sha256 %s) in a directory and set RULES_UNIKERNEL_DISTDIR to it (docs/dependencies.md)" % (rctx.attr.archive, rctx.attr.sha256)

def _apt_get_source(rctx, python, what):
    apt_get = rctx.which("apt-get")
    if not apt_get:
        fetch_fail(what, "this host has no apt-get to fetch Debian source package %s=%s; %s." % (rctx.attr.package, rctx.attr.version, _offline_hint(rctx)))
    rctx.file("_fetch/.keep", "")
    res = rctx.execute(
        [apt_get, "source", "--download-only", "--quiet", "%s=%s" % (rctx.attr.package, rctx.attr.version)],
        working_directory = "_fetch",
        timeout = 600,
        quiet = True,
    )
    if res.return_code != 0:
        err = res.stderr + res.stdout
        if "deb-src" in err:
            fix = "apt has no source entries: run tools/setup.sh (it adds deb-src copies of your apt sources and runs apt-get update)"
        elif "Unable to find a source package" in err or "Can not find version" in err:
            fix = "apt does not know source package %s=%s: run tools/setup.sh (deb-src entries, apt-get update)" % (rctx.attr.package, rctx.attr.version)
        else:
            lines = [l for l in err.strip().split("\n") if l.strip()]
            fix = "apt-get source failed (%s): check apt's sources and network" % (lines[-1].strip() if lines else "no output")
        fetch_fail(what, "%s, %s." % (fix, _offline_hint(rctx)))
    path = rctx.path("_fetch/" + rctx.attr.archive)
    if not path.exists:
        fetch_fail(what, "apt-get source saved no %s; %s." % (rctx.attr.archive, _offline_hint(rctx)))
    check_sha256(rctx, python, what, path, rctx.attr.sha256, "apt-get source")
    return path

def _debian_source_repository_impl(rctx):
    what = "@%s (Debian source %s=%s)" % (rctx.name, rctx.attr.package, rctx.attr.version)
    python = host_python(rctx, what)
    archive = distdir_archive(rctx, rctx.attr.archive)
    if archive:
        check_sha256(rctx, python, what, archive, rctx.attr.sha256, "$RULES_UNIKERNEL_DISTDIR")
    else:
        archive = _apt_get_source(rctx, python, what)
    _finish(rctx, archive)

_COMMON_ATTRS = {
    "archive": attr.string(mandatory = True, doc = "File name of the archive (also looked up in $RULES_UNIKERNEL_DISTDIR)."),
    "sha256": attr.string(mandatory = True, doc = "Its pinned sha256."),
    "strip_prefix": attr.string(doc = "Directory inside the archive that becomes the repository's root."),
    "build_file": attr.label(mandatory = True, allow_single_file = True, doc = "The BUILD file of the repository (kept in our tree)."),
}

debian_source_repository = repository_rule(
    implementation = _debian_source_repository_impl,
    doc = "The orig tarball of a Debian source package, fetched by apt-get source and checked by sha256.",
    attrs = dict(_COMMON_ATTRS, **{
        "package": attr.string(mandatory = True, doc = "Debian source package name."),
        "version": attr.string(mandatory = True, doc = "Debian version (e.g. 2.1.3+dfsg1-2)."),
    }),
    environ = FETCH_ENVIRON,
)

def _pypi_sdist_repository_impl(rctx):
    what = "@%s (%s sdist)" % (rctx.name, rctx.attr.requirement)
    python = host_python(rctx, what)

    # Naming the package in --no-binary (not :all:) lets pip still take its
    # build requirements as wheels while it reads the sdist's metadata.
    archive = pip_download(rctx, python, what, rctx.attr.requirement, rctx.attr.archive, rctx.attr.sha256, [
        "--no-binary",
        rctx.attr.package,
    ])
    _finish(rctx, archive)

pypi_sdist_repository = repository_rule(
    implementation = _pypi_sdist_repository_impl,
    doc = "A directory of a PyPI source distribution, fetched by pip download and checked by sha256.",
    attrs = dict(_COMMON_ATTRS, **{
        "requirement": attr.string(mandatory = True, doc = "A pinned pip requirement (name==version)."),
        "package": attr.string(mandatory = True, doc = "The PyPI project name (for --no-binary)."),
    }),
    environ = FETCH_ENVIRON,
)
