"""Repository rule: the Python environment of the linker tool and the tests.

Installs the hash-locked requirements (rules_unikernel/toolchain/python/requirements_lock.txt)
with the host's python3 into a plain `site-packages` directory and registers
that interpreter as Bazel's Python toolchain. Nothing is installed by hand.

Decision (docs/python.md): the interpreter is the host's python3 (>= 3.10),
not a downloaded one, because no standalone CPython build can be fetched from
the registries this project may use. The packages are hermetic (pinned by
hash, binary wheels only); installer bookkeeping that records paths or times
(RECORD, INSTALLER, direct_url.json, bin/ shebangs) is removed so the tree
does not depend on where it was installed.
"""

load(":fetch.bzl", "PYTHON_ENVIRON", "fetch_fail", "host_python", "run_pip")

_WHAT = "Python environment"

_LAUNCHER = """#!/bin/sh
# rules_unikernel's Python launcher: the packages beside it are for Python {version}.
python=$(command -v python{version}) || {{
    echo "rules_unikernel: no python{version} on this machine's PATH ($PATH); the locked Python packages were installed for Python {version}: install it (Debian: apt-get install python{version}) or link it into /usr/local/bin (docs/python.md)" >&2
    exit 127
}}
exec "$python" -S "$@"
"""

def _fail(msg):
    fetch_fail(_WHAT, msg)

def _unikernel_python_repository_impl(rctx):
    python = host_python(rctx, _WHAT)
    interpreter = python.interpreter
    version = python.version

    lock = rctx.path(rctx.attr.requirements)
    run_pip(rctx, python, _WHAT, [
        "install",
        "--quiet",
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "--no-compile",
        "--target",
        "site-packages",
        "-r",
        str(lock),
    ])

    # Path- and time-dependent installer bookkeeping; nothing imports it.
    res = rctx.execute([
        interpreter,
        "-c",
        """
import pathlib, shutil
site = pathlib.Path('site-packages')
for p in sorted(site.glob('*.dist-info/*')):
    if p.name in ('RECORD', 'INSTALLER', 'direct_url.json', 'REQUESTED'):
        p.unlink()
shutil.rmtree(site / 'bin', ignore_errors=True)
for p in sorted(site.rglob('__pycache__')):
    shutil.rmtree(p, ignore_errors=True)
""",
    ])
    if res.return_code != 0:
        _fail("cleaning site-packages failed: %s" % res.stderr)

    # The interpreter Bazel runs, with -S so the host's own site-packages
    # (whatever pip installed there) stay invisible; the locked packages come
    # in through the runfiles' PYTHONPATH. The launcher names no path: it
    # finds python3.X (the version the wheels were installed for) on the
    # PATH where the action executes, so its bytes, and the keys of every
    # Python action, are the same on every machine (docs/remote.md).
    rctx.file("python3", _LAUNCHER.format(version = version), executable = True)

    rctx.template(
        "BUILD.bazel",
        rctx.attr._build_tpl,
        substitutions = {
            "{python_version}": version,
        },
    )

unikernel_python_repository = repository_rule(
    implementation = _unikernel_python_repository_impl,
    doc = "The hash-locked Python packages of rules_unikernel and the Python toolchain that runs them.",
    attrs = {
        "requirements": attr.label(
            default = "//rules_unikernel/toolchain/python:requirements_lock.txt",
            allow_single_file = True,
            doc = "A pip requirements file with --hash pins for every package.",
        ),
        "_build_tpl": attr.label(default = "//rules_unikernel/private:python.BUILD.tpl"),
    },
    environ = PYTHON_ENVIRON,
)
