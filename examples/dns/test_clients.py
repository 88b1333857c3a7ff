"""examples/dns served to clients nobody here wrote, through QEMU's user network.

The image boots on -M microvm with one host port of 127.0.0.1 forwarded to
its port 53 over UDP and TCP (as `bazel run :image.qemu` does). Then:

- dig (BIND 9) asks for every RRset of the test zone over UDP and over TCP;
  the records it prints must be exactly the zone as named-compilezone (BIND's
  own zone reader, not our compiler) reads the same file;
- dig checks NXDOMAIN, NODATA, REFUSED, case and the fallback to TCP on TC;
- a corpus of malformed queries goes over UDP, each answered with the right
  code or dropped, and the server still answers afterwards;
- dnsperf runs a few seconds at a rate the server sustains, losing nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from unikernel import qemu

BOOT_SECONDS = 120
ORIGIN = "example.test"
DNSPERF_SECONDS = 3
DNSPERF_QPS = 500  # a tenth of what it sustained under TCG here (README.md)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's {package} (tools/setup.sh does)")
    return path


def _image() -> Path:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    return elf


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Boots the image; yields the host port forwarded to its port 53 (UDP and TCP)."""
    host = qemu.free_port_both()
    machine = qemu.Machine(
        _image(),
        cmdline="ip=10.0.2.15/24 gw=10.0.2.2",
        machine="microvm",
        nics=("user",),
        forwards=(qemu.Forward("udp", host, 53), qemu.Forward("tcp", host, 53)),
    )
    log = tmp_path_factory.mktemp("qemu") / "console.log"
    with qemu.booted(machine, log, "dns: serving example.test.", BOOT_SECONDS):
        yield host


# ---- the zone, read by BIND's own tool ------------------------------------


def _record(line: str) -> tuple[str, int, str, str]:
    """(owner, ttl, type, rdata) from a presentation-format line; names lowercased."""
    owner, ttl, klass, rtype, rdata = line.split(None, 4)
    assert klass == "IN", line
    rdata = " ".join(rdata.split()) if rtype != "TXT" else rdata.strip()
    if rtype in ("NS", "CNAME", "MX", "SOA", "SRV"):
        rdata = rdata.lower()
    return owner.lower(), int(ttl), rtype, rdata


def _zone_records() -> set[tuple[str, int, str, str]]:
    out = subprocess.run(
        [
            _tool("named-compilezone", "bind9-utils"),
            "-q",
            "-s",
            "full",
            "-o",
            "-",
            ORIGIN,
            os.environ["ZONE"],
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {_record(line) for line in out.splitlines() if line.strip()}


@dataclass
class Dig:
    port: int

    def run(self, *args: str, queries: str | None = None, tmp: Path | None = None) -> str:
        cmd = [_tool("dig", "bind9-dnsutils"), "-p", str(self.port), "@127.0.0.1", "+tries=2", "+time=10"]
        if queries is not None:
            assert tmp is not None
            batch = tmp / "queries.txt"
            batch.write_text(queries)
            cmd += ["-f", str(batch)]
        out = subprocess.run(cmd + list(args), check=True, capture_output=True, text=True, timeout=300)
        return out.stdout


def _answers(text: str) -> set[tuple[str, int, str, str]]:
    return {_record(line) for line in text.splitlines() if line.strip() and not line.startswith(";")}


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_dig_gets_every_record_of_the_zone(port: int, transport: str, tmp_path: Path) -> None:
    zone = _zone_records()
    rrsets = sorted({(owner, rtype) for owner, _, rtype, _ in zone})
    queries = "".join(f"{owner} {rtype}\n" for owner, rtype in rrsets)
    out = Dig(port).run(transport, "+norec", "+noall", "+answer", "+comments", queries=queries, tmp=tmp_path)
    assert out.count("status: NOERROR") == len(rrsets), out
    flags = re.findall(r"^;; flags: ([a-z ]+);", out, re.MULTILINE)
    assert len(flags) == len(rrsets) and all(f.split() == ["qr", "aa"] for f in flags), flags
    assert "Truncated" not in out
    assert _answers(out) == zone


def test_nxdomain_and_nodata_carry_the_soa(port: int) -> None:
    dig = Dig(port)
    out = dig.run("+norec", "nope.example.test", "A")
    assert "status: NXDOMAIN" in out and "flags: qr aa;" in out
    assert re.search(
        r"^;; AUTHORITY SECTION:\nexample\.test\.\s+300\s+IN\s+SOA\s+ns1\.example\.test\. ", out, re.MULTILINE
    ), out
    out = dig.run("+norec", "web.example.test", "MX")
    assert "status: NOERROR" in out and "ANSWER: 0, AUTHORITY: 1" in out, out
    out = dig.run("+norec", "_tcp.example.test", "SRV")  # an empty non-terminal
    assert "status: NOERROR" in out and "ANSWER: 0, AUTHORITY: 1" in out, out


def test_cname_chain_and_case(port: int) -> None:
    out = Dig(port).run("+norec", "AlIaS.ExAmple.TEST", "A")
    assert ";AlIaS.ExAmple.TEST.\t\tIN\tA" in out, out
    answers = {(o, t, r) for o, _, t, r in _answers(out.split(";; ANSWER SECTION:")[1].split("\n\n")[0])}
    assert answers == {
        ("alias.example.test.", "CNAME", "www.example.test."),
        ("www.example.test.", "CNAME", "web.example.test."),
        ("web.example.test.", "A", "192.0.2.80"),
        ("web.example.test.", "A", "192.0.2.81"),
    }


def test_other_zones_and_recursion_are_refused(port: int) -> None:
    out = Dig(port).run("+rec", "www.example.org", "A")
    assert "status: REFUSED" in out and "WARNING: recursion requested but not available" in out, out
    assert "flags: qr rd;" in out  # no aa, no ra


def test_truncated_answer_is_retried_over_tcp(port: int) -> None:
    out = Dig(port).run("+norec", "+noedns", "big.example.test", "TXT")
    assert "Truncated, retrying in TCP mode" in out, out
    assert "ANSWER: 6," in out and "(TCP)" in out, out
    out = Dig(port).run("+norec", "+bufsize=1232", "big.example.test", "TXT")
    assert "Truncated" not in out and "ANSWER: 6," in out and "udp: 1232" in out, out


# ---- malformed queries over UDP ------------------------------------------


def _name(text: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".") if label) + b"\0"


def _query(
    name: str = "www.example.test", qtype: int = 1, flags: int = 0, counts: tuple[int, ...] = (1, 0, 0, 0)
) -> bytes:
    return struct.pack(">HHHHHH", 0xBEEF, flags, *counts) + _name(name) + struct.pack(">HH", qtype, 1)


def _opt(rdata: bytes = b"", version: int = 0, owner: bytes = b"\0") -> bytes:
    return owner + struct.pack(">HHBBHH", 41, 1232, 0, version, 0, len(rdata)) + rdata


HDR = struct.pack(">HHHHHH", 0xBEEF, 0, 1, 0, 0, 0)
DROP = -1
FORMERR, NOTIMP = 1, 4
CORPUS: list[tuple[str, bytes, int]] = [
    ("empty", b"", DROP),
    ("11 bytes", _query()[:11], DROP),
    ("QR set", _query(flags=0x8000), DROP),
    ("opcode NOTIFY", _query(flags=4 << 11), NOTIMP),
    ("opcode UPDATE", _query(flags=5 << 11), NOTIMP),
    ("qdcount 0", struct.pack(">HHHHHH", 0xBEEF, 0, 0, 0, 0, 0), FORMERR),
    (
        "qdcount 50",
        struct.pack(">HHHHHH", 0xBEEF, 0, 50, 0, 0, 0) + (_name("www.example.test") + b"\0\1\0\1") * 50,
        FORMERR,
    ),
    ("truncated name", HDR + b"\x0aab", FORMERR),
    ("name without its end", HDR + b"\x03www", FORMERR),
    ("label length 64", HDR + b"\x40" + b"a" * 64 + _name("example.test") + b"\0\1\0\1", FORMERR),
    ("name of 300 bytes", HDR + (b"\x3f" + b"a" * 63) * 4 + _name("example.test") + b"\0\1\0\1", FORMERR),
    ("pointer loop in the question", HDR + b"\xc0\x0c\0\1\0\1", FORMERR),
    ("pointer forward", HDR + b"\xc0\x10\0\1\0\1" + _name("example.test"), FORMERR),
    ("pointer out of bounds", HDR + b"\xff\xff\0\1\0\1", FORMERR),
    (
        "compression loop in an additional record",
        _query(counts=(1, 0, 0, 1)) + b"\x01a\xc0\x22" + struct.pack(">HHIH", 99, 1, 0, 0),
        FORMERR,
    ),
    ("two OPT records", _query(counts=(1, 0, 0, 2)) + _opt() + _opt(), FORMERR),
    ("EDNS option past its OPT", _query(counts=(1, 0, 0, 1)) + _opt(struct.pack(">HH", 3, 40)), FORMERR),
    ("EDNS option header cut", _query(counts=(1, 0, 0, 1)) + _opt(b"\0\x0a\0"), FORMERR),
    (
        "EDNS cookie of 5 bytes",
        _query(counts=(1, 0, 0, 1)) + _opt(struct.pack(">HH", 10, 5) + b"12345"),
        FORMERR,
    ),
    ("OPT not owned by the root", _query(counts=(1, 0, 0, 1)) + _opt(owner=b"\xc0\x0c"), FORMERR),
    ("EDNS version 1", _query(counts=(1, 0, 0, 1)) + _opt(version=1), 0),  # BADVERS lives in the OPT
]


@pytest.mark.parametrize(("what", "packet", "rcode"), CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_query_over_udp(port: int, what: str, packet: bytes, rcode: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0 if rcode == DROP else 20.0)
        s.sendto(packet, ("127.0.0.1", port))
        if rcode == DROP:
            with pytest.raises(socket.timeout):
                s.recv(4096)
        else:
            reply = s.recv(4096)
            assert reply[:2] == b"\xbe\xef" and reply[2] & 0x80, reply
            assert reply[3] & 0xF == rcode, f"{what}: rcode {reply[3] & 0xF}"
        # Still answering.
        s.settimeout(20.0)
        s.sendto(_query(), ("127.0.0.1", port))
        reply = s.recv(4096)
        assert reply[3] & 0xF == 0 and struct.unpack(">H", reply[6:8])[0] == 3


# ---- load ------------------------------------------------------------------


def test_dnsperf_loses_no_query(port: int, tmp_path: Path) -> None:
    data = tmp_path / "queries.txt"
    data.write_text(
        "".join(
            f"{n} {t}\n"
            for n, t in [
                ("www.example.test", "A"),
                ("example.test", "MX"),
                ("nope.example.test", "A"),
                ("_sip._tcp.example.test", "SRV"),
                ("web.example.test", "AAAA"),
                ("example.test", "SOA"),
            ]
        )
    )
    out = subprocess.run(
        [
            _tool("dnsperf", "dnsperf"),
            "-s",
            "127.0.0.1",
            "-p",
            str(port),
            "-d",
            str(data),
            "-l",
            str(DNSPERF_SECONDS),
            "-Q",
            str(DNSPERF_QPS),
            "-t",
            "5",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    print(out)
    sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    assert sent >= DNSPERF_QPS * DNSPERF_SECONDS // 2, out
    assert lost == 0, out
    assert re.search(r"NOERROR \d+ ", out) and re.search(r"NXDOMAIN \d+ ", out), out
