#!/usr/bin/env python3
"""The appliances side by side with the same programs in a Linux guest, in QEMU.

    bazel run //bench:appliances -- [--rounds N] [--json FILE] [--only httpd|dns|kvstore|iperf]

from the workspace root, after

    bazel build //examples/httpd:image //examples/dns:image //examples/kvstore:image //examples/kvstore:data \
        //examples/iperf:image
    sudo bench/linux-guest/build.sh     (not needed for --only kvstore)

Both sides run on the same QEMU machine (-M microvm, one vcpu, the same
memory, a virtio-net NIC on QEMU's user network with a forwarded loopback
port, the same accelerator), one QEMU at a time, the two sides interleaved
(the order flips every round) so other load on the machine hits both alike.
Every measurement boots a fresh QEMU (QEMU's user network can stall on a
loopback port an earlier connection used: examples/httpd/README.md).

Measured: httpd vs nginx-light (ab, requests/s and p50/p99 latency at
concurrency 1, 10, 100), dns vs NSD (dnsperf queries/s; the response to
one query per RRset of the zone compared byte for byte), image size,
memory (QEMU's resident set after the load, and what Linux itself reports),
boot to the first answered request (QEMU started to the first HTTP 200 or
DNS answer). Prints the table and writes it as JSON.

iperf (examples/iperf, lwIP's lwiperf) vs the Linux guest's iperf 2 server
(bench=iperf), TCP bulk throughput for IPERF_SECONDS each way, as Debian's
iperf 2 on the host measures it: receive is `iperf -c` through the
forwarded port (the client's own figure, for both sides); send is the guest
connecting out to 10.0.2.2 (QEMU's user network connects it to the host's
127.0.0.1) and sending to an iperf 2 server there: ours booted with
`send=10.0.2.2:PORT` (lwiperf's fixed 10 s) against `iperf -s`, Linux's
through `iperf -c -r` (tradeoff: after the client's own run the guest's
server connects back to the client's listener), the reverse run's figure.
(Ours cannot take -r from iperf 2.1: examples/iperf/README.md.)

examples/kvstore has no Linux counterpart here: it is measured on its own
(--only kvstore, or with the rest by default), booted on a fresh copy of its
volume (//examples/kvstore:data, virtio-blk, the default write-back cache)
each time: ab PUTs one KV_VALUE_BYTES value to one key (`ab -u`: each PUT is
answered once the value is durable, so every request is a littlefs commit and
a device flush), then GETs it back, at each --kv-concurrency.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from unikernel import qemu

from bench.benchlib import BenchError, linux_clock_args, median, workspace

MEMORY_MIB = 128  # qemu.Machine's default: what the appliances get from `bazel run :image.qemu`
GUEST_IP = "10.0.2.15/24"
GATEWAY = "10.0.2.2"
BOOT_TIMEOUT_S = 180.0
ORIGIN = "example.test."
KV_VALUE_BYTES = 1024
KV_KEY_PATH = "/k/bench"
IPERF_SECONDS = 10  # lwiperf's client sends for a fixed 10 s; Linux's runs are as long


@dataclass(frozen=True)
class Side:
    """One guest: an appliance image or the Linux guest in a given mode."""

    name: str  # "httpd", "nginx", "dns", "nsd", "iperf", "linux-iperf"
    kernel: Path
    initrd: Path | None  # the Linux guest's initramfs; None for an appliance
    cmdline: str
    volume: Path | None = None  # a unikernel_volume image; each boot gets a fresh copy
    probe: str = "/"  # the path whose 200 says the guest is up (HTTP)

    def command(self, forwards: tuple[qemu.Forward, ...], accel: str, disks: tuple[Path, ...] = ()) -> list[str]:
        machine = qemu.Machine(
            self.kernel,
            cmdline=self.cmdline,
            memory_mib=MEMORY_MIB,
            machine="microvm",
            accel=accel,
            nics=("user",),
            forwards=forwards,
            disks=disks,
        )
        cmd = qemu.qemu_command(qemu.find_qemu(), machine, interactive=False)
        if self.initrd is not None:
            # Debian's kernel finds microvm's virtio-mmio devices through ACPI
            # (it is built without virtio_mmio.device= command-line devices).
            cmd[cmd.index("-M") + 1] = "microvm"
            cmd[cmd.index("-kernel") : cmd.index("-kernel")] = ["-initrd", str(self.initrd)]
        return cmd


@dataclass
class Boot:
    port: int
    proc: subprocess.Popen[bytes]
    started: float
    log: Path

    def console(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kib(self) -> int:
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))  # type: ignore[union-attr]

    def linux_used_kib(self) -> int | None:
        """MemTotal - MemAvailable as the Linux guest's init printed it once its server was up."""
        total = re.search(r"BENCH: MemTotal: (\d+)", self.console())
        avail = re.search(r"BENCH: MemAvailable: (\d+)", self.console())
        return int(total.group(1)) - int(avail.group(1)) if total and avail else None


@contextlib.contextmanager
def boot(side: Side, proto: str, guest_port: int, accel: str, scratch: Path) -> Iterator[Boot]:
    port = qemu.free_port_both() if proto == "udp" else qemu.free_port("tcp")
    forwards = (qemu.Forward(proto, port, guest_port),)
    if proto == "udp":
        forwards += (qemu.Forward("tcp", port, guest_port),)
    stamp = time.monotonic_ns()
    log = scratch / f"{side.name}-{stamp}.log"
    disks: tuple[Path, ...] = ()
    if side.volume is not None:
        disks = (scratch / f"{side.name}-{stamp}.img",)
        shutil.copyfile(side.volume, disks[0])
        disks[0].chmod(0o644)
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            side.command(forwards, accel, disks),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Boot(port, proc, started, log)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for d in disks:
            d.unlink(missing_ok=True)


# ---- first answer ------------------------------------------------------------


def http_ok(port: int, timeout: float, path: str = "/") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def dns_query(name: str, rtype: int, qid: int = 0x4242) -> bytes:
    """A query as dig sends it without recursion or EDNS: header, one question."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + labels + struct.pack("!HH", rtype, 1)


def dns_ask(port: int, packet: bytes, timeout: float) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            return s.recv(65535)
        except OSError:
            return None


def kv_check_value(port: int, value: bytes) -> None:
    """The key holds exactly the bytes ab PUT (ab itself checks only the answers' lengths)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.settimeout(10)
            s.sendall(f"GET {KV_KEY_PATH} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
    except OSError as e:
        raise BenchError(f"kvstore: GET {KV_KEY_PATH} after the PUTs failed: {e}") from None
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or body != value:
        raise BenchError(f"kvstore: GET {KV_KEY_PATH} after the PUTs did not return the value PUT: {head[:80]!r}")


def first_answer(b: Boot, proto: str, path: str = "/") -> float:
    """Seconds from QEMU's start to the first answered request, polling every 20 ms."""
    probe = dns_query(ORIGIN, 6)
    deadline = b.started + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if b.proc.poll() is not None:
            break
        ok = http_ok(b.port, 0.5, path) if proto == "tcp" else dns_ask(b.port, probe, 0.05) is not None
        if ok:
            return time.monotonic() - b.started
        time.sleep(0.02)
    tail = "\n".join(b.console().splitlines()[-15:])
    raise BenchError(f"the guest never answered (QEMU exit {b.proc.poll()}); its console ends:\n{tail}")


# ---- load --------------------------------------------------------------------


@dataclass
class AbResult:
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int
    error: str = ""  # ab's last error line when it gave up (no figures then)
    non_2xx: int = 0  # answers other than 2xx (ab prints the line only when there are some)


def parse_ab(out: str) -> AbResult:
    """ab's requests/s, its 50% and 99% lines (ms), and its failed requests."""

    def num(pattern: str) -> float:
        m = re.search(pattern, out, re.MULTILINE)
        if not m:
            raise BenchError(f"ab printed no {pattern!r}; its output:\n{out[-800:]}")
        return float(m.group(1))

    return AbResult(
        rps=num(r"^Requests per second:\s+([\d.]+)"),
        p50_ms=num(r"^\s+50%\s+(\d+)"),
        p99_ms=num(r"^\s+99%\s+(\d+)"),
        failed=int(num(r"^Failed requests:\s+(\d+)")),
        non_2xx=int(m.group(1)) if (m := re.search(r"^Non-2xx responses:\s+(\d+)", out, re.MULTILINE)) else 0,
    )


def run_ab(port: int, requests: int, concurrency: int, path: str = "/index.html", put: Path | None = None) -> AbResult:
    """ab's GET of `path`, or its PUT of the file `put` there (`ab -u`)."""
    ab = tool("ab", "apache2-utils")
    cmd = [ab, "-q", "-s", "30", "-n", str(requests), "-c", str(concurrency)]
    if put is not None:
        cmd += ["-u", str(put), "-T", "application/octet-stream"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        # A stalled connection (ab -s 30) is a result too: recorded, left out of the medians.
        error = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
        return AbResult(float("nan"), float("nan"), float("nan"), -1, error)
    return parse_ab(r.stdout)


@dataclass
class PerfResult:
    qps: float
    sent: int
    lost: int


def parse_dnsperf(out: str) -> PerfResult:
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    sent = re.search(r"Queries sent:\s+(\d+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if not (qps and sent and lost):
        raise BenchError(f"dnsperf printed no summary; its output:\n{out[-800:]}")
    return PerfResult(float(qps.group(1)), int(sent.group(1)), int(lost.group(1)))


def run_dnsperf(port: int, queries: Path, seconds: int) -> PerfResult:
    cmd = [tool("dnsperf", "dnsperf"), "-s", "127.0.0.1", "-p", str(port), "-d", str(queries)]
    cmd += ["-l", str(seconds), "-t", "2", "-q", "20"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        raise BenchError(f"dnsperf failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return parse_dnsperf(r.stdout)


# ---- the zone ------------------------------------------------------------------

RTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}


def zone_rrsets(zone: Path) -> list[tuple[str, str]]:
    """(owner, type) of every RRset, as BIND's named-compilezone reads the zone."""
    out = subprocess.run(
        [tool("named-compilezone", "bind9-utils"), "-q", "-s", "full", "-o", "-", ORIGIN, str(zone)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sets = {(line.split()[0].lower(), line.split()[3]) for line in out.splitlines() if line.strip()}
    return sorted(sets)


@dataclass
class Answers:
    """One response per RRset from each server, compared byte for byte."""

    rrsets: int = 0
    identical: int = 0
    differ: list[str] = field(default_factory=list)  # "owner TYPE: first difference at byte N (len a/b)"


def compare_answers(ours: dict[str, bytes | None], theirs: dict[str, bytes | None]) -> Answers:
    result = Answers(rrsets=len(ours))
    for key in sorted(ours):
        a, b = ours[key], theirs.get(key)
        if a is not None and a == b:
            result.identical += 1
            continue
        if a is None or b is None:
            result.differ.append(f"{key}: {'ours' if a is None else 'theirs'} did not answer")
            continue
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        result.differ.append(f"{key}: first difference at byte {at} (lengths {len(a)}/{len(b)})")
    return result


def collect_answers(port: int, rrsets: list[tuple[str, str]]) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for owner, rtype in rrsets:
        packet = dns_query(owner, RTYPES[rtype])
        answer = None
        for _ in range(3):
            answer = dns_ask(port, packet, 2.0)
            if answer is not None:
                break
        out[f"{owner} {rtype}"] = answer
    return out


# ---- the run -------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BenchError(f"{name} is not installed; install it: apt-get install {package}")
    return path


def must_exist(path: Path, how: str) -> Path:
    if not path.is_file():
        raise BenchError(f"{path} does not exist; {how}")
    return path


@dataclass
class Sample:
    side: str
    test: str  # "ab c=10", "dnsperf", "compare"
    boot_s: float
    rss_kib: int
    linux_used_kib: int | None
    result: dict[str, object]


def sides(args: argparse.Namespace) -> dict[str, Side]:
    """The guests --only asks for (all by default), each checked to exist."""
    build = "bazel build //examples/httpd:image //examples/dns:image"
    net = f"ip={GUEST_IP} gw={GATEWAY}"
    out: dict[str, Side] = {}
    if args.only in (None, "httpd", "dns", "iperf"):
        linux = args.linux_dir
        kernel = must_exist(linux / "vmlinuz", "build the Linux guest: sudo bench/linux-guest/build.sh")
        initrd = must_exist(linux / "initrd.img", "build the Linux guest: sudo bench/linux-guest/build.sh")
        lx = f"console=ttyS0 quiet panic=-1 {linux_clock_args()} {net}"
        if args.only in (None, "httpd"):
            out["httpd"] = Side("httpd", must_exist(args.bazel_bin / "examples/httpd/image.elf", build), None, "")
            out["nginx"] = Side("nginx", kernel, initrd, f"{lx} bench=httpd")
        if args.only in (None, "dns"):
            out["dns"] = Side("dns", must_exist(args.bazel_bin / "examples/dns/image.elf", build), None, net)
            out["nsd"] = Side("nsd", kernel, initrd, f"{lx} bench=dns")
        if args.only in (None, "iperf"):
            iperf_build = "bazel build //examples/iperf:image"
            out["iperf"] = Side("iperf", must_exist(args.bazel_bin / "examples/iperf/image.elf", iperf_build), None, net)
            out["linux-iperf"] = Side("linux-iperf", kernel, initrd, f"{lx} bench=iperf")
    if args.only in (None, "kvstore"):
        kv_build = "bazel build //examples/kvstore:image //examples/kvstore:data"
        out["kvstore"] = Side(
            "kvstore",
            must_exist(args.bazel_bin / "examples/kvstore/image.elf", kv_build),
            None,
            net,
            volume=must_exist(args.bazel_bin / "examples/kvstore/data.img", kv_build),
            probe="/k/",
        )
    return out


def measure(args: argparse.Namespace, scratch: Path) -> tuple[list[Sample], Answers | None, dict[str, Side]]:
    all_sides = sides(args)
    rrsets = zone_rrsets(args.zone)
    queries = scratch / "queries.txt"
    queries.write_text("".join(f"{o} {t}\n" for o, t in rrsets))
    samples: list[Sample] = []
    answers: dict[str, dict[str, bytes | None]] = {}
    pairs = []
    if args.only in (None, "httpd"):
        pairs += [(("httpd", "nginx"), "tcp", 80, f"ab c={c}") for c in args.concurrency]
    if args.only in (None, "dns"):
        pairs += [(("dns", "nsd"), "udp", 53, "dnsperf")]
    if args.only in (None, "iperf"):
        tool("iperf", "iperf")
        pairs += [(("iperf", "linux-iperf"), "tcp", 5001, t) for t in ("iperf receive", "iperf send")]
    if args.only in (None, "kvstore"):
        pairs += [(("kvstore",), "tcp", 80, f"kv c={c}") for c in args.kv_concurrency]
        value = scratch / "value.bin"
        value.write_bytes(bytes(i % 251 for i in range(KV_VALUE_BYTES)))
    for rnd in range(args.rounds):
        for names, proto, guest_port, test in pairs:
            order = names if rnd % 2 == 0 else names[::-1]
            for name in order:
                side = all_sides[name]
                if test.startswith("iperf "):
                    s = measure_iperf(side, test, args.accel, scratch)
                    samples.append(s)
                    print(f"round {rnd + 1} {name:11} {test:13} boot {s.boot_s:6.2f} s  {s.result}", flush=True)
                    continue
                with boot(side, proto, guest_port, args.accel, scratch) as b:
                    boot_s = first_answer(b, proto, side.probe)
                    if test.startswith("kv "):
                        # PUT first (the key then exists), GET it back, on the same boot.
                        c = int(test.split("=")[1])
                        n = max(args.kv_requests, c * 10)
                        for method, put in (("PUT", value), ("GET", None)):
                            result = asdict(run_ab(b.port, n, c, KV_KEY_PATH, put))
                            if put is not None:
                                kv_check_value(b.port, put.read_bytes())
                            samples.append(Sample(name, f"kv {method} c={c}", boot_s, b.rss_kib(), None, result))
                            print(f"round {rnd + 1} {name:5} kv {method} c={c} boot {boot_s:6.2f} s  {result}", flush=True)
                        continue
                    if test == "dnsperf":
                        if name not in answers:
                            answers[name] = collect_answers(b.port, rrsets)
                        result: dict[str, object] = asdict(run_dnsperf(b.port, queries, args.dns_seconds))
                    else:
                        c = int(test.split("=")[1])
                        result = asdict(run_ab(b.port, max(args.requests, c * 10), c))
                    s = Sample(name, test, boot_s, b.rss_kib(), b.linux_used_kib(), result)
                samples.append(s)
                print(f"round {rnd + 1} {name:5} {test:8} boot {boot_s:6.2f} s  {result}", flush=True)
    compared = compare_answers(answers["dns"], answers["nsd"]) if "dns" in answers and "nsd" in answers else None
    return samples, compared, all_sides


# ---- iperf --------------------------------------------------------------------


@dataclass
class IperfResult:
    bytes: int
    mbit_s: float


def parse_iperf_csv(out: str, port: int | None = None) -> IperfResult:
    """iperf 2's CSV report (`-y C`): timestamp, local address and port,
    remote address and port, id, interval, bytes, bits/s. With port, the
    report of the connection to that port of the host's (a `-r` run has two:
    iperf 2.1.8 names its listener's port as the *remote* one of the
    reverse run, so either side's port is matched)."""
    for line in out.splitlines():
        f = line.strip().split(",")
        if len(f) >= 9 and f[7].isdigit() and (port is None or str(port) in (f[2], f[4])):
            return IperfResult(int(f[7]), int(f[8]) / 1e6)
    raise BenchError(f"iperf printed no report{'' if port is None else f' for port {port}'}:\n{out}")


# The NIC's counters that examples/iperf prints after each test (virtio-net's
# line, drivers/virtio_net/virtio_net.h), cumulative since boot.
NIC_LINE = re.compile(
    r"^iperf: nic: virtio-net: rx (?P<rx_frames>\d+) frames, \d+ dropped; tx (?P<tx_frames>\d+) frames "
    r"\(\d+ fragments sent in place\); rx buffers posted (?P<rx_posted>\d+), kicks rx (?P<rx_kicks>\d+) "
    r"tx (?P<tx_kicks>\d+) \((?P<suppressed>\d+) suppressed\), interrupts (?P<irqs>\d+), "
    r"polls (?P<polls>\d+), parks (?P<parks>\d+)$",
    re.M,
)
NIC_PER_MB = ("rx_kicks", "tx_kicks", "suppressed", "irqs", "rx_posted", "polls", "parks", "rx_frames", "tx_frames")


def parse_nic_profile(console: str, received: int) -> dict[str, float]:
    """The last virtio-net counter line of examples/iperf's console, as counts per MB
    (10^6 bytes) of `received`, with frames per interrupt and per poll."""
    found = list(NIC_LINE.finditer(console))
    if not found:
        raise BenchError("examples/iperf printed no virtio-net counters ('iperf: nic: virtio-net: ...'): rebuild the image")
    n = {k: int(v) for k, v in found[-1].groupdict().items()}
    mb = received / 1e6
    out = {f"{k}_per_mb": n[k] / mb for k in NIC_PER_MB}
    out["frames_per_irq"] = n["rx_frames"] / n["irqs"] if n["irqs"] else float("nan")
    out["frames_per_poll"] = n["rx_frames"] / n["polls"] if n["polls"] else float("nan")
    return out


def render_nic_profile(samples: list[Sample]) -> str:
    """examples/iperf's receive runs: the driver's counters per MB received (medians)."""
    runs = [s.result["nic"] for s in samples if s.side == "iperf" and s.test == "iperf receive" and "nic" in s.result]
    if not runs:
        return ""
    keys = [f"{k}_per_mb" for k in NIC_PER_MB] + ["frames_per_irq", "frames_per_poll"]
    lines = ["| virtio-net, iperf receive (medians) | value |", "|---|---|"]
    for k in keys:
        lines.append(f"| {k} | {median([float(r[k]) for r in runs]):.2f} |")  # type: ignore[index]
    return "\n".join(lines)


def wait_console(b: Boot, pattern: str) -> float:
    """Seconds from QEMU's start to the console line matching `pattern`."""
    deadline = b.started + BOOT_TIMEOUT_S
    while time.monotonic() < deadline and b.proc.poll() is None:
        if re.search(pattern, b.console(), re.MULTILINE):
            return time.monotonic() - b.started
        time.sleep(0.05)
    tail = "\n".join(b.console().splitlines()[-15:])
    raise BenchError(f"the guest never printed {pattern!r} (QEMU exit {b.proc.poll()}); its console ends:\n{tail}")


def run_iperf(args: list[str], timeout: float) -> str:
    run = subprocess.run([tool("iperf", "iperf"), *args], capture_output=True, text=True, timeout=timeout)
    if run.returncode != 0:
        raise BenchError(f"iperf {' '.join(args)} failed ({run.returncode}): {run.stdout} {run.stderr}")
    return run.stdout


def measure_iperf(side: Side, test: str, accel: str, scratch: Path) -> Sample:
    """One boot of `side`, one iperf run in the direction `test` names (module docstring)."""
    ready = r"^iperf: listening on port 5001$" if side.initrd is None else r"^BENCH: ready iperf"
    limit = IPERF_SECONDS * 3 + 60
    nic: dict[str, float] | None = None
    if test == "iperf receive" or side.initrd is not None:
        with boot(side, "tcp", 5001, accel, scratch) as b:
            boot_s = wait_console(b, ready)
            if test == "iperf receive":
                result = parse_iperf_csv(
                    run_iperf(["-c", "127.0.0.1", "-p", str(b.port), "-t", str(IPERF_SECONDS), "-y", "C"], limit)
                )
                if side.initrd is None:  # what the bytes cost our driver (examples/iperf's console)
                    wait_console(b, NIC_LINE.pattern)
                    nic = parse_nic_profile(b.console(), result.bytes)
            else:  # Linux sends: the tradeoff's reverse run, to the client's listener
                listen = qemu.free_port("tcp")
                out = run_iperf(
                    ["-c", "127.0.0.1", "-p", str(b.port), "-t", str(IPERF_SECONDS), "-r", "-L", str(listen), "-y", "C"],
                    limit * 2,
                )
                result = parse_iperf_csv(out, listen)
            rss = b.rss_kib()
            used = b.linux_used_kib()
    else:  # ours sends: send= to iperf's server on the host
        listen = qemu.free_port("tcp")
        csv = scratch / f"iperf-server-{time.monotonic_ns()}.csv"
        with csv.open("w") as f:
            server = subprocess.Popen(
                [tool("iperf", "iperf"), "-s", "-B", "127.0.0.1", "-p", str(listen), "-y", "C"],
                stdout=f,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            time.sleep(0.5)  # listening before the guest connects
            sender = dataclasses.replace(side, cmdline=f"{side.cmdline} send={GATEWAY}:{listen}")
            with boot(sender, "tcp", 5001, accel, scratch) as b:
                boot_s = wait_console(b, ready)
                wait_console(b, r"^iperf: (sent|aborted)")
                deadline = time.monotonic() + 10
                while csv.read_text().count(",") < 8 and time.monotonic() < deadline:
                    time.sleep(0.1)
                rss = b.rss_kib()
                used = None
        finally:
            server.terminate()
            server.wait(10)
        result = parse_iperf_csv(csv.read_text())
        csv.unlink()
    return Sample(side.name, test, boot_s, rss, used, asdict(result) | ({"nic": nic} if nic else {}))


@dataclass
class Row:
    what: str
    ours: float
    theirs: float
    unit: str
    target: str  # "ratio >= 1.2", "ratio <= 0.5" ...
    higher_is_better: bool

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs if self.theirs else float("nan")


def table(samples: list[Sample], all_sides: dict[str, Side]) -> list[Row]:
    def med(side: str, test: str, key: str) -> float:
        return median([float(s.result[key]) for s in samples if s.side == side and s.test == test])  # type: ignore[arg-type]

    rows: list[Row] = []
    tests = sorted({s.test for s in samples if s.test.startswith("ab ")}, key=lambda t: int(t.split("=")[1]))
    for t in tests:
        target = ">= 1.2" if t != "ab c=1" else "(none)"
        rows.append(Row(f"httpd/nginx requests/s, {t}", med("httpd", t, "rps"), med("nginx", t, "rps"), "req/s", target, True))
        rows.append(Row(f"httpd/nginx p50 latency, {t}", med("httpd", t, "p50_ms"), med("nginx", t, "p50_ms"), "ms", "(none)", False))
        rows.append(Row(f"httpd/nginx p99 latency, {t}", med("httpd", t, "p99_ms"), med("nginx", t, "p99_ms"), "ms", "(none)", False))
    for t, what, target in (("iperf receive", "TCP receive", ">= 1.0"), ("iperf send", "TCP send", ">= 0.9")):
        if any(s.test == t for s in samples):
            rows.append(
                Row(
                    f"iperf/Linux iperf 2 {what}, {IPERF_SECONDS} s",
                    med("iperf", t, "mbit_s"),
                    med("linux-iperf", t, "mbit_s"),
                    "Mbit/s",
                    target,
                    True,
                )
            )
    if any(s.test == "dnsperf" for s in samples):
        rows.append(Row("dns/nsd queries/s", med("dns", "dnsperf", "qps"), med("nsd", "dnsperf", "qps"), "q/s", ">= 1.1", True))
    for ours, theirs, limit in (("httpd", "nginx", 86), ("dns", "nsd", 92)):
        if any(s.side == ours for s in samples):
            linux_size = sum(p.stat().st_size for p in (all_sides[theirs].kernel, all_sides[theirs].initrd) if p)
            size = all_sides[ours].kernel.stat().st_size
            rows.append(Row(f"{ours}/{theirs} image bytes (ELF vs vmlinuz+initrd)", size, linux_size, "bytes", f"ours <= {limit} KB", False))
            rows.append(
                Row(
                    f"{ours}/{theirs} boot to first answer",
                    median([s.boot_s for s in samples if s.side == ours]),
                    median([s.boot_s for s in samples if s.side == theirs]),
                    "s",
                    "<= 0.5",
                    False,
                )
            )
            rows.append(
                Row(
                    f"{ours}/{theirs} QEMU resident memory after load",
                    median([s.rss_kib for s in samples if s.side == ours]),
                    median([s.rss_kib for s in samples if s.side == theirs]),
                    "KiB",
                    "(none)",
                    False,
                )
            )
    return rows


@dataclass
class KvRow:
    test: str  # "PUT c=1", "GET c=10"
    rps: float
    p50_ms: float
    p99_ms: float
    runs: int  # boots that gave figures (of which the medians are)
    gave_up: int  # boots where ab gave up or got an answer other than 2xx


def kv_table(samples: list[Sample]) -> list[KvRow]:
    """examples/kvstore's medians per method and concurrency; a run where ab gave up,
    or where any answer was not 2xx, is counted and left out."""
    rows = []
    tests = list(dict.fromkeys(s.test for s in samples if s.test.startswith("kv ")))
    for t in sorted(tests, key=lambda t: (t.split()[1] != "PUT", int(t.split("=")[1]))):
        runs = [s.result for s in samples if s.test == t]
        good = [r for r in runs if not r.get("error") and not r.get("non_2xx")]
        rows.append(
            KvRow(
                t.removeprefix("kv "),
                median([float(r["rps"]) for r in good]),  # type: ignore[arg-type]
                median([float(r["p50_ms"]) for r in good]),  # type: ignore[arg-type]
                median([float(r["p99_ms"]) for r in good]),  # type: ignore[arg-type]
                len(good),
                len(runs) - len(good),
            )
        )
    return rows


def render_kv(rows: list[KvRow]) -> str:
    lines = [
        f"| kvstore, {KV_VALUE_BYTES}-byte value | requests/s | p50 latency (ms) | p99 latency (ms) | runs (gave up) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.test} | {r.rps:.1f} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.runs} ({r.gave_up}) |")
    return "\n".join(lines)


def render(rows: list[Row]) -> str:
    lines = ["| measure | ours | Linux | unit | ratio | target |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.what} | {r.ours:.6g} | {r.theirs:.6g} | {r.unit} | {r.ratio:.3f} | {r.target} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds; the sides' order flips every round")
    p.add_argument("--concurrency", default="1,10,100", help="ab concurrency levels, comma-separated")
    p.add_argument("--requests", type=int, default=500, help="ab requests per run (at least 10 per connection)")
    p.add_argument("--dns-seconds", type=int, default=10, help="seconds of each dnsperf run")
    p.add_argument("--only", choices=("httpd", "dns", "kvstore", "iperf"), help="one pair (or kvstore) only")
    p.add_argument("--kv-concurrency", default="1,10", help="kvstore: ab concurrency levels, comma-separated")
    p.add_argument("--kv-requests", type=int, default=500, help="kvstore: ab requests per method and run")
    p.add_argument("--accel", default="tcg", choices=("tcg", "kvm"), help="QEMU accelerator for both sides")
    p.add_argument("--json", type=Path, default=workspace() / "bench/appliances.json", help="where the results go")
    p.add_argument("--bazel-bin", type=Path, default=workspace() / "bazel-bin")
    default_linux = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rules_unikernel-bench-linux/out"
    p.add_argument("--linux-dir", type=Path, default=default_linux, help="the Linux guest (bench/linux-guest/build.sh)")
    p.add_argument("--zone", type=Path, default=workspace() / "examples/dns/test.zone")
    args = p.parse_args(argv)
    for name in ("concurrency", "kv_concurrency"):
        text = getattr(args, name)
        try:
            setattr(args, name, [int(c) for c in text.split(",")])
        except ValueError:
            p.error(f"--{name.replace('_', '-')} {text!r} is not a comma-separated list of numbers (e.g. 1,10)")
    if (
        min(args.rounds, args.requests, args.kv_requests, args.dns_seconds) < 1
        or min(args.concurrency + args.kv_concurrency) < 1
    ):
        p.error("--rounds, --requests, --kv-requests, --dns-seconds and every concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-appliances-") as tmp:
            samples, answers, all_sides = measure(args, Path(tmp))
    except (BenchError, qemu.RunError) as e:
        print(f"bench/appliances.py: {e}", file=sys.stderr)
        return 1
    rows = table(samples, all_sides)
    kv_rows = kv_table(samples)
    if rows:
        print(render(rows))
    if kv_rows:
        print(render_kv(kv_rows))
    if profile := render_nic_profile(samples):
        print(profile)
    for s in samples:
        if s.result.get("error"):
            print(f"  {s.side} {s.test}: ab gave up ({s.result['error']}); left out of the medians")
        elif s.result.get("non_2xx"):
            print(f"  {s.side} {s.test}: {s.result['non_2xx']} answers were not 2xx; left out of the medians")
    if answers is not None:
        print(f"dns vs nsd answers: {answers.identical} of {answers.rrsets} RRsets byte-identical")
        for d in answers.differ:
            print(f"  differs: {d}")
    load = os.getloadavg()
    doc = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": load,
        "accel": args.accel,
        "memory_mib": MEMORY_MIB,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
        "kvstore": {"value_bytes": KV_VALUE_BYTES, "rows": [asdict(r) for r in kv_rows]},
        "answers": asdict(answers) if answers else None,
        "samples": [asdict(s) for s in samples],
    }
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"written {args.json} (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
