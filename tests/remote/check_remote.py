#!/usr/bin/env python3
"""Remote cache and remote execution check against a real REAPI server
(BuildGrid on loopback, tools/remote/run_buildgrid.py; docs/remote.md).

    python3 tests/remote/check_remote.py [--keep] [--port N] [--no-exec] [--exec-targets T ...] [TARGET ...]
                                                          (default: every image and volume)

1. "first machine": a copy of the checkout, a fresh output base, the host's
   python3; a clean build with --remote_cache executes every action locally
   and fills BuildGrid's cache.
2. "second machine": a second copy at another path, another fresh output
   base, and the Python packages installed by another interpreter at another
   path (a `venv --copies` of the host's python3); the same build must run
   ZERO actions itself (Bazel's summary: only remote cache hits and internal
   actions) and yield byte-identical outputs.
3. remote execution: the first copy, cleaned, builds again with
   --remote_executor and --noremote_accept_cached, so every action runs on
   BuildGrid's worker (tools/remote/bot.py); the outputs equal the local ones.

No disk cache is used (--disk_cache=), so every hit comes from BuildGrid.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "repro"))
from check_repro import ALL_IMAGES, copy_checkout, repo_root

# Spawn runners that mean "this machine executed the action".
LOCAL_RUNNERS = ("local", "processwrapper-sandbox", "linux-sandbox", "sandbox", "worker", "standalone")


class Fail(Exception):
    pass


@dataclass
class Build:
    outputs: dict[str, str]  # output path below bin/ -> sha256
    runners: dict[str, int]  # Bazel's process summary: runner -> count
    seconds: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_runners(stderr: str) -> dict[str, int]:
    """'INFO: 44 processes: 2 internal, 41 processwrapper-sandbox, 1 worker.' -> counts."""
    lines = [l for l in stderr.splitlines() if re.match(r"INFO: \d+ process(es)?\b", l)]
    if not lines:
        return {}
    runners: dict[str, int] = {}
    _, _, tail = lines[-1].partition(":")
    _, _, tail = tail.partition(":")
    for part in tail.strip().rstrip(".").split(","):
        if part.strip():
            n, _, name = part.strip().partition(" ")
            runners[name] = int(n)
    return runners


def bazel_build(ws: Path, ob: Path, targets: list[str], flags: list[str], env: dict[str, str] | None = None) -> Build:
    import os
    import time

    cmd = ["bazel", f"--output_base={ob}", "build", "--color=no", "--curses=no", "--show_result=1000",
           "--disk_cache=", *flags, *targets]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        print(proc.stderr[-4000:])
        raise Fail(f"{' '.join(cmd)} (in {ws}) exited {proc.returncode}")
    outputs = {}
    for rel in (l.strip() for l in proc.stderr.splitlines() if l.startswith("  bazel-")):
        outputs[rel.split("/bin/", 1)[-1]] = hashlib.sha256((ws / rel).read_bytes()).hexdigest()
    if not outputs:
        raise Fail(f"the build in {ws} listed no output files")
    return Build(outputs, parse_runners(proc.stderr), seconds)


def shutdown(ws: Path, ob: Path) -> None:
    subprocess.run(["bazel", f"--output_base={ob}", "shutdown"], cwd=ws, capture_output=True, check=False)


def compare(what: str, a: Build, b: Build) -> int:
    bad = 0
    for rel in sorted(set(a.outputs) | set(b.outputs)):
        if a.outputs.get(rel) != b.outputs.get(rel):
            bad += 1
            print(f"remote: DIFFERENT ({what})  {rel}  {a.outputs.get(rel)}  {b.outputs.get(rel)}")
    print(f"remote: {what}: {len(a.outputs) - bad} of {len(a.outputs)} outputs byte-identical")
    return bad


def summary(b: Build) -> str:
    return ", ".join(f"{n} {r}" for r, n in sorted(b.runners.items())) + f" in {b.seconds:.0f} s"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("targets", nargs="*", help="default: every unikernel_image and unikernel_volume")
    p.add_argument("--keep", action="store_true", help="keep the checkouts, output bases and BuildGrid's state")
    p.add_argument("--port", type=int, default=0, help="BuildGrid's port (default: a free one)")
    p.add_argument("--no-exec", action="store_true", help="skip step 3 (remote execution)")
    p.add_argument("--exec-targets", nargs="+", metavar="TARGET",
                   help="build only these in step 3 (default: the same targets)")
    args = p.parse_args()

    root = repo_root()
    if not args.targets:
        q = subprocess.run(["bazel", "query", "--output=label", ALL_IMAGES], cwd=root,
                           capture_output=True, text=True, check=True)
        args.targets = q.stdout.split()
    tmp = Path(tempfile.mkdtemp(prefix="unikernel-remote-"))
    tmp.chmod(0o755)  # PostgreSQL runs as its own user below it
    state = tmp / "buildgrid"
    port = args.port or free_port()
    endpoint = f"grpc://127.0.0.1:{port}"
    controller = [sys.executable, str(root / "tools/remote/run_buildgrid.py")]
    ws1, ws2 = tmp / "first-checkout", tmp / "second/machine/checkout"
    ob1, ob2 = tmp / "output-base-1", tmp / "output-base-2"
    bad = 0
    try:
        started = subprocess.run([*controller, "start", "--state", str(state), "--port", str(port)],
                                 capture_output=True, text=True, check=False)
        if started.returncode != 0:
            raise Fail(f"BuildGrid did not start: {started.stderr.strip()}")
        print(f"remote: BuildGrid at {endpoint} (state in {state})", flush=True)
        for ws in (ws1, ws2):
            ws.mkdir(parents=True)
            copy_checkout(root, ws)

        cache = [f"--remote_cache={endpoint}"]
        print(f"remote: 1. clean build of {len(args.targets)} targets in {ws1}, filling the cache", flush=True)
        first = bazel_build(ws1, ob1, args.targets, cache)
        print(f"remote:    {summary(first)}", flush=True)

        # Another interpreter at another path installs the second machine's Python packages.
        venv = tmp / "second/python"
        subprocess.run([sys.executable, "-m", "venv", "--copies", str(venv)], check=True, capture_output=True)
        other_python = venv / "bin" / "python3"
        print(f"remote: 2. clean build in {ws2}, Python packages installed by {other_python}", flush=True)
        second = bazel_build(ws2, ob2, args.targets, cache, env={"RULES_UNIKERNEL_PYTHON": str(other_python)})
        shutdown(ws2, ob2)
        print(f"remote:    {summary(second)}", flush=True)
        local = {r: n for r, n in second.runners.items() if r in LOCAL_RUNNERS and n}
        if local or not second.runners.get("remote cache hit"):
            print(f"remote: FAIL: the second build executed actions itself ({summary(second)}); "
                  "an action key differs between the two machines (find it with --execution_log_json_file "
                  "in both builds and compare, docs/remote.md)")
            bad += 1
        bad += compare("second machine vs first", first, second)

        if not args.no_exec:
            subprocess.run(["bazel", f"--output_base={ob1}", "clean"], cwd=ws1, check=True, capture_output=True)
            print(f"remote: 3. build of {len(args.exec_targets or args.targets)} targets in {ws1} with "
                  "--remote_executor, no cached results accepted", flush=True)
            executed = bazel_build(ws1, ob1, args.exec_targets or args.targets, [
                f"--remote_executor={endpoint}", "--noremote_accept_cached", "--spawn_strategy=remote",
                "--strategy=UnikernelLink=remote",
            ])
            print(f"remote:    {summary(executed)}", flush=True)
            local = {r: n for r, n in executed.runners.items() if r in LOCAL_RUNNERS and n}
            if local or not executed.runners.get("remote"):
                print(f"remote: FAIL: the remote-execution build ran actions locally ({summary(executed)})")
                bad += 1
            local_part = Build({k: v for k, v in first.outputs.items() if k in executed.outputs}, {}, 0)
            if len(local_part.outputs) != len(executed.outputs):
                raise Fail("step 3 built outputs the first build did not (give --exec-targets among the targets)")
            bad += compare("remotely executed vs local", local_part, executed)
        shutdown(ws1, ob1)
    except Fail as e:
        print(f"remote: FAIL: {e}")
        bad += 1
    finally:
        for ws, ob in ((ws1, ob1), (ws2, ob2)):
            if ob.exists():
                shutdown(ws, ob)
        subprocess.run([*controller, "stop", "--state", str(state)], capture_output=True, check=False)
        if args.keep:
            print(f"remote: kept {tmp}")
        else:
            # Three output bases (read-only trees, ~2.5 GB): rm is much faster than shutil.rmtree.
            subprocess.run(["chmod", "-R", "u+w", str(tmp)], capture_output=True, check=False)
            subprocess.run(["rm", "-rf", str(tmp)], capture_output=True, check=False)
    if bad:
        print(f"remote: FAIL ({bad} problems)")
        return 1
    print("remote: PASS: second machine ran 0 actions itself with identical outputs; "
          "remote execution equals the local build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
