"""tcp_echo under malformed traffic, through a tap in a network namespace.

The test moves itself into a new network namespace (unshare), makes a tap
there (10.0.3.1/24) and boots the image on it (the runner's NIC kind
"tap:IFNAME"). Then, from a raw packet socket on the tap, it sends a corpus
of malformed frames: runts, bad ARP, every broken IPv4 header field, IP
options, overlapping and unfinished fragments, bad ICMP and UDP, TCP with
illegal flag combinations, bad offsets and options, a zero-window session,
a bounded SYN flood, and broken IPv6 (extension header chains, ND options
of length 0). After each group the image must still echo over a real TCP
connection from the kernel's stack, and at the end its console must show
no fault.

Needs root (a network namespace and a tap: CAP_NET_ADMIN) and /dev/net/tun;
without them it is skipped, saying so.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from unikernel import qemu

TAP = "ukbad0"
HOST_IP = "10.0.3.1"
GUEST_IP = "10.0.3.2"
HOST_IP6 = "2001:db8:3::1"
GUEST_IP6 = "2001:db8:3::2"  # ip6= on the command line (a static address)
SPOOF_IP = "10.0.3.99"  # an address only this test answers for (raw frames)
GUEST_MAC = bytes.fromhex("525400123456")  # QEMU's first NIC
PORT = 7
BOOT_SECONDS = 120
ETH_P_ALL = 0x0003
SIOCGIFHWADDR = 0x8927


def _image() -> Path:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    return elf


# --- frames ---------------------------------------------------------------


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip4(text: str) -> bytes:
    return socket.inet_aton(text)


@dataclass(frozen=True)
class Net:
    """Addresses of the two ends of the tap."""

    host_mac: bytes

    def eth(self, ethertype: int, payload: bytes, dst: bytes = GUEST_MAC) -> bytes:
        return dst + self.host_mac + struct.pack("!H", ethertype) + payload


def ipv4(payload: bytes, proto: int, *, src: str = SPOOF_IP, dst: str = GUEST_IP, ihl: int = 5,
         total: int | None = None, ident: int = 1, frag: int = 0, ttl: int = 64, options: bytes = b"",
         version: int = 4, good_sum: bool = True) -> bytes:
    tot = total if total is not None else 20 + len(options) + len(payload)
    head = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tot & 0xFFFF, ident, frag, ttl, proto, 0,
                       ip4(src), ip4(dst)) + options
    s = csum(head) if good_sum else (csum(head) ^ 0x5A5A) or 1
    return head[:10] + struct.pack("!H", s) + head[12:] + payload


def l4_sum(src: str, dst: str, proto: int, segment: bytes) -> int:
    return csum(ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(segment)) + segment)


def tcp(sport: int, dport: int, flags: int, *, seq: int = 1000, ack: int = 0, window: int = 8192,
        offset: int = 5, options: bytes = b"", data: bytes = b"", src: str = SPOOF_IP,
        good_sum: bool = True) -> bytes:
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0) + options + data
    s = l4_sum(src, GUEST_IP, 6, seg)
    if not good_sum:
        s ^= 0x1234
    return seg[:16] + struct.pack("!H", s) + seg[18:]


def udp(sport: int, dport: int, data: bytes, *, length: int | None = None, good_sum: bool = True) -> bytes:
    ln = length if length is not None else 8 + len(data)
    seg = struct.pack("!HHHH", sport, dport, ln & 0xFFFF, 0) + data
    s = l4_sum(SPOOF_IP, GUEST_IP, 17, seg) if good_sum else 0x1234
    return seg[:6] + struct.pack("!H", s or 0xFFFF) + seg[8:]


def icmp(kind: int, code: int, body: bytes, good_sum: bool = True) -> bytes:
    msg = struct.pack("!BBH", kind, code, 0) + body
    s = csum(msg) if good_sum else 0xBEEF
    return msg[:2] + struct.pack("!H", s) + msg[4:]


def arp(net: Net, op: int, sender_ip: str, target_ip: str, hlen: int = 6, plen: int = 4) -> bytes:
    body = struct.pack("!HHBBH", 1, 0x0800, hlen, plen, op) + net.host_mac + ip4(sender_ip) + bytes(6) + ip4(target_ip)
    return net.eth(0x0806, body, dst=b"\xff" * 6)


FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 16, 32

GUEST6 = bytes.fromhex("fe80000000000000") + bytes.fromhex("505400fffe123456")  # EUI-64 of GUEST_MAC
HOST6 = bytes.fromhex("fe800000000000000000000000000099")


def ipv6(next_header: int, payload: bytes, *, plen: int | None = None, hops: int = 255) -> bytes:
    ln = plen if plen is not None else len(payload)
    return struct.pack("!IHBB", 6 << 28, ln & 0xFFFF, next_header, hops) + HOST6 + GUEST6 + payload


def icmp6(kind: int, code: int, body: bytes) -> bytes:
    msg = struct.pack("!BBH", kind, code, 0) + body
    pseudo = HOST6 + GUEST6 + struct.pack("!IxxxB", len(msg), 58)
    return msg[:2] + struct.pack("!H", csum(pseudo + msg)) + msg[4:]


# --- the corpus, in groups --------------------------------------------------


def corpus(net: Net) -> dict[str, list[bytes]]:
    rng = random.Random(11)
    e4 = lambda p: net.eth(0x0800, p)  # noqa: E731
    syn = tcp(40000, PORT, SYN)
    groups: dict[str, list[bytes]] = {}
    groups["ethernet and ARP"] = [
        b"\x00" * 10,
        net.eth(0x0800, b""),
        net.eth(0x0806, b"\x00\x01\x08\x00"),
        arp(net, 1, SPOOF_IP, GUEST_IP, hlen=0, plen=255),
        arp(net, 7, SPOOF_IP, GUEST_IP),
        arp(net, 2, GUEST_IP, GUEST_IP),  # someone claims the guest's address
        net.eth(0x88B5, bytes(range(64))),  # an unknown ethertype
    ]
    groups["IPv4 headers"] = [
        e4(ipv4(syn, 6)[:10]),
        e4(ipv4(syn, 6, version=6)),
        e4(ipv4(syn, 6, ihl=3)),
        e4(ipv4(b"", 6, ihl=15)),
        e4(ipv4(syn, 6, total=0xFFFF)),
        e4(ipv4(syn, 6, total=10)),
        e4(ipv4(syn, 6, good_sum=False)),
        e4(ipv4(syn, 6, ttl=0)),
        e4(ipv4(syn, 255)),
        e4(ipv4(syn, 6, src="255.255.255.255")),
        e4(ipv4(tcp(PORT, PORT, SYN, src=GUEST_IP), 6, src=GUEST_IP)),  # "land": from itself to itself
    ]
    groups["IPv4 options"] = [
        e4(ipv4(syn, 6, ihl=6, options=b"\x07\x00\x04\x00")),  # record route of length 0
        e4(ipv4(syn, 6, ihl=6, options=b"\x07\x28\x04\x00")),  # length past the header
        e4(ipv4(syn, 6, ihl=15, options=b"\x01" * 40)),  # 40 bytes of NOP
        e4(ipv4(syn, 6, ihl=7, options=b"\x89\x07\x04" + ip4(HOST_IP) + b"\x00")),  # strict source route
    ]
    payload = tcp(40001, PORT, SYN) + b"A" * 32
    frags = [
        e4(ipv4(payload[:24], 6, ident=77, frag=0x2000)),  # offset 0, more fragments
        e4(ipv4(b"B" * 32, 6, ident=77, frag=0x2001)),  # offset 8: overlaps the first
        e4(ipv4(payload[24:], 6, ident=77, frag=3)),
        e4(ipv4(payload[:8], 6, ident=78, frag=0x2000)),  # a tiny first fragment
        e4(ipv4(b"C" * 64, 6, ident=79, frag=0x1FFF)),  # ends past 65535
    ]
    frags += [e4(ipv4(b"D" * 64, 6, ident=1000 + i, frag=0x2000)) for i in range(200)]  # never finished
    groups["IPv4 fragments"] = frags
    groups["ICMP and UDP"] = [
        e4(ipv4(icmp(8, 0, b"")[:3], 1)),
        e4(ipv4(icmp(8, 0, b"\x00\x01\x00\x01xyz", good_sum=False), 1)),
        e4(ipv4(icmp(3, 3, ipv4(b"\x00\x07\x9c\x40", 6)[:24]), 1)),  # unreachable quoting a TCP head
        e4(ipv4(icmp(3, 4, b"\x00\x00\x00\x10"), 1)),  # "fragmentation needed" quoting nothing
        e4(ipv4(icmp(8, 0, b"\x12\x34\x00\x01" + bytes(1472 - 8)), 1)),  # the largest unfragmented ping
        e4(ipv4(udp(5000, PORT, b"hello", length=400), 17)),
        e4(ipv4(udp(5000, PORT, b"hello", length=4), 17)),
        e4(ipv4(udp(5000, 9, b"closed port"), 17)),
        e4(ipv4(udp(5000, PORT, b"hello", good_sum=False), 17)),
    ]
    flag_sets = [SYN | FIN, SYN | RST, FIN | URG | PSH, 0, 0x3F, 0xFF, RST, ACK, FIN]
    groups["TCP"] = (
        [e4(ipv4(tcp(41000 + i, PORT, f), 6)) for i, f in enumerate(flag_sets)]
        + [
            e4(ipv4(tcp(41100, PORT, SYN, offset=3), 6)),
            e4(ipv4(tcp(41101, PORT, SYN, offset=15), 6)),
            e4(ipv4(tcp(41102, PORT, SYN, good_sum=False), 6)),
            e4(ipv4(tcp(41103, PORT, SYN, offset=6, options=b"\x02\x00\x00\x00"), 6)),  # MSS of length 0
            e4(ipv4(tcp(41104, PORT, SYN, offset=6, options=b"\x03\x03\xff\x00"), 6)),  # window scale 255
            e4(ipv4(tcp(41105, PORT, SYN, offset=6, options=b"\x02\x28\x05\xb4"), 6)),  # length past the header
            e4(ipv4(tcp(41106, PORT, SYN, offset=8, options=b"\x05\x0a" + bytes(8) + b"\x00\x00"), 6)),  # SACK
            e4(ipv4(tcp(41107, 9, SYN), 6)),  # a closed port
            e4(ipv4(tcp(41108, PORT, ACK | PSH, data=b"no connection"), 6)),
        ]
    )
    groups["SYN flood"] = [
        net.eth(0x0800, ipv4(tcp(rng.randrange(1024, 65535), PORT, SYN, seq=rng.getrandbits(32),
                                 src=f"10.0.3.{100 + i % 100}"), 6, src=f"10.0.3.{100 + i % 100}"))
        for i in range(500)
    ]
    e6 = lambda p: net.eth(0x86DD, p)  # noqa: E731
    na_bad_option = icmp6(136, 0, struct.pack("!I", 0x20000000) + HOST6 + b"\x02\x00" + bytes(6))
    ra_bad_prefix = icmp6(134, 0, struct.pack("!BBHII", 64, 0, 1800, 0, 0) + b"\x03\x00" + bytes(30))
    chain = b"".join(bytes([60, 0]) + bytes(6) for _ in range(49)) + bytes([58, 0]) + bytes(6)
    groups["IPv6"] = [
        e6(ipv6(58, b"")[:20]),
        e6(ipv6(58, icmp6(128, 0, b"\x00\x01\x00\x01"), plen=4000)),
        e6(ipv6(0, bytes([58, 0, 0xC2, 0x04, 0, 0, 0, 0]) + icmp6(128, 0, b"\x00\x01\x00\x01"))),  # jumbo in a small one
        e6(ipv6(0, bytes([58, 0, 0x05, 0x09, 0, 0, 0, 0]))),  # an option longer than its header
        e6(ipv6(43, bytes([58, 2, 0, 1]) + bytes(4) + HOST6)),  # routing header type 0
        e6(ipv6(44, bytes([58, 0, 0, 0]) + struct.pack("!I", 9) + icmp6(128, 0, b"\x00\x01\x00\x02"))),  # atomic fragment
        e6(ipv6(60, chain + icmp6(128, 0, b"\x00\x01\x00\x03"))),  # 50 extension headers
        e6(ipv6(58, na_bad_option)),  # ND option of length 0
        e6(ipv6(58, ra_bad_prefix)),  # RA with a prefix option of length 0
    ]
    return groups


# --- the harness --------------------------------------------------------------


def _mac_of(ifname: str) -> bytes:
    """The interface's MAC in this network namespace (/sys shows the host's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", ifname.encode()))
    return ifreq[18:24]


@dataclass
class Guest:
    net: Net
    raw: socket.socket
    log: Path
    proc: subprocess.Popen[bytes]

    def console(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    why = qemu.private_tap_unavailable()
    if why:
        pytest.skip(why)
    qemu.private_tap(TAP, f"{HOST_IP}/24", f"{HOST_IP6}/64")
    host_mac = _mac_of(TAP)
    machine = qemu.Machine(_image(), cmdline=f"ip={GUEST_IP}/24 gw={HOST_IP} ip6={GUEST_IP6}/64", machine="microvm",
                           nics=(f"tap:{TAP}",))
    log = tmp_path_factory.mktemp("qemu") / "console.log"
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.bind((TAP, 0))
    try:
        with qemu.booted(machine, log, "tcp_echo: listening on port 7", BOOT_SECONDS) as booted:
            g = Guest(Net(host_mac), raw, log, booted.proc)
            # Tell the guest where SPOOF_IP lives (our raw socket answers for it).
            raw.send(arp(g.net, 1, SPOOF_IP, GUEST_IP))
            yield g
    finally:
        raw.close()


def echo_works(attempts_until: float = 60.0, address: str = GUEST_IP) -> str:
    """A real connection from the kernel's stack: a line echoed. Retries for
    a while (a SYN flood may fill the listener's backlog for its timeout)."""
    deadline = time.monotonic() + attempts_until
    last = ""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, PORT), timeout=5) as s:
                s.settimeout(10)
                s.sendall(b"still here\n")
                back = b""
                while len(back) < 11:
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    back += chunk
                if back == b"still here\n":
                    return "ok"
                last = f"echoed {back!r}"
        except OSError as e:
            last = str(e)
        time.sleep(1)
    return last


def assert_alive(g: Guest, after: str) -> None:
    assert g.proc.poll() is None, f"QEMU ended after {after}:\n{g.console()[-3000:]}"
    result = echo_works()
    assert result == "ok", f"no echo after {after}: {result}\n{g.console()[-3000:]}"


def test_static_ipv6_address_from_the_command_line(guest: Guest) -> None:
    """ip6= gives the guest a global address the kernel reaches over TCP."""
    assert echo_works(address=GUEST_IP6) == "ok", guest.console()[-3000:]


GROUPS = ["ethernet and ARP", "IPv4 headers", "IPv4 options", "IPv4 fragments", "ICMP and UDP", "TCP",
          "SYN flood", "IPv6"]


@pytest.mark.parametrize("group", GROUPS)
def test_malformed_group_leaves_it_serving(guest: Guest, group: str) -> None:
    frames = corpus(guest.net)[group]
    for frame in frames:
        guest.raw.send(frame.ljust(14, b"\0") if len(frame) < 14 else frame)
    time.sleep(0.5)
    assert_alive(guest, f"{len(frames)} frames of {group}")


def _recv_tcp_from_guest(g: Guest, dport: int, timeout: float,
                         want: Callable[[int, int, int, bytes], bool]) -> tuple[int, int, int, bytes]:
    """The next TCP segment the guest sends to SPOOF_IP:dport that `want`
    accepts: (flags, seq, ack, payload)."""
    g.raw.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = g.raw.recv(2048)
        except socket.timeout:
            continue
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6 or frame[30:34] != ip4(SPOOF_IP):
            continue
        ihl = (frame[14] & 15) * 4
        seg = frame[14 + ihl:14 + struct.unpack("!H", frame[16:18])[0]]
        sport, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", seg[:14])
        payload = seg[(off >> 4) * 4:]
        if dp == dport and want(flags, seq, ack, payload):
            return flags, seq, ack, payload
    raise AssertionError(f"no segment from the guest to port {dport} within {timeout} s")


def _drain(g: Guest) -> None:
    g.raw.setblocking(False)
    try:
        while True:
            g.raw.recv(4096)
    except BlockingIOError:
        pass
    finally:
        g.raw.setblocking(True)


def test_zero_window_peer_gets_its_echo_once_it_opens(guest: Guest) -> None:
    """A hand-made TCP session from SPOOF_IP: handshake, then data while
    advertising a zero window; the guest must hold its echo back (at most
    one-byte window probes), and deliver all of it once the window opens."""
    e4 = lambda p: guest.net.eth(0x0800, p)  # noqa: E731
    sport, isn, data = 45000, 5000, b"held back"
    _drain(guest)
    guest.raw.send(e4(ipv4(tcp(sport, PORT, SYN, seq=isn, window=0), 6)))
    _, gseq, _, _ = _recv_tcp_from_guest(guest, sport, 10, lambda f, s, a, p: f & (SYN | ACK) == SYN | ACK)
    base = (gseq + 1) & 0xFFFFFFFF
    guest.raw.send(e4(ipv4(tcp(sport, PORT, ACK, seq=isn + 1, ack=base, window=0), 6)))
    guest.raw.send(e4(ipv4(tcp(sport, PORT, ACK | PSH, seq=isn + 1, ack=base, window=0, data=data), 6)))
    with pytest.raises(AssertionError):  # nothing but probes while the window is shut
        _recv_tcp_from_guest(guest, sport, 3, lambda f, s, a, p: len(p) > 1)
    # Open the window; gather the echo by sequence number, acknowledging
    # what is contiguous (a probe's byte may come again or not at all).
    got = bytearray(len(data))
    have = [False] * len(data)
    mine = isn + 1 + len(data)
    guest.raw.send(e4(ipv4(tcp(sport, PORT, ACK, seq=mine, ack=base, window=4096), 6)))
    deadline = time.monotonic() + 30
    while not all(have) and time.monotonic() < deadline:
        _, seq, _, payload = _recv_tcp_from_guest(guest, sport, 30, lambda f, s, a, p: len(p) > 0)
        start = (seq - base) & 0xFFFFFFFF
        for i, b in enumerate(payload):
            if start + i < len(data):
                got[start + i] = b
                have[start + i] = True
        upto = have.index(False) if not all(have) else len(data)
        guest.raw.send(e4(ipv4(tcp(sport, PORT, ACK, seq=mine, ack=base + upto, window=4096), 6)))
    assert bytes(got) == data and all(have), f"echo {bytes(got)!r}, bytes present {have}"
    guest.raw.send(e4(ipv4(tcp(sport, PORT, RST | ACK, seq=mine, ack=base + len(data)), 6)))
    assert_alive(guest, "a zero-window session")


def test_no_fault_on_the_console(guest: Guest) -> None:
    assert_alive(guest, "the whole corpus")
    text = guest.console()
    for bad in ("panic", "backtrace", "assert", "[mm] corrupt"):
        assert bad not in text, f"{bad!r} on the console:\n{text[-3000:]}"
