"""examples/httpd served to clients nobody here wrote, through QEMU's user network.

The image boots on -M microvm with a virtio-net NIC and a free host port
of 127.0.0.1 forwarded to its port 80 (the runner's `--forward`, as
`bazel run :image.qemu` does). curl fetches every page of site/ and the
bytes and headers are compared with the files; a slow client, idle
clients and a table of malformed requests are sent over raw sockets; the
server must keep answering, and its console must show no fault. The ab
(apache2-utils) runs are in test_load.py, over a tap: QEMU's port forward
listens with a backlog of 1 and stalls bursts of connections (README.md).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from unikernel import qemu

BOOT_SECONDS = 120
IDLE_TIMEOUT_S = 10.0  # idle_timeout_ms of :image in BUILD
FAULT = re.compile(r"fault|panic|assert|stack overflow|canary", re.IGNORECASE)

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".bin": "application/octet-stream",
}


def _runfile(env: str, suffix: str) -> Path:
    paths = [Path(p) for p in os.environ[env].split()]
    (found,) = [p for p in paths if p.name.endswith(suffix) and not p.name.endswith(".debug.elf")]
    return found


def _site() -> dict[str, Path]:
    """{served path: source file} of every file under site/."""
    files = [Path(p) for p in os.environ["SITE"].split()]
    out = {}
    for f in files:
        rel = f.as_posix().split("/site/", 1)[1]
        out["/" + rel] = f
    return out


@dataclass
class Server:
    port: int
    log: Path

    def console(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def _boot(log: Path) -> Iterator[Server]:
    """The image in QEMU with a free host port forwarded to its port 80."""
    port = qemu.free_port("tcp")
    machine = qemu.Machine(
        _runfile("IMAGE", ".elf"),
        cmdline="",
        machine="microvm",
        nics=("user",),
        forwards=(qemu.Forward("tcp", port, 80),),
    )
    with qemu.booted(machine, log, "listening on port 80", BOOT_SECONDS, echo=_head_and_tail):
        yield Server(port, log)


def _head_and_tail(console: str) -> str:
    lines = console.splitlines()
    return "\n".join([*lines[:12], "...", *lines[-20:]])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _boot(tmp_path_factory.mktemp("qemu") / "console.log") as s:
        yield s


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    curl = shutil.which("curl")
    assert curl, "curl is not installed (tools/setup.sh installs it)"
    return subprocess.run([curl, "-s", "-S", "--max-time", "30", *args], capture_output=True, check=True)


def _headers(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    return status, fields


def _get(port: int, path: str, *extra: str) -> tuple[int, dict[str, str], bytes]:
    r = _curl("-D", "-", "-o", "/dev/stdout", *extra, f"http://127.0.0.1:{port}{path}")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status, fields = _headers(head + b"\r\n")
    return status, fields, body


def _etag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()[:16]}"'


def test_curl_fetches_every_page_byte_for_byte(server: Server) -> None:
    site = _site()
    assert len(site) >= 5
    pages = dict(site)
    pages["/"] = site["/index.html"]
    pages["/docs/"] = site["/docs/index.html"]
    for path, source in sorted(pages.items()):
        data = source.read_bytes()
        status, fields, body = _get(server.port, path)
        assert status == 200, path
        assert body == data, f"{path}: the body differs from {source}"
        assert fields["content-length"] == str(len(data)), path
        assert fields["content-type"] == TYPES[source.suffix], path
        assert fields["etag"] == _etag(data), path
        # HEAD: the same head, no body.
        r = _curl("-I", f"http://127.0.0.1:{server.port}{path}")
        head_status, head_fields = _headers(r.stdout.split(b"\r\n\r\n")[0] + b"\r\n")
        assert head_status == 200
        assert {k: v for k, v in head_fields.items() if k != "connection"} == {
            k: v for k, v in fields.items() if k != "connection"
        }


def test_etag_gives_304(server: Server) -> None:
    data = _site()["/css/site.css"].read_bytes()
    status, fields, body = _get(server.port, "/css/site.css", "-H", f"If-None-Match: {_etag(data)}")
    assert (status, body) == (304, b"")
    assert fields["etag"] == _etag(data)
    status, _, body = _get(server.port, "/css/site.css", "-H", 'If-None-Match: "0000000000000000"')
    assert (status, body) == (200, data)


def test_errors_404_and_405(server: Server) -> None:
    status, _, body = _get(server.port, "/no-such-page.html")
    assert (status, body) == (404, b"404 Not Found\n")
    status, fields, _ = _get(server.port, "/index.html", "-X", "POST", "-d", "x=1")
    assert status == 405
    assert fields["allow"] == "GET, HEAD"


def test_keep_alive_one_connection_for_many_requests(server: Server) -> None:
    url = f"http://127.0.0.1:{server.port}"
    urls = [x for _ in range(5) for x in ("-o", "/dev/null", f"{url}/index.html")]
    r = _curl("-w", "%{num_connects}\n", *urls)
    assert r.stdout.decode().split() == ["1", "0", "0", "0", "0"]


def _read_responses(s: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """`count` responses with Content-Length bodies from one socket."""
    buf = b""
    out = []
    while len(out) < count:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            assert chunk, f"closed after {len(out)} responses"
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        status, fields = _headers(head + b"\r\n")
        n = int(fields.get("content-length", "0")) if status != 304 else 0
        while len(buf) < n:
            chunk = s.recv(65536)
            assert chunk
            buf += chunk
        out.append((status, buf[:n]))
        buf = buf[n:]
    return out


def _connect(port: int, timeout: float = 30.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def test_pipelined_requests_in_one_segment(server: Server) -> None:
    site = _site()
    paths = ["/index.html", "/robots.txt", "/data.bin", "/missing", "/logo.svg"]
    request = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths)
    with _connect(server.port) as s:
        s.sendall(request)
        got = _read_responses(s, len(paths))
    for p, (status, body) in zip(paths, got, strict=True):
        if p == "/missing":
            assert status == 404
        else:
            assert (status, body) == (200, site[p].read_bytes()), p


def test_a_slow_client_does_not_stall_others(server: Server) -> None:
    request = b"GET /robots.txt HTTP/1.1\r\nHost: slow\r\nConnection: close\r\n\r\n"
    reply: list[bytes] = []

    def slow() -> None:
        with _connect(server.port) as s:
            for b in request:
                s.sendall(bytes([b]))
                time.sleep(0.1)
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            reply.append(data)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    latencies = []
    while t.is_alive() and len(latencies) < 200:
        begin = time.monotonic()
        status, _, _ = _get(server.port, "/index.html")
        latencies.append(time.monotonic() - begin)
        assert status == 200
    t.join()
    print(f"{len(latencies)} requests while the slow client sent; slowest {max(latencies):.2f} s")
    assert len(latencies) >= 10
    assert max(latencies) < 2.0
    assert reply and reply[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply[0].endswith(_site()["/robots.txt"].read_bytes())


def test_idle_and_unfinished_clients_are_closed(server: Server) -> None:
    with _connect(server.port) as idle, _connect(server.port) as partial:
        partial.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")
        begin = time.monotonic()
        assert idle.recv(100) == b""
        waited = time.monotonic() - begin
        answer = b""
        while chunk := partial.recv(4096):
            answer += chunk
    assert IDLE_TIMEOUT_S - 1 < waited < IDLE_TIMEOUT_S + 10
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


MALFORMED = [
    ("no CRLF", b"GET / HTTP/1.1\nHost: x\n\n"),
    ("1 MB header line", b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"),
    ("1 MB request line", b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n"),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n"),
    ("bad method", b"G(E)T / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("unknown method", b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bad percent-encoding", b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("percent at the end", b"GET /index.html% HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("dot-dot", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("encoded dot-dot", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("encoded slash dot-dot", b"GET /css%2f..%2fsite.css HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("NUL in the path", b"GET /index.html\x00.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("encoded NUL", b"GET /index.html%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("absurd Content-Length", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"),
    ("negative Content-Length", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
    ("chunked body", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
    ("no Host", b"GET / HTTP/1.1\r\n\r\n"),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"),
    ("binary noise", bytes(range(256)) * 4),
    ("TLS hello", bytes.fromhex("16030100a5010000a10303") + b"\x00" * 64),
]


@pytest.mark.parametrize(("what", "request_bytes"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_get_4xx_or_a_close(server: Server, what: str, request_bytes: bytes) -> None:
    with _connect(server.port) as s:
        try:
            s.sendall(request_bytes)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            # The server answered and closed (or reset) before reading it
            # all; shutdown() on such a socket says ENOTCONN.
            if e.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                raise
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    if answer:
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 600 and status != 500, f"{what}: {answer[:200]!r}"
        assert b"root:" not in answer
    # Still serving, and nothing faulted.
    status, _, _ = _get(server.port, "/robots.txt")
    assert status == 200
    assert not FAULT.search(server.console()), server.console()[-2000:]


def test_access_log_has_a_line_per_request(server: Server) -> None:
    marker = f"/log-check-{time.monotonic_ns()}"
    _get(server.port, marker)
    deadline = time.monotonic() + 5
    pattern = re.compile(rf'^httpd: 10\.0\.2\.2 "GET {re.escape(marker)} HTTP/1\.1" 404 14$', re.M)
    while not pattern.search(server.console()):
        assert time.monotonic() < deadline, server.console()[-2000:]
        time.sleep(0.1)


def test_image_is_small_and_content_is_read_only() -> None:
    elf_path = _runfile("IMAGE", ".elf")
    size = elf_path.stat().st_size
    print(f"image: {elf_path.name} is {size} bytes")
    data = _site()["/data.bin"].read_bytes()
    with elf_path.open("rb") as f:
        elf = ELFFile(f)
        found = []
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            at = seg.data().find(data)
            if at >= 0:
                found.append(seg["p_flags"])
    # The bytes are in the image exactly once, in a segment that is not writable.
    assert len(found) == 1
    assert not found[0] & 0x2, f"content in a writable segment (flags {found[0]:#x})"
    assert size < 512 * 1024
