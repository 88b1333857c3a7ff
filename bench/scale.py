#!/usr/bin/env python3
"""Build a synthetic monorepo of N appliances (bench/monorepo.py) and measure it.

1. fetch     the external repositories into a new output base (timed apart,
             it is downloads and unpacking, not building)
2. cold      `bazel build //apps/...` with an empty cache: every action runs
3. cached    the same build in a second, fresh output base, from the cache
             the cold build filled: how many actions ran anyway, and the
             images are compared byte for byte with the cold build's. By
             default the second output base is at the first one's path
             (deleted first); --other-path puts it elsewhere, which today
             fails: zig-cc's dependency files name the first output base's
             zig headers by absolute path (docs/benchmarks.md)
4. edit      one shared library changed (bench/monorepo.py's EDIT_MARK), the
             build repeated in the second output base: the images relinked
             (from Bazel's profile) must be exactly those that use the
             library, directly or through another one
5. memory    the Bazel server's peak resident size (VmHWM), and
             the link tool's processes (the persistent workers and the
             child each forks per link), sampled every 0.1 s while building

The cache is a parameter: by default a new, empty disk cache in the work
directory (`--disk_cache=WORK/cache`); `--cache-flag=--remote_cache=grpc://HOST:PORT`
measures against a remote cache (BuildGrid, docs/remote.md) instead; it
must be empty for the cold build to be cold.

    python3 bench/scale.py --appliances 20 --work /tmp/scale

Everything goes to --work (generated workspace, output bases, cache); the
script shuts its Bazel servers down at the end. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

sys.path.insert(0, str(Path(__file__).resolve().parent))

import monorepo

LINK_PROGRESS = "Linking unikernel image "
LINK_TOOL = "unikernel_link.py"


@dataclass
class Peaks:
    """Peak memory (MiB) of the link tool's processes of one output base."""

    single: float = 0.0  # the largest one process reached (VmHWM)
    together: float = 0.0  # the largest sum of their RSS at one sample
    processes: int = 0


class LinkSampler:
    """Samples /proc for the link tool's processes under one output base."""

    def __init__(self, output_base: Path) -> None:
        self.output_base = str(output_base)
        self.peaks = Peaks()
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            total = 0.0
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                    if (
                        LINK_TOOL.encode() not in cmdline
                        or self.output_base.encode() not in cmdline
                    ):
                        continue
                    status = _status(proc)
                except OSError:
                    continue  # gone meanwhile
                self._seen.add(int(proc.name))
                total += status.get("VmRSS", 0.0)
                self.peaks.single = max(self.peaks.single, status.get("VmHWM", 0.0))
            self.peaks.together = max(self.peaks.together, total)
            self.peaks.processes = len(self._seen)


def _status(proc: Path) -> dict[str, float]:
    """/proc/PID/status memory lines, in MiB."""
    values = {}
    for line in (proc / "status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


@dataclass(frozen=True)
class Build:
    wall: float
    processes: dict[str, int]  # Bazel's summary: how many actions ran where
    links: tuple[str, ...]  # the images linked (from the profile)
    server_peak_mib: float
    link_peaks: Peaks = field(default_factory=Peaks)

    @property
    def executed(self) -> int:
        """Actions that ran on this machine (not a cache hit, not Bazel-internal)."""
        return sum(
            n
            for kind, n in self.processes.items()
            if kind not in ("internal", "remote cache hit")
        )


@dataclass(frozen=True)
class Bazel:
    workspace: Path
    output_base: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["bazel", f"--output_base={self.output_base}", *args]
        done = subprocess.run(
            command, cwd=self.workspace, capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            sys.exit(f"scale: `{' '.join(command)}` failed:\n{done.stderr[-4000:]}")
        return done

    def info(self, key: str) -> str:
        return self.run("info", key).stdout.strip()

    def build(self, cache_flag: str, profile: Path) -> Build:
        with LinkSampler(self.output_base) as sampler:
            start = time.perf_counter()
            done = self.run(
                "build",
                "--color=no",
                "--curses=no",
                cache_flag,
                f"--profile={profile}",
                "//apps/...",
            )
            wall = time.perf_counter() - start
        pid = self.info("server_pid")
        server = (
            _status(Path(f"/proc/{pid}")).get("VmHWM", 0.0) if pid.isdigit() else 0.0
        )
        return Build(
            wall=wall,
            processes=process_summary(done.stderr),
            links=linked_images(profile),
            server_peak_mib=server,
            link_peaks=sampler.peaks,
        )


def process_summary(stderr: str) -> dict[str, int]:
    """Bazel's `INFO: N processes: A remote cache hit, B internal, C worker.` as {kind: count}."""
    lines = [
        line for line in stderr.splitlines() if re.search(r"\d+ process(es)?:", line)
    ]
    if not lines:
        return {}
    summary = lines[-1].split(":", 2)[-1].strip().rstrip(".")
    counts = {}
    for part in summary.split(","):
        number, _, kind = part.strip().partition(" ")
        if number.isdigit():
            counts[kind] = int(number)
    return counts


def linked_images(profile: Path) -> tuple[str, ...]:
    """The labels of the images whose link action ran, from a Bazel JSON profile."""
    events = json.loads(profile.read_text())["traceEvents"]
    labels = {
        e["name"][len(LINK_PROGRESS) :].lstrip("@")
        for e in events
        if e.get("cat") == "action processing"
        and e.get("name", "").startswith(LINK_PROGRESS)
    }
    return tuple(sorted(labels))


def image_digests(bazel: Bazel, images: Sequence[str]) -> dict[str, str]:
    """sha256 of each image's ELF in the output base's bazel-bin."""
    bin_dir = Path(bazel.info("bazel-bin"))
    digests = {}
    for image in images:
        package, _, name = image.lstrip("/").partition(":")
        matches = sorted((bin_dir / package).glob(f"{name}*.elf"))
        digests[image] = hashlib.sha256(
            b"".join(p.name.encode() + p.read_bytes() for p in matches)
        ).hexdigest()
    return digests


def edit(workspace: Path, library: str) -> None:
    path = workspace / "shared" / library / f"{library}.c"
    text = path.read_text()
    if monorepo.EDIT_LINE not in text:
        sys.exit(
            f"scale: {path} has no line {monorepo.EDIT_LINE!r} to edit; regenerate the monorepo"
        )
    path.write_text(text.replace(monorepo.EDIT_LINE, monorepo.EDIT_LINE[:-1] + "1"))


def pick_library(description: dict[str, object], wanted: str | None) -> str:
    libraries = description["libraries"]
    assert isinstance(libraries, dict)
    if wanted is not None:
        if wanted not in libraries:
            sys.exit(
                f"scale: --edit {wanted}: no such library (the monorepo has {', '.join(libraries)})"
            )
        return wanted
    images = len(description["images"])  # type: ignore[arg-type]
    # The library whose users are closest to half the images: an edit that
    # must rebuild some images and must not rebuild the others.
    return min(
        libraries, key=lambda name: abs(len(libraries[name]["users"]) - images / 2)
    )


def row(name: str, build: Build) -> str:
    ran = ", ".join(f"{n} {kind}" for kind, n in sorted(build.processes.items()))
    return (
        f"| {name} | {build.wall:.1f} | {ran} | {build.executed} | {len(build.links)} | "
        f"{build.server_peak_mib:.0f} | "
        f"{build.link_peaks.single:.0f} / {build.link_peaks.together:.0f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--appliances",
        type=int,
        default=200,
        help="images in the monorepo (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", default="1", help="the monorepo's seed (default: %(default)s)"
    )
    parser.add_argument(
        "--work", type=Path, required=True, help="scratch directory (emptied first)"
    )
    parser.add_argument(
        "--cache-flag",
        help="the Bazel flag naming the cache (default: --disk_cache=WORK/cache, new and empty); "
        "e.g. --remote_cache=grpc://localhost:50051",
    )
    parser.add_argument(
        "--edit",
        help="the shared library to edit (default: the one used by about half)",
    )
    parser.add_argument(
        "--other-path",
        action="store_true",
        help="put the second output base at another path (default: the same path, the first one deleted)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the output bases and cache afterwards"
    )
    args = parser.parse_args(argv)
    if args.appliances < 1:
        parser.error("--appliances must be at least 1")
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    workspace = work / "mono"
    repo = monorepo.generate(workspace, args.appliances, args.seed)
    description = json.loads((workspace / "monorepo.json").read_text())
    images = [a.image for a in repo.appliances]
    cache_flag = args.cache_flag or f"--disk_cache={work / 'cache'}"
    first = Bazel(workspace, work / "base1")
    second = Bazel(workspace, work / ("base2" if args.other_path else "base1"))
    print(
        f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; {len(images)} images; cache: {cache_flag}"
    )
    failures = []
    try:
        start = time.perf_counter()
        first.run("fetch", "//apps/...")
        fetch = time.perf_counter() - start
        cold = first.build(cache_flag, work / "cold.json")
        if set(cold.links) != set(images):
            failures.append(
                f"the cold build linked {len(cold.links)} images, not {len(images)}"
            )
        cold_digests = image_digests(first, images)

        if second.output_base == first.output_base:
            # A fresh output base at the same path: the first one is shut down and deleted.
            first.run("shutdown")
            shutil.rmtree(first.output_base)
        second.run("fetch", "//apps/...")
        cached = second.build(cache_flag, work / "cached.json")
        different = [
            i for i, d in image_digests(second, images).items() if d != cold_digests[i]
        ]
        if different:
            failures.append(
                f"{len(different)} images differ between the two output bases, e.g. {different[0]}"
            )

        library = pick_library(description, args.edit)
        expected = sorted(description["libraries"][library]["users"])
        edit(workspace, library)
        edited = second.build(cache_flag, work / "edit.json")
        if list(edited.links) != expected:
            extra = sorted(set(edited.links) - set(expected))
            missing = sorted(set(expected) - set(edited.links))
            failures.append(
                f"the edit of {library} relinked {len(edited.links)} images, expected "
                f"{len(expected)} (extra: {extra[:3]}, missing: {missing[:3]})"
            )
    finally:
        for bazel in (first, second):
            if bazel.output_base.exists():
                bazel.run("shutdown", check=False)
        if not args.keep:
            for name in ("base1", "base2", "cache"):
                shutil.rmtree(work / name, ignore_errors=True)

    print(f"\nfetch of the external repositories (first output base): {fetch:.1f} s\n")
    print(
        "| build | wall s | Bazel's process summary | ran here | link actions (cache hits too) | "
        "Bazel server peak RSS MiB | link tool peak RSS MiB, one / all at once |"
    )
    print("|---|---|---|---|---|---|---|")
    print(row("cold, empty cache", cold))
    print(row("fresh output base, from the cache", cached))
    print(
        row(
            f"edit of {library} ({description['libraries'][library]['functions']} functions)",
            edited,
        )
    )
    print(
        f"\nedit of {library}: {len(edited.links)} images relinked, {len(expected)} expected "
        f"(the images that use it, directly or not); link processes seen: {cold.link_peaks.processes}"
    )
    print(
        f"images identical across the two output bases: {'yes' if not different else 'NO'}"
    )
    for failure in failures:
        print(f"scale: FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
