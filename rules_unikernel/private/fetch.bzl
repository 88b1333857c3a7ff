"""Fetching through the host's package clients, for repository rules.

One place for what every rules_unikernel repository rule that fetches does:
find the host's python3, run pip with it, take an archive from
$RULES_UNIKERNEL_DISTDIR instead when one is there, and check an archive's
sha256 ourselves (whoever delivered it). No download host is named: pip and
apt-get use the machine's own configuration (pip.conf, PIP_INDEX_URL, apt
sources), so mirrors and proxies work as for any other package.
"""

MIN_PYTHON = (3, 10)

# Repository rules re-run when these change.
PYTHON_ENVIRON = ["RULES_UNIKERNEL_PYTHON", "PATH"]
FETCH_ENVIRON = PYTHON_ENVIRON + ["RULES_UNIKERNEL_DISTDIR"]

def fetch_fail(what, msg):
    fail("rules_unikernel %s: %s" % (what, msg))

def _last_line(text):
    lines = [l.strip() for l in text.strip().split("\n") if l.strip()]
    return lines[-1] if lines else "no output"

def host_python(rctx, what):
    """The host's python3 (>= 3.10), or $RULES_UNIKERNEL_PYTHON.

    Returns struct(interpreter = its real path, version = "3.X").
    """
    python = rctx.os.environ.get("RULES_UNIKERNEL_PYTHON") or rctx.which("python3")
    if not python:
        fetch_fail(what, "no python3 on PATH. Install Python >= %d.%d or set RULES_UNIKERNEL_PYTHON=/path/to/python3." % MIN_PYTHON)
    res = rctx.execute([python, "-c", "import sys, os; print('%d.%d' % sys.version_info[:2]); print(os.path.realpath(sys.executable))"])
    if res.return_code != 0:
        fetch_fail(what, "%s does not run: %s" % (python, _last_line(res.stderr)))
    version, interpreter = res.stdout.strip().split("\n")
    major, minor = [int(x) for x in version.split(".")]
    if (major, minor) < MIN_PYTHON:
        fetch_fail(what, "%s is Python %s; rules_unikernel needs >= %d.%d (set RULES_UNIKERNEL_PYTHON)." % (python, version, MIN_PYTHON[0], MIN_PYTHON[1]))
    return struct(interpreter = interpreter, version = version)

def run_pip(rctx, python, what, args, timeout = 1200):
    """Runs `python -m pip ARGS`; fails with pip's own last error line and the fix."""
    res = rctx.execute(
        [python.interpreter, "-m", "pip"] + args,
        timeout = timeout,
        environment = {
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "PIP_NO_WARN_SCRIPT_LOCATION": "1",
        },
        quiet = True,
    )
    if res.return_code == 0:
        return
    if "No module named pip" in res.stderr:
        fetch_fail(what, "%s has no pip. Install it (Debian: apt-get install python3-pip) or set RULES_UNIKERNEL_PYTHON to a python3 with pip." % python.interpreter)
    if "DO NOT MATCH THE HASHES" in res.stderr:
        fetch_fail(what, "the package index served other bytes than the sha256 pinned in rules_unikernel/versions.bzl or the lock file (pip: %s). Check your index or mirror (pip.conf, PIP_INDEX_URL)." % _last_line(res.stderr))
    fetch_fail(what, "pip %s failed: %s. Check access to your package index (pip honours pip.conf, PIP_INDEX_URL and proxies), or supply the archive offline (docs/dependencies.md)." % (args[0], _last_line(res.stderr)))

def sha256_of(rctx, python, path):
    res = rctx.execute([python.interpreter, "-c", """
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
        h.update(block)
print(h.hexdigest())
""", str(path)])
    if res.return_code != 0:
        fail("rules_unikernel: cannot read %s: %s" % (path, _last_line(res.stderr)))
    return res.stdout.strip()

def check_sha256(rctx, python, what, path, sha256, origin):
    """Fails unless the file at `path` has the pinned sha256."""
    got = sha256_of(rctx, python, path)
    if got != sha256:
        fetch_fail(what, "%s from %s has sha256 %s, but rules_unikernel/versions.bzl pins %s. Remove it and fetch again, or supply the right archive (docs/dependencies.md)." % (path.basename, origin, got, sha256))

def distdir_archive(rctx, archive):
    """The path of `archive` in $RULES_UNIKERNEL_DISTDIR, or None."""
    distdir = rctx.os.environ.get("RULES_UNIKERNEL_DISTDIR")
    if not distdir:
        return None
    path = rctx.path(distdir + "/" + archive)
    return path if path.exists else None

def pip_download(rctx, python, what, requirement, archive, sha256, args):
    """The archive of one pinned package: from the distdir, else through pip.

    pip runs with --require-hashes on a requirement line carrying the pinned
    sha256, --no-deps, into a directory of the repository; the file is then
    checked again here (also when it came from the distdir). Returns its path.
    """
    local = distdir_archive(rctx, archive)
    if local:
        check_sha256(rctx, python, what, local, sha256, "$RULES_UNIKERNEL_DISTDIR")
        return local
    rctx.file("_fetch/requirement.txt", "%s --hash=sha256:%s\n" % (requirement, sha256))
    run_pip(rctx, python, what, [
        "download",
        "--quiet",
        "--no-deps",
        "--require-hashes",
        "--dest",
        "_fetch",
        "-r",
        "_fetch/requirement.txt",
    ] + args)
    path = rctx.path("_fetch/" + archive)
    if not path.exists:
        fetch_fail(what, "pip saved no %s (was the pinned file name changed in versions.bzl?)" % archive)
    check_sha256(rctx, python, what, path, sha256, "pip")
    return path
