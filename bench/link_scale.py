#!/usr/bin/env python3
"""How the link tool's time grows with its input: 1k to 100k sections.

For each size N it writes C sources with N functions in all (1,000 per
object file, each function and its data in sections of their own with
-ffunction-sections -fdata-sections), compiles them with the project's zig
into one archive plus a boot object, and links them with the link tool's
own entry point (``unikernel.link.driver.link``, what ``link_command``
runs for Bazel), asking for every output the rule asks for (image, debug
image, map, manifest) with a randomised layout (a seed, as images get by
default; ``--layout plain``: ``--seed none``, lld's input order; ``--padding
BYTES``: the seed's random padding of up to BYTES before each function,
``--aslr-padding``, default 0). Each link runs in a fresh child process, so
its peak memory is its own.

Every stage of the pipeline is timed (CPU seconds) by wrapping the function the driver
calls for it (the linker itself is not changed):

    read       reader.load_input: ELF objects and archives into the model
    resolve    symtab.resolve: the symbol table
    classify   classify.classify_inputs: where each section goes
    mark-live  marklive.mark_live: reachability over relocations
    plan       plan.build_plan (twice) and the undefined-symbol check
    aslr       aslr.randomise: shuffle and base
    script     script.render: the linker script
    lld        lld.run: ld.lld, image and debug image
    seal       verify.*: reading the image back, the W^X seal, the window
    manifest   manifest.build_manifest and render, the normalised map

Then it fits time = a * N^b per stage (least squares on log-log); b near 1
is linear, near 2 quadratic.

Run through Bazel (it needs lief and the toolchain's zig):

    bazel run //bench:link_scale -- --sizes 1000,3000,10000,30000,100000
    bazel run //bench:link_scale -- --sizes 1000,3000,10000,30000,100000 --padding 64

Sources and objects go to a scratch directory (--work, default a temporary
one that is removed afterwards).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from unittest import mock

FUNCTIONS_PER_OBJECT = 1000
# One function in DEAD_EVERY is never called: mark-live and lld's garbage
# collection have something to remove.
DEAD_EVERY = 10
STAGES = (
    "read",
    "resolve",
    "classify",
    "mark-live",
    "plan",
    "aslr",
    "script",
    "lld",
    "seal",
    "manifest",
)
FLAGS = (
    "-target",
    "x86_64-freestanding-none",
    "-ffreestanding",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-pic",
    "-fno-asynchronous-unwind-tables",
    "-O2",
    "-ffile-compilation-dir=.",
)
BOOT_C = """
extern int f0(int);
volatile int sink;
__attribute__((section(".text.boot"))) void _start_pvh(void) {
    sink = f0(1);
    for (;;) {}
}
"""


@dataclass(frozen=True)
class Zig:
    """zig's compiler, archiver and ld.lld, with a private cache."""

    command: tuple[str, ...]
    cache: Path

    @property
    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            ZIG_GLOBAL_CACHE_DIR=str(self.cache),
            ZIG_LOCAL_CACHE_DIR=str(self.cache),
        )

    def run(self, *args: str, cwd: Path) -> None:
        done = subprocess.run(
            [*self.command, *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(
                f"link_scale: zig {' '.join(args[:3])} ... failed:\n{done.stderr[-2000:]}"
            )

    def ld_wrapper(self, directory: Path) -> Path:
        """An executable that behaves as ld.lld (the rule's toolchain gives the link tool one too)."""
        ld = directory / "ld.lld"
        env = f"ZIG_GLOBAL_CACHE_DIR={shlex.quote(str(self.cache))} ZIG_LOCAL_CACHE_DIR={shlex.quote(str(self.cache))}"
        ld.write_text(f'#!/bin/sh\n{env} exec {shlex.join(self.command)} ld.lld "$@"\n')
        ld.chmod(0o755)
        return ld


def function_source(first: int, count: int, total: int) -> str:
    """C text of functions f<first> .. f<first+count-1> of ``total``.

    Each live function calls the next live one (so everything but the dead
    ones is reachable from f0) and one other, pseudo-randomly chosen, and
    uses an object of each of .data, .rodata and .bss of its own.
    """
    lines = ["extern volatile int sink;"]
    for index in range(first, first + count):
        calls = []
        following = next_live(index, total)
        if following is not None:
            calls.append(following)
            other = (index * 7919 + 13) % total
            if other % DEAD_EVERY != DEAD_EVERY - 1 and other != index:
                calls.append(other)
        lines.extend(f"int f{callee}(int);" for callee in calls)
        body = (
            " + ".join(f"f{callee}(x + {n})" for n, callee in enumerate(calls)) or "0"
        )
        lines.append(f"int d{index}[2] = {{{index}, 1}};")
        lines.append(f"const int r{index}[2] = {{{index}, 2}};")
        lines.append(f"int b{index}[2];")
        lines.append(
            f"__attribute__((noinline)) int f{index}(int x) {{\n"
            f"    if (x > 64) return d{index}[x & 1] + r{index}[x & 1] + b{index}[0];\n"
            f"    b{index}[1] = x;\n"
            f"    return {body};\n"
            f"}}"
        )
    return "\n".join(lines) + "\n"


def next_live(index: int, total: int) -> int | None:
    candidate = index + 1
    while candidate < total and candidate % DEAD_EVERY == DEAD_EVERY - 1:
        candidate += 1
    if index % DEAD_EVERY == DEAD_EVERY - 1 or candidate >= total:
        return None
    return candidate


@dataclass(frozen=True)
class Inputs:
    functions: int
    boot: Path
    archive: Path


def build_inputs(zig: Zig, functions: int, work: Path, jobs: int) -> Inputs:
    """The boot object and an archive of the ``functions`` functions (kept in ``work`` for reuse)."""
    directory = work / f"n{functions}"
    archive = directory / "synthetic.a"
    boot = directory / "boot.o"
    if archive.exists() and boot.exists():
        return Inputs(functions, boot, archive)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "boot.c").write_text(BOOT_C)
    zig.run("cc", *FLAGS, "-c", "boot.c", "-o", "boot.o", cwd=directory)
    members = []
    for first in range(0, functions, FUNCTIONS_PER_OBJECT):
        name = f"part{first // FUNCTIONS_PER_OBJECT:04d}"
        count = min(FUNCTIONS_PER_OBJECT, functions - first)
        (directory / f"{name}.c").write_text(function_source(first, count, functions))
        members.append(name)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(
            pool.map(
                lambda m: zig.run(
                    "cc", *FLAGS, "-c", f"{m}.c", "-o", f"{m}.o", cwd=directory
                ),
                members,
            )
        )
    zig.run("ar", "rcs", "synthetic.a.tmp", *(f"{m}.o" for m in members), cwd=directory)
    (directory / "synthetic.a.tmp").rename(archive)
    for member in members:
        (directory / f"{member}.c").unlink()
        (directory / f"{member}.o").unlink()
    return Inputs(functions, boot, archive)


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Stopwatch:
    """CPU seconds per stage, summed over every call of the stage's functions.

    CPU time (this process's, plus that of the children it waited for: lld)
    rather than wall time: on a shared machine it is the steadier figure.
    """

    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(STAGES, 0.0)
    )
    running: bool = False

    def wrap(
        self, stage: str, function: Callable[..., object]
    ) -> Callable[..., object]:
        def timed(*args: object, **kwargs: object) -> object:
            if (
                self.running
            ):  # a timed function calling another: counted once, by the outer one
                return function(*args, **kwargs)
            self.running = True
            start = cpu_seconds()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[stage] += cpu_seconds() - start
                self.running = False

        return timed


@contextmanager
def timed_stages(watch: Stopwatch) -> Iterator[None]:
    """Wraps each stage's function where the driver looks it up; restored afterwards."""
    from unikernel.link import aslr, driver, lld, manifest, script, verify

    targets = (
        (driver, "load_input", "read"),
        (driver, "resolve", "resolve"),
        (driver, "classify_inputs", "classify"),
        (driver, "mark_live", "mark-live"),
        (driver, "build_plan", "plan"),
        (driver, "check_undefined", "plan"),
        (aslr, "randomise", "aslr"),
        (script, "render", "script"),
        (lld, "run", "lld"),
        (verify, "read_image", "seal"),
        (verify, "check_image", "seal"),
        (verify, "check_window", "seal"),
        (verify, "check_same_layout", "seal"),
        (manifest, "build_manifest", "manifest"),
        (manifest, "render", "manifest"),
        (driver, "normalize_map", "manifest"),
    )
    with ExitStack() as stack:
        for module, name, stage in targets:
            stack.enter_context(
                mock.patch.object(
                    module, name, watch.wrap(stage, getattr(module, name))
                )
            )
        yield


@dataclass(frozen=True)
class LinkTiming:
    functions: int
    sections: int  # allocated input sections of the loaded files (mark-live's nodes)
    live: int  # of which mark-live kept
    total: float  # wall seconds
    total_cpu: float
    stages: dict[str, float]  # CPU seconds
    peak_rss_mib: float
    image_bytes: int


LAYOUTS = ("random", "plain")


def link_once(
    ld: Path, inputs: Inputs, out: Path, layout: str = "random", padding: int = 0
) -> LinkTiming:
    """One link through the tool's entry point, every stage timed (call in a fresh process).

    ``layout`` random: a seed, as images get by default; plain: ``--seed
    none`` (lld's input order). ``padding``: ``--aslr-padding`` (random only).
    """
    from unikernel.link import driver

    watch = Stopwatch()
    seed = (
        [
            "--seed=//bench:synthetic_image",
            "--seed-origin=label",
            f"--aslr-padding={padding}",
            f"--aslr-window-end={64 * 1024 * 1024}",
        ]
        if layout == "random"
        else ["--seed=none"]
    )
    argv = [
        f"--ld={ld}",
        f"--input=//bench:boot={inputs.boot}",
        f"--input=//bench:synthetic={inputs.archive}",
        "--guest-name=scale",
        *seed,
        f"--output={out / 'image.elf'}",
        f"--debug-output={out / 'image.debug.elf'}",
        f"--map={out / 'image.map'}",
        f"--manifest={out / 'image.manifest.json'}",
    ]
    with timed_stages(watch):
        start, cpu = time.perf_counter(), cpu_seconds()
        result = driver.link(driver.parse_args(argv))
        total, total_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return LinkTiming(
        functions=inputs.functions,
        sections=len(result.liveness.nodes),
        live=len(result.liveness.live),
        total=total,
        total_cpu=total_cpu,
        stages=watch.seconds,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        image_bytes=(out / "image.elf").stat().st_size,
    )


def fit_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """b in seconds = a * size^b, least squares on logarithms."""
    points = [
        (math.log(n), math.log(t)) for n, t in zip(sizes, seconds) if n > 0 and t > 0
    ]
    if len(points) < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return float("nan")
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def render(results: Sequence[LinkTiming]) -> str:
    """A Markdown table of CPU seconds per stage and size, and the fitted exponents."""
    head = [
        "functions",
        "input sections",
        "live",
        *STAGES,
        "CPU",
        "wall",
        "peak RSS MiB",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [f"{r.functions:,}", f"{r.sections:,}", f"{r.live:,}"]
        cells += [f"{r.stages[s]:.2f}" for s in STAGES] + [
            f"{r.total_cpu:.2f}",
            f"{r.total:.2f}",
            f"{r.peak_rss_mib:.0f}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    if len(results) >= 2:
        sizes = [float(r.sections) for r in results]
        exps = [fit_exponent(sizes, [r.stages[s] for r in results]) for s in STAGES]
        exps.append(fit_exponent(sizes, [r.total_cpu for r in results]))
        exps.append(fit_exponent(sizes, [r.total for r in results]))
        rows.append(
            "| exponent b (t ~ N^b) | | | "
            + " | ".join(f"{b:.2f}" for b in exps)
            + " | |"
        )
    return "\n".join(rows) + "\n"


def zig_from(argument: str | None) -> tuple[str, ...]:
    words = shlex.split(
        argument
        or os.environ.get("ZIG", "")
        or f"{shlex.quote(sys.executable)} -m ziglang"
    )
    first = words[0]
    if "/" in first and not Path(first).is_absolute():
        words[0] = str(Path(first).resolve())
    return tuple(words)


def child(args: argparse.Namespace) -> int:
    """One link in this (fresh) process; its timing as JSON on stdout."""
    out = Path(tempfile.mkdtemp(prefix="link-scale-out-"))
    try:
        timing = link_once(
            Path(args.ld),
            Inputs(args.functions, Path(args.boot), Path(args.archive)),
            out,
            args.layout,
            args.padding,
        )
    finally:
        for path in out.iterdir():
            path.unlink()
        out.rmdir()
    print(json.dumps(asdict(timing)))
    return 0


def measure(
    zig: Zig,
    sizes: Sequence[int],
    work: Path,
    rounds: int,
    jobs: int,
    layout: str = "random",
    padding: int = 0,
) -> list[LinkTiming]:
    ld = zig.ld_wrapper(work)
    results = []
    for functions in sizes:
        inputs = build_inputs(zig, functions, work, jobs)
        runs = []
        for _ in range(rounds):
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                f"--functions={functions}",
                f"--ld={ld}",
                f"--boot={inputs.boot}",
                f"--archive={inputs.archive}",
                f"--layout={layout}",
                f"--padding={padding}",
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(
                    f"link_scale: the link of {functions} functions failed:\n{done.stderr[-3000:]}"
                )
            runs.append(LinkTiming(**json.loads(done.stdout.strip().splitlines()[-1])))
        best = min(
            runs, key=lambda r: r.total_cpu
        )  # the least disturbed run on a shared machine
        print(
            f"link_scale: {functions:,} functions: {best.total:.2f} s",
            file=sys.stderr,
            flush=True,
        )
        results.append(best)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,3000,10000,30000,100000",
        help="functions per link, comma-separated",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="links per size, the fastest kept (default: 1)",
    )
    parser.add_argument(
        "--zig", help="command that runs zig (default: $ZIG, else python -m ziglang)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="scratch directory kept for reuse (default: a temporary one)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="parallel compiles (default: 2)"
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="random",
        help="random: a seed, as images get by default; plain: --seed none (default: random)",
    )
    parser.add_argument(
        "--padding",
        type=int,
        default=0,
        metavar="BYTES",
        help="random layout: up to BYTES (a multiple of 16) of padding before each function, "
        "--aslr-padding (default: 0)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--functions", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ld", help=argparse.SUPPRESS)
    parser.add_argument("--boot", help=argparse.SUPPRESS)
    parser.add_argument("--archive", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    try:
        sizes = [int(word) for word in args.sizes.split(",")]
    except ValueError:
        parser.error(
            f"--sizes {args.sizes!r}: expected numbers separated by commas, e.g. 1000,10000"
        )
    if args.padding and args.layout == "plain":
        parser.error("--padding needs --layout random: --seed none has no padding")
    if args.padding % 16 or not 0 <= args.padding <= 4096:
        parser.error(f"--padding {args.padding}: expected a multiple of 16 from 0 to 4096")
    if not sizes or min(sizes) < 2 or args.rounds < 1 or args.jobs < 1:
        parser.error(
            "--sizes must be at least 2 functions each; --rounds and --jobs at least 1"
        )
    with ExitStack() as stack:
        work = args.work or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="link-scale-"))
        )
        work = work.resolve()
        cache = work / "zig-cache"
        cache.mkdir(parents=True, exist_ok=True)
        zig = Zig(zig_from(args.zig), cache)
        print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}\n")
        results = measure(
            zig, sizes, work, args.rounds, args.jobs, args.layout, args.padding
        )
        print(render(results))
        if args.json is not None:
            args.json.write_text(
                json.dumps([asdict(r) for r in results], indent=1) + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
