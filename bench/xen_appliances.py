#!/usr/bin/env python3
"""The appliances side by side with Linux programs on the lab's real Xen.

    bazel build //bench:xen_appliances
    sudo bazel-bin/bench/xen_appliances [--type pvh|pv] [--rounds N] [--json FILE]

from the workspace root (as root: the lab's debootstrap and QEMU). It runs
the Xen lab in its benchmark mode (`BENCH=1 tests/xenlab/run.sh`: the
lab's cache, dom0 and boot of Xen in QEMU, with tests/xenlab/dom0-bench.sh
in dom0 instead of the tests), then turns the result lines dom0 wrote
into the table. examples/httpd and examples/dns run against nginx-light
and NSD in a Linux domU (bench/linux-guest/build.sh: Debian bookworm's
kernel and an initramfs with the same site and zone), each as a domU of
the same type, memory and one vcpu on the same bridge, one at a time,
measured from dom0: ab at concurrency 1, 10 and 100 (requests/s, p50,
p99), dnsperf (queries/s), each RRset's response compared byte for byte,
`xl create` to the first answered request, image bytes, memory. And
examples/iperf (lwIP's lwiperf) against the Linux guest's iperf 2 server
(bench=iperf): TCP bulk throughput both ways as dom0's iperf 2 measures it,
receive (dom0's `iperf -c` to port 5001) and send (ours booted with
`send=10.0.0.1:5002` against dom0's `iperf -s -p 5002`; Linux made to
connect back by `iperf -c -r -L 5002`), Mbit/s.

The block sides (only when `--sides` names them; `--sides blk` is all of
them): bench/blkbench's image per cache policy pair (blk-write_back_lru ...)
and with cache=none (blk-none) on blkfront, against fio in the Linux domU
(initrd-fio, bench=fio) with O_DIRECT and buffered (linux-fio-direct,
linux-fio-buffered), each alone on a fresh 16 MiB raw file through blkback,
512 MiB, one vcpu: bench/blk.py's five phases of 4 KiB requests (MiB/s,
p50/p99 latency in us), parsed from each guest's console.

`--sides` runs only some sides (e.g. `--sides iperf,linux-iperf`).

`--rounds N` runs the lab N times (each a fresh boot of Xen and dom0); the
table has the medians, the JSON each round's figures too, and each round's
results directory is kept in the lab's cache as `rounds/K` (the lab wipes
`results/` at its next run).

Under the table, the profile of each side (bench/xen_profile.py): CPU time
of the guest and of dom0, packets, notifications and netback's ring
requests per query or per MB, our guest's own counters, and the VM exits
per query or MB from a short xentrace run (bench/xentrace.py).

`--results DIR[,DIR...]` makes the table from earlier runs' results (the
lab's `results/` directory, or the `rounds/K` ones) instead of running the
lab. Exits 1 when every side failed (or none ran).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.appliances import (
    AbResult,
    Answers,
    IperfResult,
    Row,
    compare_answers,
    parse_ab,
    parse_dnsperf,
    parse_iperf_csv,
    render,
    zone_rrsets,
)
from bench import blk, xen_profile
from bench.benchlib import BenchError, median, workspace

PAIRS = (("httpd", "nginx"), ("dns", "nsd"))
SIZE_TARGET_KB = {"httpd": 86, "dns": 92}
BLK_SIDES = tuple(f"blk-{p}" for p in blk.POLICIES) + ("blk-none", "linux-fio-direct", "linux-fio-buffered")
SIDES = ("httpd", "nginx", "dns", "nsd", "iperf", "linux-iperf") + BLK_SIDES
# dom0-bench.sh's iperf ports: the guests' servers listen on 5001, dom0's
# (ours' send=, Linux's -r -L) on 5002; each CSV report names its port.
IPERF_PORTS = {"recv": 5001, "send": 5002}
IPERF_SECONDS = 10


def lab_cache() -> Path:
    """Where tests/xenlab/run.sh keeps its cache (the same rule as run.sh)."""
    if os.environ.get("XENLAB_CACHE"):
        return Path(os.environ["XENLAB_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "rules_unikernel-xenlab"


def parse_bench_lines(text: str) -> dict[str, dict[str, str]]:
    """dom0-bench.sh's "SIDE KEY VALUE" lines, by side and key (a later line wins)."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            out.setdefault(parts[0], {})[parts[1]] = parts[2]
    return out


def number(value: str | None) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except ValueError:
        return float("nan")


def read_answers(path: Path) -> dict[str, bytes | None]:
    """bench-probe.py's "owner TYPE HEX|none" lines."""
    out: dict[str, bytes | None] = {}
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[f"{parts[0]} {parts[1]}"] = None if parts[2] == "none" else bytes.fromhex(parts[2])
    return out


def skip_name(msg: bytes, at: int) -> int:
    """The offset after the (possibly compressed) domain name at `at`."""
    while at < len(msg):
        n = msg[at]
        if n == 0:
            return at + 1
        if n & 0xC0 == 0xC0:
            return at + 2
        at += 1 + n
    raise ValueError("name runs past the end of the message")


def answer_part(msg: bytes) -> bytes | None:
    """RCODE, AA and TC, the question and answer counts, and the question and
    answer sections' bytes: the response without its authority and
    additional sections (NSD adds the zone's NS RRset and their addresses;
    examples/dns answers minimally). None if the message is malformed."""
    if len(msg) < 12:
        return None
    _, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    at = 12
    try:
        for _ in range(qd):
            at = skip_name(msg, at) + 4
        for _ in range(an):
            at = skip_name(msg, at) + 8
            at += 2 + struct.unpack("!H", msg[at : at + 2])[0]
    except (ValueError, struct.error):
        return None
    if at > len(msg):
        return None
    return struct.pack("!HHH", flags & 0x060F, qd, an) + msg[12:at]


@dataclass
class AnswerCheck:
    whole: Answers
    answer_sections_identical: int = 0
    answer_sections_differ: list[str] = field(default_factory=list)


def check_answers(ours: dict[str, bytes | None], theirs: dict[str, bytes | None]) -> AnswerCheck:
    result = AnswerCheck(compare_answers(ours, theirs))
    for key in sorted(ours):
        a, b = ours[key], theirs.get(key)
        pa = answer_part(a) if a is not None else None
        pb = answer_part(b) if b is not None else None
        if pa is not None and pa == pb:
            result.answer_sections_identical += 1
        else:
            result.answer_sections_differ.append(key)
    return result


@dataclass
class Results:
    lines: dict[str, dict[str, str]]
    ab: dict[tuple[str, int], AbResult]
    dnsperf: dict[str, dict[str, float]]
    answers: AnswerCheck | None
    sizes: dict[str, int]
    notes: list[str]
    iperf: dict[tuple[str, str], IperfResult] = field(default_factory=dict)  # (side, "recv"|"send")
    blk: list[blk.Phase] = field(default_factory=list)  # the block sides' phases, by side
    profile: list[xen_profile.Phase] = field(default_factory=list)
    guest_counters: dict[str, dict[str, float]] = field(default_factory=dict)  # ours, from the console
    traces: list[xen_profile.Traced] = field(default_factory=list)

    def failed(self) -> bool:
        """Every side that ran reported an error (or none ran)."""
        sides = [s for s in self.lines if s != "dom0"]
        return not sides or all("error" in self.lines[s] for s in sides)


def read_blk(results: Path, side: str) -> list[blk.Phase]:
    """A block side's phases from its console (BLKBENCH lines, or fio's JSON)."""
    log = results / f"bench-{side}.console.log"
    if not log.is_file():
        raise BenchError(f"no console log {log.name}")
    console = log.read_text(errors="replace")
    try:
        return blk.parse_fio(console, side) if side.startswith("linux-") else blk.parse_blkbench(console, side)
    except (ValueError, KeyError) as e:  # fio's JSON cut short
        raise BenchError(f"{side}: fio's JSON is unreadable ({type(e).__name__}: {e})") from None


def read_ab(path: Path) -> AbResult:
    text = path.read_text(errors="replace")
    try:
        return parse_ab(text)
    except BenchError:
        last = (text.strip().splitlines() or ["no output"])[-1]
        return AbResult(float("nan"), float("nan"), float("nan"), -1, last)


def load(results: Path, images: Path, concurrency: list[int]) -> Results:
    bench = results / "bench.txt"
    if not bench.is_file():
        raise BenchError(f"{bench} does not exist; run the benchmark first (BENCH=1 tests/xenlab/run.sh), or give --results the lab's results directory")
    lines = parse_bench_lines(bench.read_text())
    notes = [f"{side}: {v['error']}" for side, v in lines.items() if "error" in v]
    ab: dict[tuple[str, int], AbResult] = {}
    for side in ("httpd", "nginx"):
        for c in concurrency:
            f = results / f"bench-{side}.ab-c{c}.txt"
            if f.is_file():
                ab[(side, c)] = read_ab(f)
                if ab[(side, c)].error:
                    notes.append(f"{side} ab c={c}: gave up ({ab[(side, c)].error})")
    perf: dict[str, dict[str, float]] = {}
    for side in ("dns", "nsd"):
        f = results / f"bench-{side}.dnsperf.txt"
        if f.is_file():
            try:
                perf[side] = asdict(parse_dnsperf(f.read_text(errors="replace")))
            except BenchError as e:
                notes.append(f"{side} dnsperf: {e}")
    iperf: dict[tuple[str, str], IperfResult] = {}
    for side in ("iperf", "linux-iperf"):
        for way, port in IPERF_PORTS.items():
            f = results / f"bench-{side}.{way}.txt"
            if f.is_file():
                try:
                    iperf[(side, way)] = parse_iperf_csv(f.read_text(errors="replace"), port)
                except BenchError:
                    last = (f.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
                    notes.append(f"{side} iperf {way}: no report for port {port} ({last})")
    phases: list[blk.Phase] = []
    for side in BLK_SIDES:
        if side in lines:
            try:
                phases += read_blk(results, side)
            except BenchError as e:
                notes.append(f"{side}: {str(e).splitlines()[0]}")
    ours, theirs = read_answers(results / "bench-dns.answers.txt"), read_answers(results / "bench-nsd.answers.txt")
    answers = check_answers(ours, theirs) if ours and theirs else None
    sizes = {}
    for name, file in (("httpd", "httpd.elf"), ("dns", "dns.elf"), ("linux", "linux-vmlinuz"), ("initrd", "linux-initrd.img")):
        if (images / file).is_file():
            sizes[name] = (images / file).stat().st_size
    profile = [p for side in lines for p in xen_profile.read_phases(results, side)]
    counters = {}
    for side in ("httpd", "dns", "iperf"):
        log = results / f"bench-{side}.console.log"
        if side in lines and log.is_file():
            counters[side] = xen_profile.guest_counters(log.read_text(errors="replace"))
    traces = [t for side in lines for t in xen_profile.read_traces(results, side)]
    return Results(lines, ab, perf, answers, sizes, notes, iperf, phases, profile, counters, traces)


def median_rows(rounds: list[list[Row]]) -> list[Row]:
    """Each row's median over the rounds (a round without the figure is left out)."""
    order: list[str] = []
    by: dict[str, list[Row]] = {}
    for rows in rounds:
        for row in rows:
            if row.what not in by:
                order.append(row.what)
            by.setdefault(row.what, []).append(row)
    out = []
    for what in order:
        rs = by[what]
        out.append(Row(what, median([r.ours for r in rs]), median([r.theirs for r in rs]), rs[0].unit, rs[0].target, rs[0].higher_is_better))
    return out


def table(r: Results, concurrency: list[int]) -> list[Row]:
    rows: list[Row] = []
    nan = float("nan")
    ran_http = bool(r.ab) or "httpd" in r.lines or "nginx" in r.lines  # not with --sides iperf,linux-iperf
    for c in concurrency if ran_http else []:
        a, b = r.ab.get(("httpd", c)), r.ab.get(("nginx", c))
        target = ">= 1.2" if c in (10, 100) else "(none)"
        rows.append(Row(f"httpd/nginx requests/s, ab c={c}", a.rps if a else nan, b.rps if b else nan, "req/s", target, True))
        rows.append(Row(f"httpd/nginx p50 latency, ab c={c}", a.p50_ms if a else nan, b.p50_ms if b else nan, "ms", "(none)", False))
        rows.append(Row(f"httpd/nginx p99 latency, ab c={c}", a.p99_ms if a else nan, b.p99_ms if b else nan, "ms", "(none)", False))
    if r.dnsperf:
        q = {s: r.dnsperf.get(s, {}).get("qps", nan) for s in ("dns", "nsd")}
        rows.append(Row("dns/nsd queries/s, dnsperf", q["dns"], q["nsd"], "q/s", ">= 1.1", True))
        lost = {s: r.dnsperf.get(s, {}).get("lost", nan) for s in ("dns", "nsd")}
        rows.append(Row("dns/nsd queries lost, dnsperf", lost["dns"], lost["nsd"], "queries", "(none)", False))
    for way, what, target in (("recv", "receive", ">= 1.0"), ("send", "send", ">= 0.9")):
        a, b = r.iperf.get(("iperf", way)), r.iperf.get(("linux-iperf", way))
        if a or b:
            rows.append(Row(f"iperf/Linux iperf 2 TCP {what}, {IPERF_SECONDS} s", a.mbit_s if a else nan, b.mbit_s if b else nan, "Mbit/s", target, True))
    if "iperf" in r.lines or "linux-iperf" in r.lines:
        lo, lt = r.lines.get("iperf", {}), r.lines.get("linux-iperf", {})
        rows.append(Row("iperf/linux-iperf xl create to listening (console)", number(lo.get("ready_s")), number(lt.get("ready_s")), "s", "(none)", False))
        rows.append(Row("iperf/linux-iperf domain memory (xl list)", number(lo.get("mem_mib")), number(lt.get("mem_mib")), "MiB", "(none)", False))
    linux = r.sizes.get("linux", 0) + r.sizes.get("initrd", 0)
    for ours, theirs in PAIRS:
        if ours not in r.lines and theirs not in r.lines:
            continue
        lo, lt = r.lines.get(ours, {}), r.lines.get(theirs, {})
        rows.append(Row(f"{ours}/{theirs} xl create to first answer", number(lo.get("first_answer_s")), number(lt.get("first_answer_s")), "s", "<= 0.5", False))
        rows.append(Row(f"{ours}/{theirs} xl create itself", number(lo.get("xl_create_s")), number(lt.get("xl_create_s")), "s", "(none)", False))
        if ours in r.sizes and linux:
            rows.append(Row(f"{ours}/{theirs} image bytes (ELF vs vmlinuz+initrd)", r.sizes[ours], linux, "bytes", f"ours <= {SIZE_TARGET_KB[ours]} KB", False))
        rows.append(Row(f"{ours}/{theirs} domain memory (xl list)", number(lo.get("mem_mib")), number(lt.get("mem_mib")), "MiB", "(none)", False))
    return rows


def verdicts(rows: list[Row]) -> list[str]:
    """Each target in words: met or missed, and by how much."""
    out = []
    for row in rows:
        t = row.target
        if t.startswith(">=") or t.startswith("<="):
            limit = float(t.split()[1])
            ok = row.ratio >= limit if t.startswith(">=") else row.ratio <= limit
            state = "no figure" if row.ratio != row.ratio else ("met" if ok else "missed")
            out.append(f"{row.what}: ratio {row.ratio:.3f}, target {t}: {state}")
        elif t.startswith("ours <="):
            limit = int(t.split()[2]) * 1024
            state = "met" if row.ours <= limit else f"missed ({row.ours / limit:.2f}x the target)"
            out.append(f"{row.what}: {int(row.ours)} bytes, target {t}: {state}")
    return out


def run_lab(args: argparse.Namespace, queries: Path) -> int:
    env = dict(os.environ, BENCH="1", BENCH_QUERIES=str(queries), BENCH_TYPE=args.type, BENCH_XENTRACE="1" if args.xentrace else "0")
    env.update(
        BENCH_CONCURRENCY=" ".join(str(c) for c in args.concurrency),
        BENCH_REQUESTS=str(args.requests),
        BENCH_DNS_SECONDS=str(args.dns_seconds),
    )
    if args.sides:
        env["BENCH_SIDES"] = " ".join(args.sides)
    if args.xl_cfg:
        env["BENCH_XL_CFG"] = "\n".join(args.xl_cfg)
    run = workspace() / "tests/xenlab/run.sh"
    return subprocess.run([str(run)], env=env, cwd=workspace()).returncode


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--type", default="pvh", choices=("pvh", "pv"), help="the domUs' type, both sides")
    p.add_argument("--concurrency", default="1,10,100", help="ab concurrency levels, comma-separated")
    p.add_argument("--requests", type=int, default=500, help="ab requests per run (at least 10 per connection)")
    p.add_argument("--dns-seconds", type=int, default=10, help="seconds of the dnsperf run")
    p.add_argument(
        "--sides", default="", help=f"comma-separated sides to run (of {','.join(SIDES)}; blk: all block sides); default all but the block sides"
    )
    p.add_argument("--rounds", type=int, default=1, help="runs of the lab (fresh boots); the table has the medians")
    p.add_argument("--no-xentrace", dest="xentrace", action="store_false", help="no xentrace run after each side's load")
    p.add_argument("--xl-cfg", action="append", default=[], metavar="LINE",
                   help='a line added to every side\'s xl config, both sides (e.g. --xl-cfg \'tsc_mode = "native"\'); repeatable')
    p.add_argument("--results", help="make the table from these results directories (comma-separated); do not run the lab")
    p.add_argument("--json", type=Path, default=workspace() / "bench/xen_appliances.json", help="where the results go")
    p.add_argument("--zone", type=Path, default=workspace() / "examples/dns/test.zone")
    args = p.parse_args(argv)
    try:
        args.concurrency = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        p.error(f"--concurrency {args.concurrency!r} is not a comma-separated list of numbers (e.g. 1,10,100)")
    args.sides = [x for s in args.sides.split(",") if s for x in (BLK_SIDES if s == "blk" else (s,))]
    unknown = [s for s in args.sides if s not in SIDES]
    if unknown:
        p.error(f"--sides: unknown side {unknown[0]!r} (give some of {','.join(SIDES)}, e.g. --sides iperf,linux-iperf or --sides blk)")
    if args.requests < 1 or args.dns_seconds < 1 or args.rounds < 1 or min(args.concurrency) < 1:
        p.error("--requests, --dns-seconds, --rounds and every --concurrency must be at least 1")
    bad = [line for line in args.xl_cfg if "=" not in line or "\n" in line]
    if bad:
        p.error(f"--xl-cfg {bad[0]!r}: give one xl setting per --xl-cfg, as KEY = VALUE (e.g. tsc_mode = \"native\")")
    args.results = [Path(d) for d in args.results.split(",") if d] if args.results else None
    if args.results is not None and not args.results:
        p.error("--results: give a results directory (the lab's results/, or rounds/K)")
    return args


def run_rounds(args: argparse.Namespace) -> list[Path]:
    """Runs the lab args.rounds times; each round's results kept as rounds/K."""
    if os.geteuid() != 0:
        raise BenchError("the Xen lab needs root (debootstrap, QEMU's 9p share); run it as root (sudo)")
    kept = lab_cache() / "rounds"
    shutil.rmtree(kept, ignore_errors=True)
    out = []
    for k in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="xen-appliances-") as tmp:
            queries = Path(tmp) / "queries.txt"
            queries.write_text("".join(f"{o} {t}\n" for o, t in zone_rrsets(args.zone)))
            rc = run_lab(args, queries)
        if rc != 0:
            print(f"bench/xen_appliances.py: round {k}: the lab exited with {rc}; the table has what it measured", file=sys.stderr)
        if (lab_cache() / "results").is_dir():
            kept.mkdir(parents=True, exist_ok=True)
            shutil.copytree(lab_cache() / "results", kept / str(k))
            out.append(kept / str(k))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        dirs = args.results if args.results is not None else run_rounds(args)
        images = (dirs[0].parent / "share/images") if args.results else lab_cache() / "share/images"
        if args.results is not None and not images.is_dir():
            images = lab_cache() / "share/images"
        if not dirs:
            raise BenchError("no round left a results directory (see the lab's output above)")
        rounds = [load(d, images, args.concurrency) for d in dirs]
    except BenchError as e:
        print(f"bench/xen_appliances.py: {e}", file=sys.stderr)
        return 1
    per_round = [table(r, args.concurrency) for r in rounds]
    rows = median_rows(per_round)
    r = rounds[-1]
    if len(rounds) > 1:
        print(f"medians of {len(rounds)} rounds ({', '.join(str(d) for d in dirs)})")
    if rows or not r.blk:
        print(render(rows))
    if r.blk:
        print(blk.render(r.blk))
    for v in verdicts(rows):
        print(f"  {v}")
    for side in ("nginx", "nsd"):
        if "linux_used_kib" in r.lines.get(side, {}):
            print(f"  {side}: Linux reports {r.lines[side]['linux_used_kib']} KiB in use (MemTotal - MemAvailable) once serving")
    if r.answers is not None:
        w = r.answers.whole
        print(f"dns vs nsd answers: {w.identical} of {w.rrsets} responses byte-identical; "
              f"{r.answers.answer_sections_identical} of {w.rrsets} identical up to the end of the answer section")
        for d in r.answers.answer_sections_differ:
            print(f"  answer section differs: {d}")
    for k, rr in enumerate(rounds, 1):
        if rr.profile:
            print(f"profile{f' (round {k})' if len(rounds) > 1 else ''}, per unit of work (a query, or a MB moved on the vif):")
            print(xen_profile.render_phases(rr.profile, rr.guest_counters))
        if rr.traces:
            print(xen_profile.render_traces(rr.traces))
    for k, rr in enumerate(rounds, 1):
        for n in rr.notes:
            print(f"  note{f' (round {k})' if len(rounds) > 1 else ''}: {n}")
    load_avg = [rr.lines.get("dom0", {}).get("loadavg", "") for rr in rounds]
    host_load = os.getloadavg()
    doc = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host_load_average": host_load,
        "dom0_load_average": load_avg,
        "type": args.type,
        "xl_cfg": args.xl_cfg,
        "rounds": len(rounds),
        "rows": [asdict(x) | {"ratio": x.ratio} for x in rows],
        "per_round": [
            {
                "results": str(d),
                "rows": [asdict(x) | {"ratio": x.ratio} for x in rs],
                "lines": rr.lines,
                "notes": rr.notes,
                "profile": [asdict(p) for p in rr.profile],
                "guest_counters": rr.guest_counters,
                "traces": [asdict(t) for t in rr.traces],
            }
            for d, rs, rr in zip(dirs, per_round, rounds)
        ],
        "answers": asdict(r.answers) if r.answers else None,
        "blk": [asdict(x) for x in r.blk],
        "lines": r.lines,  # the last round's
        "notes": r.notes,
    }
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"written {args.json} (host load average {host_load[0]:.1f} {host_load[1]:.1f} {host_load[2]:.1f})")
    if all(rr.failed() for rr in rounds):
        print("bench/xen_appliances.py: every side failed (bench.txt's error lines above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
