#!/usr/bin/env python3
"""dom0's side of the lab's side-by-side benchmark (dom0-bench.sh): the
first-answer poll and the raw DNS answers, with the standard library only
(dom0 has python3-minimal).

    bench-probe.py first http|dns ADDR T0 SECONDS
        polls ADDR (HTTP GET / on port 80, or a DNS SOA query on port 53)
        every 0.1 s until it answers; prints "first_answer_s S" with S
        counted from T0 (epoch seconds, taken before `xl create`), or
        "first_answer_s none" after SECONDS.
    bench-probe.py answers ADDR QUERIES
        sends each "owner TYPE" line of QUERIES as a query (no RD, no EDNS,
        ID 0x4242: what bench/appliances.py sends) and prints
        "owner TYPE HEX" with the response's bytes, or "owner TYPE none".
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from pathlib import Path

RTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}
ORIGIN = "example.test."


def dns_query(name: str, rtype: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x4242, 0, 1, 0, 0, 0) + labels + struct.pack("!HH", rtype, 1)


def dns_ask(addr: str, packet: bytes, timeout: float) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (addr, 53))
            return s.recv(65535)
        except OSError:
            return None


def http_ok(addr: str, timeout: float) -> bool:
    try:
        with socket.create_connection((addr, 80), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def first(kind: str, addr: str, t0: float, seconds: float) -> str:
    probe = dns_query(ORIGIN, RTYPES["SOA"])
    while time.time() < t0 + seconds:
        ok = http_ok(addr, 0.3) if kind == "http" else dns_ask(addr, probe, 0.2) is not None
        if ok:
            return f"first_answer_s {time.time() - t0:.3f}"
        time.sleep(0.1)
    return "first_answer_s none"


def answers(addr: str, queries: Path) -> list[str]:
    out = []
    for line in queries.read_text().splitlines():
        if not line.strip():
            continue
        owner, rtype = line.split()
        packet = dns_query(owner, RTYPES[rtype])
        answer = None
        for _ in range(3):
            answer = dns_ask(addr, packet, 2.0)
            if answer is not None:
                break
        out.append(f"{owner} {rtype} {answer.hex() if answer is not None else 'none'}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[0] == "first" and argv[1] in ("http", "dns"):
        print(first(argv[1], argv[2], float(argv[3]), float(argv[4])))
        return 0
    if len(argv) == 3 and argv[0] == "answers":
        print("\n".join(answers(argv[1], Path(argv[2]))))
        return 0
    print("usage: bench-probe.py first http|dns ADDR T0 SECONDS | answers ADDR QUERIES", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
