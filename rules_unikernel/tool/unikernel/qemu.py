"""Boot a unikernel image in QEMU and judge the run.

Used by `bazel run //app:image.qemu` (interactive), by unikernel_test
(captures the console, then checks exit status and expected output), and
by host-side tests that talk to a booted guest (`booted`: boots it, waits
for its ready line, kills it at the end).

The guest reports its exit status through QEMU's isa-debug-exit device: a
byte N written to port 0xf4 makes QEMU exit with status 2*N+1. The boot code
also prints `[boot] exit status N` first, so a guest exit can be told apart
from QEMU failing on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from unikernel.cli import main as cli_main
from unikernel.symbolize import annotate, load_symbols

DEBUG_EXIT_PORT = 0xF4
MACHINES = ("microvm", "pc", "q35")
NIC_KINDS = ("user", "tap:IFNAME")
TAP_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name
DISK_MAX_BYTES = 1 << 30
SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
EXIT_MARKER = re.compile(r"^\[boot\] exit status (\d+)\s*$", re.MULTILINE)


class RunError(Exception):
    """A problem with the run itself (not with the guest), with the fix."""


class BootError(Exception):
    """A guest that did not come up: its message ends with the console's last lines."""


@dataclass(frozen=True)
class Outcome:
    output: str
    guest_status: int | None  # None: the guest never reported a status
    reason: str  # how the run ended, in words


def find_qemu() -> str:
    qemu = os.environ.get("UNIKERNEL_QEMU") or shutil.which("qemu-system-x86_64")
    if not qemu:
        raise RunError(
            "qemu-system-x86_64 not found on PATH; install it "
            "(Debian: apt-get install qemu-system-x86) or set UNIKERNEL_QEMU"
        )
    return qemu


@dataclass(frozen=True)
class Forward:
    """A host port on 127.0.0.1 forwarded to a guest port by QEMU's user network."""

    proto: str  # "tcp" or "udp"
    host: int
    guest: int


def free_port(proto: str) -> int:
    """A port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_forward(text: str) -> Forward:
    """PROTO:GUEST (a free host port is picked) or PROTO:HOST:GUEST."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in ("tcp", "udp") or not all(x.isdigit() for x in parts[1:]):
        raise RunError(f"forward {text!r} is not PROTO:GUEST_PORT or PROTO:HOST_PORT:GUEST_PORT (e.g. tcp:7)")
    ports = [int(x) for x in parts[1:]]
    if not all(0 < x < 65536 for x in ports):
        raise RunError(f"forward {text!r}: a port is a number from 1 to 65535")
    host = ports[0] if len(ports) == 2 else free_port(parts[0])
    return Forward(parts[0], host, ports[-1])


def free_port_both() -> int:
    """A port of 127.0.0.1 free for UDP and for TCP alike (the OS picks it)."""
    for _ in range(64):
        port = free_port("udp")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RunError(
        "no port of 127.0.0.1 is free for both UDP and TCP; give one: udp:PORT:GUEST and tcp:PORT:GUEST"
    )


def parse_forwards(texts: list[str]) -> tuple[Forward, ...]:
    """parse_forward for each; a guest port forwarded over UDP and TCP, both
    without a host port, gets one host port for both (a DNS client retries
    a truncated UDP answer over TCP on the same port)."""
    forwards = [parse_forward(t) for t in texts]
    picked = [len(t.split(":")) == 2 for t in texts]
    for guest in {f.guest for f, auto in zip(forwards, picked, strict=True) if auto}:
        same = [i for i, f in enumerate(forwards) if picked[i] and f.guest == guest]
        if {forwards[i].proto for i in same} == {"udp", "tcp"}:
            port = free_port_both()
            for i in same:
                forwards[i] = Forward(forwards[i].proto, port, guest)
    return tuple(forwards)


@dataclass(frozen=True)
class Machine:
    """What QEMU is asked to boot, and on what."""

    image: Path
    cmdline: str = ""
    memory_mib: int = 128
    machine: str = "microvm"
    accel: str = "tcg"
    nics: tuple[str, ...] = ()  # "user" or "tap:IFNAME" (NIC_KINDS), one virtio-net device each
    cpu: str = ""  # QEMU's -cpu model and flags ("qemu64,-nx"); "": QEMU's default
    disks: tuple[Path, ...] = ()  # raw images, one virtio-blk device each
    forwards: tuple[Forward, ...] = ()  # host ports forwarded to the guest (first NIC, user)
    read_only: frozenset[Path] = frozenset()  # those of `disks` the guest may not write (volumes "ro")


def parse_disk_size(text: str) -> int:
    """Bytes of a disk size such as "1M", "64K" or "4096": a positive
    multiple of 512 up to 1 GiB."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    suffix = t[-1:] if t[-1:] in ("K", "M", "G") else ""
    number = t[: len(t) - len(suffix)]
    if not number.isdigit():
        raise RunError(f"disk size {text!r} is not a size; write bytes or a number with K, M or G (e.g. 1M)")
    size = int(number) * SIZE_SUFFIXES[suffix]
    if size == 0 or size % 512 or size > DISK_MAX_BYTES:
        raise RunError(
            f"disk size {text!r} is {size} bytes; a disk is a positive multiple of 512 bytes, at most 1G"
        )
    return size


def make_disks(sizes: list[str], directory: Path) -> tuple[Path, ...]:
    """Fresh zero-filled raw images disk0.raw, disk1.raw, ... in `directory`."""
    byte_sizes = [parse_disk_size(s) for s in sizes]  # every size checked before any file is made
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, size in enumerate(byte_sizes):
        path = directory / f"disk{i}.raw"
        with path.open("wb") as f:
            f.truncate(size)
        paths.append(path)
    return tuple(paths)


@dataclass(frozen=True)
class Volume:
    """A unikernel_volume image given to the runner: attached as it is (ro) or as a copy (rw)."""

    path: Path
    read_only: bool


def parse_volume(text: str) -> Volume:
    """ro:PATH or rw:PATH."""
    mode, sep, path = text.partition(":")
    if not sep or mode not in ("ro", "rw") or not path:
        raise RunError(f"volume {text!r} is not ro:PATH or rw:PATH (a unikernel_volume image)")
    volume = Volume(Path(path), mode == "ro")
    if not volume.path.is_file():
        raise RunError(f"volume {path} does not exist; build it first")
    return volume


def volume_disks(volumes: tuple[Volume, ...], directory: Path) -> tuple[Path, ...]:
    """The files QEMU attaches for the volumes: a read-only volume is the built
    image itself (QEMU opens it read-only); a read-write one is a fresh copy in
    `directory`, so the guest never writes to a build output and every run
    starts from the volume as built."""
    names = [v.path.name for v in volumes if not v.read_only]
    if len(names) != len(set(names)):
        raise RunError(f"two read-write volumes have one file name ({', '.join(names)}); rename one")
    paths = []
    for v in volumes:
        if v.read_only:
            paths.append(v.path)
            continue
        directory.mkdir(parents=True, exist_ok=True)
        copy = directory / v.path.name
        copy.unlink(missing_ok=True)
        shutil.copyfile(v.path, copy)
        copy.chmod(0o644)
        paths.append(copy)
    return tuple(paths)


def disk_args(machine: str, disks: tuple[Path, ...], read_only: frozenset[Path] = frozenset()) -> list[str]:
    """QEMU arguments for the disks: virtio-blk on the machine's virtio
    transport, raw format, QEMU's default write-back cache (so the device
    offers VIRTIO_BLK_F_FLUSH and the guest's flushes reach the file). A
    read-only disk is opened read-only (the device offers VIRTIO_BLK_F_RO)."""
    args: list[str] = []
    device = "virtio-blk-device" if machine == "microvm" else "virtio-blk-pci"
    for i, path in enumerate(disks):
        ro = ",readonly=on" if path in read_only else ""
        args += [
            "-drive",
            f"file={str(path).replace(',', ',,')},format=raw,if=none,id=disk{i},cache=writeback{ro}",
            "-device",
            f"{device},drive=disk{i}",
        ]
    return args


def nic_backend(kind: str) -> str:
    """QEMU's -netdev backend for a NIC kind: "user", or "tap:IFNAME" (an
    existing tap, or one QEMU creates when it may; no up/down scripts)."""
    if kind == "user":
        return "user"
    if kind.startswith("tap:"):
        name = kind[4:]
        if not TAP_NAME.match(name):
            raise RunError(
                f"NIC {kind!r}: {name!r} is not an interface name (1 to 15 letters, digits, '_', '.', '-')"
            )
        return f"tap,ifname={name},script=no,downscript=no"
    raise RunError(f"unknown NIC kind {kind!r}; use one of: {', '.join(NIC_KINDS)}")


def nic_args(machine: str, nics: tuple[str, ...], forwards: tuple[Forward, ...] = ()) -> list[str]:
    """QEMU arguments for the NICs: virtio-net on the machine's virtio transport.

    microvm has virtio-mmio only, and QEMU 7.2 makes those devices legacy
    (version 1) unless told otherwise; the guest drives virtio 1.0 only.
    pc and q35 get virtio-pci (transitional: legacy and modern registers).
    """
    if forwards and (not nics or nics[0] != "user"):
        raise RunError("forwarding a port needs a user-network NIC first (--nic user)")
    args: list[str] = []
    for i, kind in enumerate(nics):
        device = "virtio-net-device" if machine == "microvm" else "virtio-net-pci"
        netdev = f"{nic_backend(kind)},id=net{i}"
        if i == 0:
            netdev += "".join(f",hostfwd={f.proto}:127.0.0.1:{f.host}-:{f.guest}" for f in forwards)
        args += ["-netdev", netdev, "-device", f"{device},netdev=net{i}"]
    return args


def virtio_mmio_args(m: Machine) -> list[str]:
    """microvm's virtio-mmio devices as virtio 1.0 (the guest drives no legacy devices)."""
    if m.machine == "microvm" and (m.nics or m.disks):
        return ["-global", "virtio-mmio.force-legacy=false"]
    return []


def machine_arg(m: Machine) -> str:
    """The -M value. A microvm with NICs or disks runs without ACPI: only then does
    QEMU list its virtio-mmio devices on the kernel command line
    (virtio_mmio.device=...), which is where the guest looks for them (it
    reads no ACPI tables; Firecracker does the same)."""
    if m.machine == "microvm" and (m.nics or m.disks):
        return "microvm,acpi=off"
    return m.machine


def cpu_args(cpu: str) -> list[str]:
    """-cpu MODEL[,+flag|-flag...], or nothing for QEMU's default model."""
    if not cpu:
        return []
    if not re.fullmatch(r"[A-Za-z0-9_.+=,-]+", cpu):
        raise RunError(
            f"CPU model {cpu!r} is not a QEMU -cpu value; write a model and flags "
            "such as 'qemu64,-nx' or 'max' (qemu-system-x86_64 -cpu help lists them)"
        )
    return ["-cpu", cpu]


def qemu_command(qemu: str, m: Machine, interactive: bool) -> list[str]:
    if m.machine not in MACHINES:
        raise RunError(f"unknown machine {m.machine!r}; use one of: {', '.join(MACHINES)}")
    return [
        qemu,
        "-M",
        machine_arg(m),
        "-accel",
        m.accel,
        *cpu_args(m.cpu),
        "-m",
        str(m.memory_mib),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        # Interactive: Ctrl-a x quits QEMU; tests: plain serial on stdout.
        "-serial",
        "mon:stdio" if interactive else "stdio",
        "-device",
        f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=4",
        *nic_args(m.machine, m.nics, m.forwards),
        *disk_args(m.machine, m.disks, m.read_only),
        *virtio_mmio_args(m),
        "-kernel",
        str(m.image),
        "-append",
        m.cmdline,
    ]


def judge(output: str, returncode: int) -> Outcome:
    """Turns QEMU's exit status and the console output into an Outcome."""
    # The UART driver sends CRLF, as terminals want; patterns expect "\n".
    output = output.replace("\r\n", "\n")
    marker = EXIT_MARKER.findall(output)
    if returncode % 2 == 1:
        status = (returncode - 1) // 2
        if marker and int(marker[-1]) == status:
            return Outcome(output, status, f"guest exited with status {status}")
        return Outcome(
            output,
            status,
            f"guest wrote {status} to the debug-exit port without the "
            "'[boot] exit status' line (a fault or panic path?)",
        )
    if returncode == 0:
        return Outcome(
            output,
            None,
            "QEMU stopped without a guest exit status (triple fault or reset; QEMU runs with -no-reboot)",
        )
    return Outcome(output, None, f"QEMU failed with exit status {returncode}")


def run_captured(command: list[str], timeout: float) -> Outcome:
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace").replace("\r\n", "\n")
        return Outcome(out, None, f"timed out after {timeout:g} s without an exit")
    return judge(proc.stdout.decode("utf-8", "replace"), proc.returncode)


TAIL_LINES = 40


def console_tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a console."""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Booted:
    """A guest running in QEMU (or any command standing for one) whose
    console goes to `log`."""

    proc: subprocess.Popen[bytes]
    log: Path

    def console(self) -> str:
        """The console so far, CRLF as LF."""
        return self.log.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")

    def kill(self) -> None:
        """SIGKILL to QEMU's process group (a no-op once it is gone); waits for it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def wait_ready(guest: Booted, ready: str, timeout: float) -> None:
    """Returns once the console shows `ready`; BootError (with the console's
    tail) if QEMU exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    want = ready.encode()
    while want not in guest.log.read_bytes():
        status = guest.proc.poll()
        if status is not None or time.monotonic() > deadline:
            how = f"QEMU exited with status {status}" if status is not None else f"not within {timeout:g} s"
            raise BootError(
                f"the guest did not print {ready!r} ({how}); the console's last lines:\n"
                f"{console_tail(guest.console())}"
            )
        time.sleep(0.1)


@contextlib.contextmanager
def booted_command(
    command: list[str],
    log: Path,
    ready: str,
    timeout: float = 120.0,
    echo: Callable[[str], str] = console_tail,
) -> Iterator[Booted]:
    """Runs `command` in a session of its own, its output into `log`, and
    yields once the output shows `ready` (else BootError, naming the line
    and showing the console's tail). At the end the process group is
    killed and echo(console) printed, for the test's log."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    guest = Booted(proc, log)
    try:
        wait_ready(guest, ready, timeout)
        yield guest
    finally:
        guest.kill()
        print(echo(guest.console()))


@contextlib.contextmanager
def booted(
    machine: Machine,
    log: Path,
    ready: str,
    timeout: float = 120.0,
    echo: Callable[[str], str] = console_tail,
) -> Iterator[Booted]:
    """`machine` booted in QEMU (tests' console on stdout, into `log`) as far
    as the console line `ready`; killed when the block ends:

        with qemu.booted(machine, tmp_path / "console.log", "httpd: listening") as guest:
            ...  # talk to it; guest.console() is the output so far
    """
    command = qemu_command(find_qemu(), machine, interactive=False)
    with booted_command(command, log, ready, timeout, echo) as guest:
        yield guest



CLONE_NEWNET = 0x40000000  # <linux/sched.h>


def private_tap_unavailable() -> str | None:
    """Why private_tap() cannot run here (a test skips with it), or None."""
    if os.geteuid() != 0:
        return "needs root for a network namespace and a tap (CAP_NET_ADMIN); CI runs it as root"
    if not Path("/dev/net/tun").exists():
        return "needs /dev/net/tun for a tap device"
    if subprocess.run(["ip", "-V"], capture_output=True, check=False).returncode != 0:
        return "needs iproute2's ip (tools/setup.sh installs it)"
    return None


def private_tap(tap: str, host_cidr: str, host_cidr6: str | None = None) -> None:
    """Moves this process (and the QEMU it starts later) into a network
    namespace of its own, so a test leaves the host's network alone, and
    makes the tap `tap` there with the host's side of the link
    (`10.0.4.1/24`; `host_cidr6` an IPv6 one, without duplicate address
    detection). The guest then takes `nics=(f"tap:{tap}",)`."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("link", "set", "lo", "up")
    ip("tuntap", "add", "dev", tap, "mode", "tap")
    ip("addr", "add", host_cidr, "dev", tap)
    if host_cidr6 is not None:
        ip("-6", "addr", "add", host_cidr6, "dev", tap, "nodad")
    ip("link", "set", tap, "up")

def check(outcome: Outcome, exit_code: int, expect: list[str], reject: list[str]) -> list[str]:
    """The list of failed expectations (empty: the run passed)."""
    failures = []
    if outcome.guest_status != exit_code:
        failures.append(f"expected guest exit status {exit_code}; {outcome.reason}")
    for pattern in expect:
        if not re.search(pattern, outcome.output, re.MULTILINE):
            failures.append(f"expected output matching {pattern!r} was not printed")
    for pattern in reject:
        m = re.search(pattern, outcome.output, re.MULTILINE)
        if m:
            failures.append(f"output matches rejected pattern {pattern!r}: {m.group(0)!r}")
    return failures


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="unikernel-qemu", description=__doc__.split("\n")[0])
    p.add_argument("--image", required=True, type=Path, help="the image (.elf) to boot")
    p.add_argument("--cmdline", default="", help="PVH command line passed to the guest")
    p.add_argument("--memory-mib", type=int, default=128)
    p.add_argument("--machine", default="microvm", help="QEMU machine (microvm, pc, q35)")
    p.add_argument(
        "--cpu", default="", help="QEMU -cpu value, e.g. 'qemu64,-nx' or 'max' (default: QEMU's)"
    )
    p.add_argument(
        "--nic",
        action="append",
        default=[],
        help="attach a virtio-net NIC (repeatable): 'user' = QEMU user networking (10.0.2.0/24), "
        "'tap:IFNAME' = the host's tap device IFNAME",
    )
    p.add_argument(
        "--tap",
        metavar="IFNAME",
        help="make the first NIC the host's tap device IFNAME instead (e.g. after `ip tuntap add tap0 mode "
        "tap user $USER`); port forwards are dropped: reach the guest at its address on the tap's network",
    )
    p.add_argument(
        "--forward",
        action="append",
        default=[],
        metavar="PROTO:[HOST:]GUEST",
        help="forward a port of 127.0.0.1 to the guest through the first (user) NIC, e.g. tcp:7 "
        "(a free host port is picked and printed) or tcp:8080:80",
    )
    p.add_argument(
        "--disk",
        action="append",
        default=[],
        metavar="SIZE",
        help="attach a virtio-blk disk (repeatable): a fresh zero-filled raw image of SIZE (e.g. 1M) per run",
    )
    p.add_argument(
        "--volume",
        action="append",
        default=[],
        metavar="ro|rw:IMAGE",
        help="attach a unikernel_volume image (repeatable, before the --disk disks): ro as it is, rw as a "
        "fresh writable copy in the disks' directory",
    )
    p.add_argument(
        "--keep-disks",
        type=Path,
        metavar="DIR",
        help="create the disks as DIR/disk0.raw, ... (and read-write volumes' copies as DIR/NAME.img) "
        "and keep them after the run (default: a temporary directory, deleted)",
    )
    p.add_argument(
        "--accel",
        default=os.environ.get("UNIKERNEL_QEMU_ACCEL", "tcg"),
        help="QEMU accelerator; default tcg (env UNIKERNEL_QEMU_ACCEL)",
    )
    p.add_argument(
        "--interactive", action="store_true", help="console on the terminal; exit with the guest's status"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds (tests only)")
    p.add_argument("--exit-code", type=int, default=0, help="expected guest status (tests)")
    p.add_argument("--expect", action="append", default=[], help="regex the output must match")
    p.add_argument("--reject", action="append", default=[], help="regex the output must not match")
    p.add_argument(
        "--symbols", type=Path, help="the image's .debug.elf: names the addresses in fault reports"
    )
    p.add_argument(
        "--verify-manifest",
        type=Path,
        help="before booting, check the image and this manifest with `unikernel verify`",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="unikernel-disks-") as tmp:
        return run(args, args.keep_disks or Path(tmp))


def run(args: argparse.Namespace, disk_dir: Path) -> int:
    try:
        if not args.image.is_file():
            raise RunError(f"image {args.image} does not exist; build it first")
        # Everything is checked before a disk file is made.
        if args.machine not in MACHINES:
            raise RunError(f"unknown machine {args.machine!r}; use one of: {', '.join(MACHINES)}")
        for size in args.disk:
            parse_disk_size(size)
        volumes = tuple(parse_volume(v) for v in args.volume)
        nics, forwards = tuple(args.nic), parse_forwards(args.forward)
        if args.tap is not None:
            nics = (f"tap:{args.tap}",) + nics[1:]
            if forwards:
                print("unikernel-qemu: --tap: the port forwards are dropped (they need QEMU's user network)",
                      file=sys.stderr)
            forwards = ()
        nic_args(args.machine, nics, forwards)  # checked before a disk is made
        qemu = find_qemu()
        attached = volume_disks(volumes, disk_dir)
        disks = attached + (make_disks(args.disk, disk_dir) if args.disk else ())
        read_only = frozenset(p for p, v in zip(attached, volumes, strict=True) if v.read_only)
        machine = Machine(
            args.image,
            args.cmdline,
            args.memory_mib,
            args.machine,
            args.accel,
            nics,
            args.cpu,
            disks,
            forwards,
            read_only,
        )
        command = qemu_command(qemu, machine, args.interactive)
        for f in forwards:
            print(f"unikernel-qemu: 127.0.0.1:{f.host} ({f.proto}) is forwarded to the guest's port {f.guest}", file=sys.stderr)
    except RunError as e:
        print(f"unikernel-qemu: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(
            f"unikernel-qemu: error: cannot create the disks in {disk_dir}: {e.strerror}; "
            "give --keep-disks a writable directory",
            file=sys.stderr,
        )
        return 2

    if args.interactive:
        print(f"unikernel-qemu: booting {args.image} (Ctrl-a x quits)", file=sys.stderr)
        rc = subprocess.run(command, check=False).returncode
        if rc % 2 == 1:
            print(f"unikernel-qemu: guest exited with status {(rc - 1) // 2}", file=sys.stderr)
            return (rc - 1) // 2
        print(f"unikernel-qemu: {judge('', rc).reason}", file=sys.stderr)
        return 1

    # A second, independent reader (pyelftools) checks what the linker wrote
    # before the image is trusted to boot.
    verify = ["verify", str(args.image), "--manifest", str(args.verify_manifest)]
    if args.verify_manifest is not None and cli_main(verify) != 0:
        print("FAIL: the image does not pass `unikernel verify`")
        return 1
    print("unikernel-qemu: " + " ".join(command), flush=True)
    outcome = run_captured(command, args.timeout)
    if args.symbols is not None:
        outcome = replace(outcome, output=annotate(outcome.output, load_symbols(args.symbols)))
    print("----- console -----")
    print(outcome.output, end="" if outcome.output.endswith("\n") else "\n")
    print("-------------------")
    failures = check(outcome, args.exit_code, args.expect, args.reject)
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print(f"PASS: {outcome.reason}; {len(args.expect)} expected pattern(s) found")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
