#!/usr/bin/env python3
"""Block I/O through virtio-blk: each block cache policy, no cache, and Linux's fio, in QEMU.

    bazel run //bench:blk -- [--rounds N] [--json FILE]

from the workspace root, after

    bazel build //bench/blkbench/...
    sudo bench/linux-guest/build.sh

Every run boots a fresh QEMU (-M microvm, one vcpu, 128 MiB (Linux: 512
MiB, LINUX_FIO_MEMORY_MIB), the same accelerator) with a fresh zero-filled 16 MiB raw disk on virtio-blk. Our
side is bench/blkbench/blkbench.c: five phases of 4 KiB requests over the first
8 MiB (sequential write + flush, sequential read, random read, random read
over a 256 KiB hot set, random write + flush), once per policy pair
(//bench/blkbench:write_back_lru ...) and once with the cache bypassed
("cache=none"). The Linux side runs the same five phases with fio (psync,
4 KiB) on /dev/vda, with O_DIRECT and through the page cache. The sides
are interleaved, the order flipping every round. Prints throughput (MiB/s)
and p50/p99 latency (us) per phase and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from unikernel import qemu

from bench.benchlib import BenchError, linux_clock_args, workspace

PHASES = ("seqwrite", "seqread", "randread", "randread-hot", "randwrite")
POLICIES = ("write_back_lru", "write_back_two_q", "write_through_lru", "write_through_two_q")
DISK_SIZE = "16M"
RUN_TIMEOUT_S = 900.0
# fio's initramfs (its libraries, ceph's among them) does not even unpack in
# the images' 128 MiB: the kernel panics in unpack_to_rootfs. The Linux side
# gets 512 MiB; O_DIRECT runs do not use it, buffered ones cache in it.
LINUX_FIO_MEMORY_MIB = 512


@dataclass(frozen=True)
class Run:
    """One guest run: a bench image (policy or "none") or Linux's fio (direct or buffered)."""

    name: str  # "write_back_lru", "none", "linux-direct", "linux-buffered"
    kernel: Path
    initrd: Path | None
    cmdline: str


@dataclass
class Phase:
    run: str
    phase: str
    mib_s: float
    p50_us: float
    p99_us: float


def parse_blkbench(console: str, run: str) -> list[Phase]:
    """The image's `BLKBENCH <phase> ops= bytes= ns= p50_ns= p99_ns=` lines."""
    out = []
    pat = r"^BLKBENCH (\S+) ops=(\d+) bytes=(\d+) ns=(\d+) p50_ns=(\d+) p99_ns=(\d+)\r?$"
    for m in re.finditer(pat, console, re.MULTILINE):
        name, _, nbytes, ns, p50, p99 = m.groups()
        out.append(Phase(run, name, int(nbytes) / (int(ns) / 1e9) / 2**20, int(p50) / 1e3, int(p99) / 1e3))
    if [p.phase for p in out] != list(PHASES) or not re.search(r"^BLKBENCH done 0\r?$", console, re.MULTILINE):
        raise BenchError(f"{run}: the image did not finish its phases; its console ends:\n{console[-1500:]}")
    return out


def parse_fio(console: str, run: str) -> list[Phase]:
    """fio's JSON between the Linux guest's BENCH: fio-json-begin/end lines."""
    m = re.search(r"BENCH: fio-json-begin\r?\n(.*?)BENCH: fio-json-end", console, re.DOTALL)
    if not m:
        raise BenchError(f"{run}: the Linux guest printed no fio results; its console ends:\n{console[-1500:]}")
    text = m.group(1).replace("\r", "")
    doc = json.loads(text[text.index("{") :])
    out = []
    for job in doc["jobs"]:
        side = job["write"] if job["write"]["io_bytes"] else job["read"]
        pct = side["clat_ns"].get("percentile", {})
        # end_fsync: the job's runtime includes the flush, as the image's phases do.
        seconds = job["job_runtime"] / 1e3 if job.get("job_runtime") else side["runtime"] / 1e3
        out.append(
            Phase(
                run,
                job["jobname"],
                side["io_bytes"] / seconds / 2**20 if seconds else float("nan"),
                pct.get("50.000000", float("nan")) / 1e3,
                pct.get("99.000000", float("nan")) / 1e3,
            )
        )
    if [p.phase for p in out] != list(PHASES):
        raise BenchError(f"{run}: fio ran {[p.phase for p in out]}, not {list(PHASES)}")
    return out


def command(run: Run, disk: Path, accel: str) -> list[str]:
    memory = LINUX_FIO_MEMORY_MIB if run.initrd else qemu.Machine.memory_mib
    machine = qemu.Machine(run.kernel, cmdline=run.cmdline, memory_mib=memory, accel=accel, machine="microvm", disks=(disk,))
    cmd = qemu.qemu_command(qemu.find_qemu(), machine, interactive=False)
    if run.initrd is not None:
        cmd[cmd.index("-M") + 1] = "microvm"  # Debian's kernel finds virtio-mmio through ACPI
        cmd[cmd.index("-kernel") : cmd.index("-kernel")] = ["-initrd", str(run.initrd)]
    return cmd


def execute(run: Run, accel: str, scratch: Path) -> list[Phase]:
    disk = qemu.make_disks([DISK_SIZE], scratch / run.name)[0]
    log = scratch / f"{run.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command(run, disk, accel), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        proc.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise BenchError(f"{run.name}: no result in {RUN_TIMEOUT_S:.0f} s; console in {log}") from None
    finally:
        disk.unlink(missing_ok=True)
    console = log.read_text(errors="replace")
    if run.initrd:
        return parse_fio(console, run.name)
    phases = parse_blkbench(console, run.name)
    stats = re.search(r"^BLKBENCH stats (.*?)\r?$", console, re.MULTILINE)
    if stats:  # the cache's counters (hits, write-backs and the device requests they took)
        print(f"  {run.name}: {stats.group(1)}", flush=True)
    return phases


def runs(args: argparse.Namespace) -> list[Run]:
    out = []
    for p in args.policies:
        elf = args.bazel_bin / "bench/blkbench" / f"{p}.elf"
        if not elf.is_file():
            raise BenchError(f"{elf} does not exist; build it: bazel build //bench/blkbench/...")
        out.append(Run(p, elf, None, ""))
    if not out:
        raise BenchError("--policies names none; give at least one of: " + ", ".join(POLICIES))
    out.append(Run("none", out[0].kernel, None, "cache=none"))
    kernel, initrd = args.linux_dir / "vmlinuz", args.linux_dir / "initrd-fio.img"
    if not (kernel.is_file() and initrd.is_file()):
        raise BenchError(f"no Linux guest in {args.linux_dir}; build it: sudo bench/linux-guest/build.sh")
    lx = f"console=ttyS0 quiet panic=-1 {linux_clock_args()} bench=fio"
    out.append(Run("linux-direct", kernel, initrd, f"{lx} fio=direct"))
    out.append(Run("linux-buffered", kernel, initrd, f"{lx} fio=buffered"))
    return out


def summarize(phases: list[Phase]) -> list[Phase]:
    """The median over rounds of each (run, phase)."""
    keys = list(dict.fromkeys((p.run, p.phase) for p in phases))
    out = []
    for run, phase in keys:
        same = [p for p in phases if p.run == run and p.phase == phase]
        out.append(
            Phase(
                run,
                phase,
                statistics.median(p.mib_s for p in same),
                statistics.median(p.p50_us for p in same),
                statistics.median(p.p99_us for p in same),
            )
        )
    return out


def render(rows: list[Phase]) -> str:
    names = list(dict.fromkeys(r.run for r in rows))
    cell = {(r.run, r.phase): r for r in rows}
    lines = ["| phase | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for ph in PHASES:
        cells = []
        for n in names:
            r = cell.get((n, ph))
            cells.append(f"{r.mib_s:.2f} MiB/s, {r.p50_us:.0f}/{r.p99_us:.0f} us" if r else "-")
        lines.append(f"| {ph} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=1, help="rounds; the order of the runs flips every round")
    p.add_argument("--accel", default="tcg", choices=("tcg", "kvm"))
    p.add_argument("--json", type=Path, default=workspace() / "bench/blk.json")
    p.add_argument("--bazel-bin", type=Path, default=workspace() / "bazel-bin")
    default_linux = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rules_unikernel-bench-linux/out"
    p.add_argument("--linux-dir", type=Path, default=default_linux)
    p.add_argument("--policies", default=",".join(POLICIES), help="cache policy pairs to run, comma-separated")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    args.policies = [x for x in args.policies.split(",") if x]
    unknown = [x for x in args.policies if x not in POLICIES]
    if unknown:
        p.error(f"unknown policy pair {unknown[0]!r}; use some of: {', '.join(POLICIES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases: list[Phase] = []
    try:
        all_runs = runs(args)
        with tempfile.TemporaryDirectory(prefix="bench-blk-") as tmp:
            for rnd in range(args.rounds):
                for run in all_runs if rnd % 2 == 0 else all_runs[::-1]:
                    got = execute(run, args.accel, Path(tmp))
                    phases += got
                    print(f"round {rnd + 1} {run.name}: " + ", ".join(f"{p.phase} {p.mib_s:.2f} MiB/s" for p in got), flush=True)
    except (BenchError, qemu.RunError) as e:
        print(f"bench/blk.py: {e}", file=sys.stderr)
        return 1
    rows = summarize(phases)
    print(render(rows))
    load = os.getloadavg()
    doc = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": load,
        "accel": args.accel,
        "rows": [asdict(r) for r in rows],
        "samples": [asdict(p) for p in phases],
    }
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"written {args.json} (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
