"""examples/iperf against Debian's iperf 2, through QEMU's user network.

Receive: the image boots on -M microvm with a virtio-net NIC on QEMU's
user network and a host port of 127.0.0.1 forwarded to its port 5001;
`iperf -c` sends to it for 3 s. Send: the image boots with
`send=10.0.2.2:PORT` (the user network's address for the host, which QEMU
connects to the host's 127.0.0.1) and lwiperf sends for its fixed 10 s to
`iperf -s` on that port. Either way the console's report and iperf's own
(CSV, `-y C`: exact bytes) must name more than 0 bytes and the same
number within AGREE (0.1%): the two count at different places. Measured:
on receive iperf's client counted 1,436 bytes more than lwiperf read (of
~249 MB: what its count of written bytes includes past what reached the
guest's application before the FIN); on send iperf 2.1's server counted 4
bytes fewer than lwiperf wrote (of ~462 MB: part of lwiperf's iperf 2.0
header it does not count as data).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from unikernel import qemu

BOOT_SECONDS = 120
CMDLINE = "ip=10.0.2.15/24 gw=10.0.2.2"
AGREE = 0.001  # relative difference allowed between the two counts
REPORT = re.compile(r"^iperf: (\w[\w ()]*?) (\d+) bytes in (\d+) ms, (\d+) kbit/s \(([\d.]+) port (\d+)\)$", re.M)


@dataclass(frozen=True)
class Report:
    """One line of the console's reports."""

    verb: str
    bytes: int
    ms: int
    kbit_per_s: int


def _image() -> Path:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    return elf


def _iperf() -> str:
    iperf = shutil.which("iperf")
    assert iperf, "iperf (2) is not installed (tools/setup.sh installs it)"
    return iperf


def _reports(console: str) -> list[Report]:
    return [Report(m[1], int(m[2]), int(m[3]), int(m[4])) for m in REPORT.finditer(console)]


def _agree(a: int, b: int) -> bool:
    return a > 0 and b > 0 and abs(a - b) <= AGREE * max(a, b)


def _wait_reports(guest: qemu.Booted, count: int, seconds: float) -> list[Report]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reports = _reports(guest.console())
        if len(reports) >= count:
            return reports
        time.sleep(0.2)
    pytest.fail(f"no iperf report on the console after {seconds} s:\n{qemu.console_tail(guest.console())}")


def _csv_bytes(text: str) -> int:
    """The bytes of iperf 2's one CSV report (`-y C`): its 8th field."""
    rows = [line.split(",") for line in text.splitlines() if line.count(",") >= 8]
    assert len(rows) == 1, f"expected one CSV report from iperf, got:\n{text}"
    return int(rows[0][7])


Boot = Callable[[str, tuple[qemu.Forward, ...]], qemu.Booted]


@pytest.fixture()
def boot(tmp_path: Path) -> Iterator[Boot]:
    """Boots the image with extra command-line words and port forwards; kills it at the end."""
    with contextlib.ExitStack() as stack:

        def start(extra: str, forwards: tuple[qemu.Forward, ...]) -> qemu.Booted:
            machine = qemu.Machine(
                _image(), cmdline=f"{CMDLINE} {extra}".strip(), machine="microvm", nics=("user",), forwards=forwards
            )
            ready = "iperf: listening on port 5001"
            return stack.enter_context(qemu.booted(machine, tmp_path / "console.log", ready, BOOT_SECONDS))

        yield start


def test_receive_from_iperf_client(boot: Boot) -> None:
    port = qemu.free_port("tcp")
    guest = boot("", (qemu.Forward("tcp", port, 5001),))
    run = subprocess.run(
        [_iperf(), "-c", "127.0.0.1", "-p", str(port), "-t", "3", "-y", "C"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sent = _csv_bytes(run.stdout)
    (report,) = _wait_reports(guest, 1, 20)
    print(f"iperf client: {sent} bytes; image: {report}")
    assert report.verb == "received", report
    assert _agree(report.bytes, sent), f"the image received {report.bytes} bytes, iperf sent {sent}"
    assert 2500 <= report.ms <= 10000, report


def test_send_to_iperf_server(boot: Boot, tmp_path: Path) -> None:
    port = qemu.free_port("tcp")
    out = tmp_path / "server.csv"
    with out.open("w") as f:
        server = subprocess.Popen(
            [_iperf(), "-s", "-B", "127.0.0.1", "-p", str(port), "-y", "C"], stdout=f, stderr=subprocess.STDOUT
        )
    try:
        time.sleep(0.5)  # listening before the image connects
        guest = boot(f"send=10.0.2.2:{port}", ())
        (report,) = _wait_reports(guest, 1, 40)
        deadline = time.monotonic() + 10
        while out.read_text().count(",") < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    received = _csv_bytes(out.read_text())
    print(f"image: {report}; iperf server: {received} bytes")
    assert report.verb == "sent", report
    assert _agree(report.bytes, received), f"the image sent {report.bytes} bytes, iperf received {received}"


def test_bad_send_word_stops_the_boot(tmp_path: Path) -> None:
    machine = qemu.Machine(_image(), cmdline=f"{CMDLINE} send=10.0.2.2", machine="microvm", nics=("user",))
    cm = qemu.booted(machine, tmp_path / "console.log", "iperf: send=10.0.2.2: not an iperf server", BOOT_SECONDS)
    with cm as guest:
        assert "(write send=A.B.C.D:PORT, e.g. send=10.0.2.2:5001)" in guest.console()
