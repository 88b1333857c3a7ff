#!/usr/bin/env python3
"""How long linking an image takes: a plain process per link, or a persistent worker.

Two measurements (docs/benchmarks.md shows results):

1. The link action alone, for each image: the command line Bazel would run
   (from `bazel aquery`), started in the execution root as a plain process
   (`link @params`, what every link cost before the worker) and sent to one
   persistent worker as WorkRequests (first request: worker start-up
   included; then warm). Outputs go to a scratch directory, and the plain
   and worker outputs are compared byte for byte.
2. A one-edit rebuild of examples/hello: change the word hello.c prints,
   `bazel build //examples/hello:image`, wall time and the link action's
   time (Bazel's profile), once with the link as a plain process
   (--strategy=UnikernelLink=processwrapper-sandbox) and once in the worker.
   hello.c is restored afterwards.

Run from the workspace root:  python3 bench/link_time.py [--rounds N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "rules_unikernel" / "tool"))

from unikernel.worker.protocol import (  # noqa: E402 - needs the path above
    WorkRequest,
    decode_response,
    encode_request,
    read_message,
    write_message,
)

IMAGES = (
    "//examples/hello:image",
    "//examples/udp_echo:image",
    "//examples/blkstore:image",
    "//examples/vchan_echo:image",
)
OUTPUT_FLAGS = ("--output=", "--debug-output=", "--map=", "--manifest=")
HELLO = ROOT / "examples/hello/hello.c"
HELLO_LINE = 'printf("Hello from a PVH unikernel!\\n");'
# The environment Bazel gives the action (--incompatible_strict_action_env).
ACTION_ENV = {"PATH": "/bin:/usr/bin:/usr/local/bin", "PYTHONDONTWRITEBYTECODE": "1"}
PLAIN = "--strategy=UnikernelLink=processwrapper-sandbox"


@dataclass(frozen=True)
class LinkCommand:
    image: str
    tool: str
    arguments: tuple[str, ...]

    def redirected(self, directory: Path) -> tuple[str, ...]:
        """The arguments with every output moved into ``directory``."""
        out = []
        for argument in self.arguments:
            flag = next((f for f in OUTPUT_FLAGS if argument.startswith(f)), None)
            out.append(argument if flag is None else flag + str(directory / Path(argument[len(flag) :]).name))
        return tuple(out)


def bazel(*args: str, capture: bool = True) -> str:
    done = subprocess.run(["bazel", *args], cwd=ROOT, capture_output=capture, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"link_time: `bazel {' '.join(args)}` failed:\n{done.stderr if capture else ''}")
    return done.stdout if capture else ""


def link_commands(images: Sequence[str]) -> list[LinkCommand]:
    bazel("build", "--color=no", *images)
    query = " + ".join(f'mnemonic("UnikernelLink", {image})' for image in images)
    graph = json.loads(bazel("aquery", "--output=jsonproto", query))
    labels = {t["id"]: t["label"] for t in graph["targets"]}
    commands = [
        LinkCommand(labels[a["targetId"]], a["arguments"][0], tuple(a["arguments"][1:]))
        for a in graph["actions"]
    ]
    return sorted(commands, key=lambda c: images.index(c.image))


def digest(directory: Path) -> str:
    """sha256 over the outputs' names and bytes; the outputs are then removed."""
    files = sorted(directory.iterdir())
    value = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files)).hexdigest()
    for f in files:
        f.unlink()
    return value


def plain_links(execroot: Path, command: LinkCommand, rounds: int, scratch: Path) -> tuple[list[Timing], str]:
    out = scratch / "out"
    params = scratch / "link.params"
    params.write_text("\n".join(command.redirected(out)) + "\n")
    times = []
    for _ in range(rounds):
        cpu = children_cpu()
        start = time.perf_counter()
        done = subprocess.run(
            [command.tool, f"@{params}"], cwd=execroot, env=ACTION_ENV, capture_output=True, check=False
        )
        times.append(Timing(time.perf_counter() - start, children_cpu() - cpu))
        if done.returncode != 0:
            sys.exit(f"link_time: plain link of {command.image} failed: {done.stderr.decode()}")
    return times, digest(out)


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and its finished children (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the name.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def median(timings: Sequence[Timing]) -> str:
    wall = statistics.median(t.wall for t in timings)
    cpu = statistics.median(t.cpu for t in timings)
    return f"{wall:.2f} / {cpu:.2f}"


class Worker:
    def __init__(self, execroot: Path, tool: str) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [tool, "--persistent_worker"],
            cwd=execroot,
            env=ACTION_ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def link(self, arguments: Sequence[str], from_start: bool = False) -> Timing:
        """One request; with ``from_start``, timed from the worker's start (its imports included)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        cpu = 0.0 if from_start else process_cpu(self.process.pid)
        start = self.started if from_start else time.perf_counter()
        write_message(self.process.stdin, encode_request(WorkRequest(tuple(arguments))))
        body = read_message(self.process.stdout)
        elapsed = time.perf_counter() - start
        response = decode_response(body or b"")
        if body is None or response.exit_code != 0:
            sys.exit(f"link_time: worker link failed: {response.output}")
        return Timing(elapsed, process_cpu(self.process.pid) - cpu)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def measure_links(rounds: int) -> None:
    commands = link_commands(IMAGES)
    execroot = Path(bazel("info", "execution_root").strip())
    print(f"## link action per image ({rounds} runs each, median; seconds, wall / CPU)\n")
    print("| image | plain process | worker, first request (start-up) | worker, warm | same bytes |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="link-time-") as tmp:
        for command in commands:
            scratch = Path(tmp) / command.image.replace("/", "_").replace(":", "_")
            out = scratch / "out"  # the same paths for both, so the outputs compare
            out.mkdir(parents=True)
            plain, plain_digest = plain_links(execroot, command, rounds, scratch)
            worker = Worker(execroot, command.tool)
            try:
                first = worker.link(command.redirected(out), from_start=True)
                warm = [worker.link(command.redirected(out)) for _ in range(rounds)]
            finally:
                worker.close()
            same = "yes" if digest(out) == plain_digest else "NO"
            print(f"| {command.image} | {median(plain)} | {median([first])} | {median(warm)} | {same} |")
    print()


def link_seconds(profile: Path) -> float:
    events = json.loads(profile.read_text())["traceEvents"]
    return sum(
        e["dur"] / 1e6
        for e in events
        if e.get("cat") == "action processing" and e.get("name", "").startswith("Linking unikernel image")
    )


def measure_rebuild(rounds: int) -> None:
    original = HELLO.read_text()
    if HELLO_LINE not in original:
        sys.exit(f"link_time: {HELLO} no longer contains {HELLO_LINE}")
    print(f"## one-edit rebuild of //examples/hello:image ({rounds} edits each, median; seconds)\n")
    print("| link runs as | `bazel build` wall time | link action |")
    print("|---|---|---|")
    try:
        for name, flags in (("plain process", [PLAIN]), ("persistent worker", [])):
            bazel("build", "--color=no", *flags, "//examples/hello:image")  # server and worker warm
            walls, links = [], []
            with tempfile.TemporaryDirectory(prefix="link-time-") as tmp:
                profile = Path(tmp) / "profile.json"
                for index in range(rounds):
                    word = f"{name.split()[0]}{index}"
                    HELLO.write_text(original.replace("Hello from", f"Hello ({word}) from", 1))
                    start = time.perf_counter()
                    bazel("build", "--color=no", *flags, f"--profile={profile}", "//examples/hello:image")
                    walls.append(time.perf_counter() - start)
                    links.append(link_seconds(profile))
            print(f"| {name} | {statistics.median(walls):.2f} | {statistics.median(links):.2f} |")
    finally:
        HELLO.write_text(original)
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per measurement (default: %(default)s)")
    parser.add_argument("--skip-rebuild", action="store_true", help="only measure the link actions")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    os.chdir(ROOT)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}\n")
    measure_links(args.rounds)
    if not args.skip_rebuild:
        measure_rebuild(args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
