"""examples/kvstore served to curl and to a Python client, through QEMU's user network.

The image boots on -M microvm with its volume (a copy of :data, as built)
on virtio-blk and a free host port of 127.0.0.1 forwarded to its port 80
(as `bazel run :image.qemu` does). curl stores, reads, lists and deletes
keys; a Python client (http.client and raw sockets) checks exact bytes
(binary, empty, the largest value), keep-alive, and every 4xx with its
reason; then the image is killed and booted again on the same disk file,
and the keys are still there.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from http_backlog import check_waits_in_backlog
from unikernel import qemu

BOOT_SECONDS = 60
VALUE_MAX = 65536
FAULT = re.compile(r"fault|panic|assert|stack overflow|canary|damaged", re.IGNORECASE)


@dataclass
class Server:
    port: int
    guest: qemu.Booted

    def console(self) -> str:
        return self.guest.console()


def _image() -> Path:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    return elf


@contextlib.contextmanager
def _boot(disk: Path, log: Path) -> Iterator[Server]:
    port = qemu.free_port("tcp")
    machine = qemu.Machine(
        _image(),
        cmdline="ip=10.0.2.15/24 gw=10.0.2.2",
        machine="microvm",
        nics=("user",),
        disks=(disk,),
        forwards=(qemu.Forward("tcp", port, 80),),
    )
    with qemu.booted(machine, log, "kvstore: listening on port 80", BOOT_SECONDS) as guest:
        yield Server(port, guest)


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("disk") / "data.img"
    shutil.copyfile(Path(__file__).parent / "data.img", path)
    return path


@pytest.fixture(scope="module")
def server(disk: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _boot(disk, tmp_path_factory.mktemp("qemu") / "console.log") as s:
        yield s


def _curl(server: Server, *args: str) -> tuple[int, bytes]:
    """curl's status code and body."""
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed; tools/setup.sh installs it")
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", *args],
        capture_output=True,
        check=True,
    ).stdout
    body, _, code = out.rpartition(b"\n")
    return int(code), body


def _url(server: Server, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def _request(server: Server, method: str, path: str, body: bytes | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=body)
    return conn.getresponse()


def _raw(server: Server, request: bytes) -> bytes:
    """Sends bytes as they are; everything the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_curl_put_get_list_delete(server: Server, tmp_path: Path) -> None:
    value = tmp_path / "value"
    value.write_bytes(b"hello, kvstore\n")
    assert _curl(server, "-X", "PUT", "--data-binary", f"@{value}", _url(server, "/k/greeting")) == (201, b"")
    assert _curl(server, _url(server, "/k/greeting")) == (200, b"hello, kvstore\n")
    assert _curl(server, "-X", "PUT", "--data-binary", "bye", _url(server, "/k/greeting")) == (204, b"")
    assert _curl(server, _url(server, "/k/greeting")) == (200, b"bye")
    assert _curl(server, "-X", "PUT", "--data-binary", "1", _url(server, "/k/a.b_c-d")) == (201, b"")
    code, listing = _curl(server, _url(server, "/k/"))
    assert code == 200 and b"a.b_c-d\ngreeting\n" in listing
    assert _curl(server, "-X", "DELETE", _url(server, "/k/greeting")) == (204, b"")
    assert _curl(server, _url(server, "/k/greeting"))[0] == 404
    assert _curl(server, "-X", "DELETE", _url(server, "/k/greeting"))[0] == 404
    assert b"greeting" not in _curl(server, _url(server, "/k/"))[1]


def test_exact_bytes(server: Server) -> None:
    rng = random.Random(13)
    values = {
        "binary": bytes(range(256)) * 3,
        "empty": b"",
        "largest": rng.randbytes(VALUE_MAX),
        "crlf": b"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    }
    for key, value in values.items():
        r = _request(server, "PUT", f"/k/{key}", value)
        assert r.status == 201, r.read()
    for key, value in values.items():
        r = _request(server, "GET", f"/k/{key}")
        assert r.status == 200
        assert r.getheader("Content-Type") == "application/octet-stream"
        assert r.read() == value
    r = _request(server, "HEAD", "/k/largest")
    assert r.status == 200 and r.getheader("Content-Length") == str(VALUE_MAX) and r.read() == b""


def test_keep_alive_and_pipelining(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for i in range(20):
        conn.request("PUT", f"/k/ka{i}", body=f"value {i}".encode())
        r = conn.getresponse()
        assert r.status == 201 and r.read() == b""
    for i in range(20):
        conn.request("GET", f"/k/ka{i}")
        assert conn.getresponse().read() == f"value {i}".encode()
    conn.close()
    # Two requests in one segment, the first with a body.
    answer = _raw(
        server,
        b"PUT /k/pipe HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /k/pipe HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")
    assert answer.endswith(b"\r\n\r\nabc")


# Every limit, its status, and the reason in the body.
BAD = [
    ("bad character", b"GET /k/a%20b HTTP/1.1\r\nHost: h\r\n\r\n", 400, b"a key is 1 to 128 bytes"),
    ("slash in a key", b"PUT /k/a/b HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", 400, b"a key is"),
    ("non-ASCII key", b"GET /k/%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n", 400, b"a key is"),
    ("dot-dot", b"GET /k/.. HTTP/1.1\r\nHost: h\r\n\r\n", 400, b"400 Bad Request"),
    (
        "key of 129 bytes",
        b"GET /k/" + b"k" * 129 + b" HTTP/1.1\r\nHost: h\r\n\r\n",
        414,
        b"a key is 1 to 128 bytes",
    ),
    (
        "path beyond the parser",
        b"GET /k/" + b"k" * 600 + b" HTTP/1.1\r\nHost: h\r\n\r\n",
        414,
        b"414 URI Too Long",
    ),
    (
        "value of 65537 bytes",
        b"PUT /k/big HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n",
        413,
        b"a value is at most 65536 bytes",
    ),
    ("no Content-Length", b"PUT /k/x HTTP/1.1\r\nHost: h\r\n\r\n", 411, b"send Content-Length"),
    ("POST", b"POST /k/x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", 405, b"405 Method Not Allowed"),
    ("PUT on the list", b"PUT /k/ HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", 405, b"405"),
    ("DELETE on the list", b"DELETE /k/ HTTP/1.1\r\nHost: h\r\n\r\n", 405, b"405"),
    ("outside /k/", b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n", 404, b"keys are under /k/"),
    ("/k without a slash", b"GET /k HTTP/1.1\r\nHost: h\r\n\r\n", 404, b"keys are under /k/"),
    ("missing key", b"GET /k/never-stored HTTP/1.1\r\nHost: h\r\n\r\n", 404, b"404 Not Found"),
    ("no Host", b"GET /k/x HTTP/1.1\r\n\r\n", 400, b"400 Bad Request"),
    (
        "chunked body",
        b"PUT /k/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        501,
        b"501",
    ),
]


@pytest.mark.parametrize(("what", "request_bytes", "status", "reason"), BAD, ids=[b[0] for b in BAD])
def test_refused(server: Server, what: str, request_bytes: bytes, status: int, reason: bytes) -> None:
    answer = _raw(server, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), (what, answer[:300])
    assert reason in body, (what, body)
    if status == 405:
        assert b"\r\nAllow: " in head


def test_refused_through_curl(server: Server, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (VALUE_MAX + 1))
    assert _curl(server, "-X", "PUT", "--data-binary", f"@{big}", _url(server, "/k/big"))[0] == 413
    assert _curl(server, "-X", "PUT", "--data-binary", "x", _url(server, "/k/" + "k" * 129))[0] == 414
    assert _curl(server, "-X", "PUT", "--data-binary", "x", _url(server, "/k/a%2Fb"))[0] == 400
    assert _curl(server, "-X", "PATCH", "--data-binary", "x", _url(server, "/k/a"))[0] == 405
    assert _curl(server, "-X", "PUT", "-H", "Content-Length:", _url(server, "/k/a"))[0] == 411
    assert _curl(server, _url(server, "/k/absent"))[0] == 404
    # Refused requests stored nothing.
    assert _curl(server, _url(server, "/k/big"))[0] == 404


def test_access_log_and_no_fault(server: Server) -> None:
    _request(server, "GET", "/k/never-stored").read()
    console = server.console()
    assert re.search(r'^kvstore: 10\.0\.2\.2 "GET /k/never-stored HTTP/1\.1" 404 \d+$', console, re.MULTILINE)
    assert "kvstore: volume clean: 0 keys" in console
    assert not FAULT.search(console), console


MAX_CONNECTIONS = 8  # MAX_CONNECTIONS of main.c


def test_beyond_the_limit_a_client_waits_in_the_backlog(server: Server) -> None:
    """Every slot held by a kept-alive client: one more is not refused (no
    503) but waits in the listen backlog, and is answered once a slot frees
    (the connection server of //libos/http, as in examples/httpd)."""
    held: list[socket.socket] = []
    for _ in range(MAX_CONNECTIONS):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        held.append(s)
        s.sendall(b"GET /k/ HTTP/1.1\r\nHost: kv\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")  # served: it holds a slot
    check_waits_in_backlog(
        held,
        lambda: socket.create_connection(("127.0.0.1", server.port), timeout=30),
        b"GET /k/ HTTP/1.1\r\nHost: kv\r\nConnection: close\r\n\r\n",
        server.console,
    )


def test_keys_survive_a_kill(tmp_path: Path) -> None:
    """On a disk of its own: keys stored, QEMU killed (SIGKILL), booted
    again on the same disk file: the keys are there, a deleted one is not."""
    disk = tmp_path / "data.img"
    shutil.copyfile(Path(__file__).parent / "data.img", disk)
    with _boot(disk, tmp_path / "first.log") as first:
        assert _request(first, "PUT", "/k/kept", b"still here").status == 201
        assert _request(first, "PUT", "/k/gone", b"deleted").status == 201
        assert _request(first, "DELETE", "/k/gone").status == 204
    with _boot(disk, tmp_path / "second.log") as second:
        r = _request(second, "GET", "/k/kept")
        assert (r.status, r.read()) == (200, b"still here")
        assert _request(second, "GET", "/k/gone").status == 404
        assert _request(second, "GET", "/k/").read() == b"kept\n"
        assert "kvstore: volume clean: 1 keys" in second.console()


def test_full_volume(tmp_path: Path) -> None:
    """On a disk of its own: 64 KiB values until the 4 MiB volume is full:
    507 with its reason, nothing half stored, and room again after a DELETE."""
    disk = tmp_path / "data.img"
    shutil.copyfile(Path(__file__).parent / "data.img", disk)
    value = random.Random(5).randbytes(VALUE_MAX)
    with _boot(disk, tmp_path / "console.log") as s:
        stored = 0
        for i in range(100):
            r = _request(s, "PUT", f"/k/v{i}", value)
            body = r.read()
            if r.status == 507:
                assert body == b"507 Insufficient Storage: the volume is full\n"
                break
            assert r.status == 201, (i, r.status, body)
            stored += 1
        else:
            pytest.fail("100 values of 64 KiB fitted on a 4 MiB volume")
        assert stored > 10
        assert _request(s, "GET", f"/k/v{stored}").status == 404
        listing = _request(s, "GET", "/k/").read().split()
        assert len(listing) == stored
        assert _request(s, "DELETE", "/k/v0").status == 204
        assert _request(s, "PUT", "/k/v0", value).status == 201
        r = _request(s, "GET", f"/k/v{stored - 1}")
        assert (r.status, r.read()) == (200, value)
