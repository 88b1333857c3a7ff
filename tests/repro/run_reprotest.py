#!/usr/bin/env python3
"""Debian's reprotest around a Bazel build of the example images and a release bundle.

    python3 tests/repro/run_reprotest.py [--results DIR] [TARGET ...]
    python3 tests/repro/run_reprotest.py --self-test

reprotest builds the same sources three times and compares the outputs with
diffoscope: a control build, then two experiments that vary what
reproducible-builds.org varies (docs/reproducibility.md says what each
variation does to Bazel, and why the user variation needs its own build).
Every build is cold: its own Bazel output root (server, install base, output
base, repositories fetched and extracted again) under a scratch directory,
no disk or repository cache, and the archives taken from a read-only,
hash-checked directory filled once before the builds
($RULES_UNIKERNEL_DISTDIR and pip's --find-links, docs/dependencies.md), so
the builds need no network. The variables reprotest varies are forwarded
into the actions with --action_env, so they reach zig and the link tool,
not only Bazel's server.

On a mismatch the report is diffoscope's, in text and HTML, under --results.
--self-test plants a genrule that writes `date` and checks that the run
fails with that file in diffoscope's report: a test of the checker itself.

The build command reprotest runs is this script's `build` subcommand (it
runs Bazel with its own output root, copies the outputs into `out/`, shuts
the server down and deletes the output root).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_repro import copy_checkout, repo_root

# The example images and a release bundle. Every unikernel_image of
# examples/ (manual ones are deliberately broken) plus //tests/release:examples.
IMAGES_QUERY = "kind('unikernel_image_rule', //examples/...) except attr(tags, manual, //...)"
RELEASES = ("//tests/release:examples",)

# Variables reprotest varies (or that carry a variation, like faketime's
# LD_PRELOAD) that Bazel would otherwise keep out of the actions
# (--incompatible_strict_action_env, .bazelrc).
FORWARDED = ("TZ", "LANG", "LC_ALL", "LANGUAGE", "HOME", "SOURCE_DATE_EPOCH",
             "REPROTEST_CAPTURE_ENVIRONMENT", "LD_PRELOAD", "FAKETIME", "NO_FAKE_STAT")

# SOURCE_DATE_EPOCH is not varied by reprotest 0.7 itself: the control build
# gets the first value, the experiments the second (its environment variation).
CONTROL_EPOCH = "1600000000"
EXPERIMENT_EPOCH = "1700000000"

# The other user of the user variation: present on every Debian system.
OTHER_USER = "nobody:nogroup"

# reprotest 0.7.23 runs `sudo -h localhost ...` (user and host-name
# variations); Debian 12's sudo reads -h as a remote host, allowed only with
# -l, and refuses. This shim, first on reprotest's PATH, drops those two words.
SUDO_SHIM = """#!/bin/sh
if [ "$1" = "-h" ] && [ "$2" = "localhost" ]; then shift 2; fi
exec /usr/bin/sudo "$@"
"""

PLANTED_BUILD = '''# Planted by run_reprotest.py --self-test: output that differs on every build.
genrule(
    name = "planted",
    outs = ["planted.txt"],
    cmd = "date +%s.%N > $@",
)
'''
PLANTED_TARGET = "//tests/repro/planted:planted"


@dataclass(frozen=True)
class Pins:
    """What rules_unikernel/versions.bzl pins, as the fetch commands need it."""

    zig_requirement: str
    zig_platform: str
    littlefs_requirement: str
    littlefs_package: str
    lwip_source: str
    lwip_version: str


def _value(node: ast.expr, scope: dict[str, object]) -> object:
    """The value of a versions.bzl expression: literals, names, `+`, dicts, struct(...)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return scope[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _value(node.left, scope) + _value(node.right, scope)  # type: ignore[operator]
    if isinstance(node, ast.Dict):
        return {_value(k, scope): _value(v, scope) for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "struct":
        return SimpleNamespace(**{kw.arg: _value(kw.value, scope) for kw in node.keywords if kw.arg})
    raise SystemExit(f"reprotest: cannot read versions.bzl at line {node.lineno}: not a plain pin")


def read_pins(root: Path) -> Pins:
    # versions.bzl is plain assignments of strings, dicts and struct(...),
    # in the syntax Starlark shares with Python.
    scope: dict[str, object] = {}
    for stmt in ast.parse((root / "rules_unikernel/versions.bzl").read_text()).body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            scope[stmt.targets[0].id] = _value(stmt.value, scope)
    zig = scope["ZIG_WHEELS"]["linux-x86_64"]  # type: ignore[index]
    lfs, lwip = scope["LITTLEFS"], scope["LWIP"]
    return Pins(zig.requirement, zig.platform, lfs.requirement, lfs.package,  # type: ignore[attr-defined]
                lwip.debian_source, lwip.debian_version)  # type: ignore[attr-defined]


def remove(tree: Path) -> None:
    """Deletes a tree Bazel made read-only (rm is much faster than rmtree on it)."""
    subprocess.run(["chmod", "-R", "u+w", str(tree)], check=False)
    subprocess.run(["rm", "-rf", str(tree)], check=False)


def run(cmd: list[str], cwd: Path | None = None, what: str = "") -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"reprotest: {what or cmd[0]} failed: {last}")


def fill_archives(root: Path, pins: Pins, dist: Path, wheels: Path) -> None:
    """The archives every build fetches from, each hash-checked by the build itself."""
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check"]
    run(pip + ["--only-binary=:all:", "--platform", pins.zig_platform, pins.zig_requirement, "-d", str(dist)],
        what="pip download of zig")
    run(pip + ["--no-binary", pins.littlefs_package, pins.littlefs_requirement, "-d", str(dist)],
        what="pip download of the littlefs sdist")
    run(["apt-get", "source", "--download-only", f"{pins.lwip_source}={pins.lwip_version}"], cwd=dist,
        what="apt-get source of lwIP (tools/setup.sh adds the deb-src entries)")
    run(pip + ["--only-binary=:all:", "--require-hashes", "-r",
               str(root / "rules_unikernel/toolchain/python/requirements_lock.txt"), "-d", str(wheels)],
        what="pip download of the locked Python packages")
    for d in (dist, wheels):
        for p in d.iterdir():
            p.chmod(0o644)  # readable by the other user of the user variation


def build_command(targets: list[str], roots: Path) -> str:
    quoted = " ".join(targets)
    return f"python3 tests/repro/run_reprotest.py build --roots {roots} -- {quoted}"


def reprotest_argv(source: Path, results: Path, command: str) -> list[str]:
    experiment = f"environment.variables+=SOURCE_DATE_EPOCH={EXPERIMENT_EPOCH}"
    return [
        "reprotest", "--verbosity=1", "--min-cpus=1",
        f"--store-dir={results}",
        # Experiment 1: every variation but the user, as root (disorderfs's
        # FUSE mount needs /dev/fuse, which only root may open here).
        f"--variations=+all,domain_host.use_sudo=1,{experiment},-user_group",
        # Experiment 2: another user, every variation but the file order.
        f"--extra-build=user_group.available+={OTHER_USER},-fileordering",
        f"--diffoscope-arg=--text={results}/{{0}}.diffoscope.txt",
        f"--diffoscope-arg=--html={results}/{{0}}.diffoscope.html",
        "-c", command, str(source), "out",
    ]


def check(targets: list[str], results: Path, plant: bool) -> int:
    root = repo_root()
    if shutil.which("reprotest") is None or shutil.which("diffoscope") is None:
        print("reprotest: FAIL: reprotest or diffoscope is missing; run tools/setup.sh")
        return 1
    if os.geteuid() != 0:
        print("reprotest: FAIL: run as root: the user and host-name variations use sudo "
              "and the file-order variation mounts FUSE (docs/reproducibility.md)")
        return 1
    if results.exists() and any(results.iterdir()):
        print(f"reprotest: FAIL: {results} is not empty; name a new directory with --results")
        return 1
    pins = read_pins(root)
    work = Path(tempfile.mkdtemp(prefix="unikernel-reprotest-"))
    try:
        work.chmod(0o755)
        source, dist, wheels, roots, shim = (work / n for n in ("source", "dist", "wheels", "roots", "bin"))
        for d in (source, dist, wheels, roots, shim):
            d.mkdir()
        (shim / "sudo").write_text(SUDO_SHIM)
        (shim / "sudo").chmod(0o755)
        roots.chmod(0o1777)  # each build, whoever runs it, makes its output root here
        copy_checkout(root, source)
        (source / "user.bazelrc").unlink(missing_ok=True)  # no disk cache: every build is cold
        if plant:
            (source / "tests/repro/planted").mkdir(parents=True)
            (source / "tests/repro/planted/BUILD.bazel").write_text(PLANTED_BUILD)
            targets = [PLANTED_TARGET]
        elif not targets:
            q = subprocess.run(["bazel", "query", "--output=label", IMAGES_QUERY], cwd=root,
                               capture_output=True, text=True, check=True)
            targets = sorted(q.stdout.split()) + list(RELEASES)
        print(f"reprotest: fetching the archives once into {work}", flush=True)
        fill_archives(root, pins, dist, wheels)
        env = dict(os.environ, RULES_UNIKERNEL_DISTDIR=str(dist), PIP_FIND_LINKS=str(wheels),
                   PIP_NO_INDEX="1", SOURCE_DATE_EPOCH=CONTROL_EPOCH,
                   PATH=f"{shim}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        argv = reprotest_argv(source, results, build_command(targets, roots))
        print(f"reprotest: {len(targets)} targets: {' '.join(targets)}", flush=True)
        print("reprotest: " + " ".join(argv), flush=True)
        start = time.monotonic()
        results.parent.mkdir(parents=True, exist_ok=True)
        with open(work / "reprotest.log", "w") as log:
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            rc = proc.wait()
        minutes = (time.monotonic() - start) / 60
        if results.exists():
            shutil.copy(work / "reprotest.log", results / "reprotest.log")
    finally:
        remove(work)
    return report(rc, results, minutes, plant)


def report(rc: int, results: Path, minutes: float, plant: bool) -> int:
    reports = sorted(results.glob("*.diffoscope.txt")) if results.exists() else []
    if plant:
        caught = rc == 1 and any("planted.txt" in r.read_text(errors="replace") for r in reports)
        if caught:
            print(f"reprotest: self-test PASS: the planted `date` output was caught ({minutes:.1f} min); "
                  f"diffoscope's report: {', '.join(map(str, reports))}")
            return 0
        print(f"reprotest: self-test FAIL: reprotest exited {rc} and no diffoscope report names "
              f"planted.txt (results: {results})")
        return 1
    if rc == 0:
        print(f"reprotest: PASS: every output byte-identical in 3 builds ({minutes:.1f} min); "
              f"SHA256SUMS and the log in {results}")
        return 0
    if rc == 1:
        print(f"reprotest: FAIL: outputs differ ({minutes:.1f} min); diffoscope's report: "
              f"{', '.join(map(str, reports)) or '(none written)'}; the log: {results}/reprotest.log")
        return 1
    print(f"reprotest: FAIL: reprotest exited {rc} (a build failed, not a difference); "
          f"the log: {results}/reprotest.log")
    return 1


def output_path(line: str) -> str:
    """bazel-bin/x/y or bazel-out/<config>/bin/x/y -> x/y."""
    rel = line.strip()
    rel = re.sub(r"^bazel-out/[^/]+/bin/", "", rel)
    return re.sub(r"^bazel-bin/", "", rel)


def describe() -> str:
    """What this build sees of each variation, for the log."""
    umask = os.umask(0)
    os.umask(umask)
    u = os.uname()
    env = " ".join(f"{k}={os.environ.get(k, '-')}" for k in ("HOME", "TZ", "LC_ALL", "SOURCE_DATE_EPOCH", "FAKETIME"))
    return (f"user={os.getuid()} host={u.nodename} kernel={u.release} cwd={os.getcwd()} umask={umask:04o} "
            f"cpus={len(os.sched_getaffinity(0))} clock={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {env}")


def build(targets: list[str], roots: Path) -> int:
    """reprotest's build command: a cold build in its own output root, outputs copied to out/."""
    root = Path(tempfile.mkdtemp(prefix="bazel-", dir=roots))
    # The system rc stays: Debian's (/etc/bazel/bazelrc) names Bazel's install base.
    startup = ["bazel", f"--output_user_root={root}", "--nohome_rc"]
    # Explicit values: Bazel's client drops LD_PRELOAD from what it inherits
    # ("ignoring LD_PRELOAD in environment"), so faketime reaches the actions
    # only when named here; the server's JVM runs on the real clock.
    forward = [f"--action_env={k}={os.environ[k]}" for k in FORWARDED if k in os.environ]
    print(f"reprotest build: {describe()}", file=sys.stderr, flush=True)
    try:
        # --nosandbox_debug: Debian's system rc turns sandbox_debug on, which
        # keeps every action's sandbox directory; deleting them after a build
        # took longer than the build.
        proc = subprocess.run(startup + ["build", "--config=release", "--nosandbox_debug", "--color=no", "--curses=no",
                                         "--show_result=1000", *forward, *targets],
                              capture_output=True, text=True, check=False)
        sys.stderr.write(proc.stderr[-6000:])
        if proc.returncode != 0:
            return proc.returncode
        out = Path("out")
        for line in proc.stderr.splitlines():
            if line.startswith("  bazel-"):
                dst = out / output_path(line)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(line.strip(), dst)
                dst.chmod(0o644)
        if not out.exists():
            print("reprotest: the build produced no files", file=sys.stderr)
            return 1
        return 0
    finally:
        subprocess.run(startup + ["shutdown"], capture_output=True, check=False)
        remove(root)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "build":
        b = argparse.ArgumentParser(prog="run_reprotest.py build")
        b.add_argument("--roots", type=Path, required=True)
        b.add_argument("targets", nargs="+")
        args = b.parse_args(sys.argv[2:])
        return build(args.targets, args.roots)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("targets", nargs="*", help="default: every example image and //tests/release:examples")
    p.add_argument("--results", type=Path, help="where reprotest stores the outputs, the log and "
                   "diffoscope's report (new or empty; default: a new directory under /tmp)")
    p.add_argument("--self-test", action="store_true",
                   help="plant a genrule writing `date` and check that the run catches it")
    args = p.parse_args()
    results = args.results or Path(tempfile.mkdtemp(prefix="unikernel-reprotest-results-"))
    return check(args.targets, results.resolve(), args.self_test)


if __name__ == "__main__":
    sys.exit(main())
