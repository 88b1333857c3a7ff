#!/usr/bin/env python3
"""A client of examples/stream_echo and examples/tcp_echo, over TCP or a vchan.

    stream-client.py tcp ADDRESS[:PORT] [BYTES [CONNECTIONS]]
    stream-client.py vchan DOMID XS_PATH [BYTES [CONNECTIONS]]

The same client logic for both transports (the vchan one through Xen's
libxenvchan, in dom0): BYTES (default 1 MiB) of seeded pseudo-random data
sent on one connection while the echo is read back (both directions at
once), compared byte for byte; then CONNECTIONS (default 20) connections in
turn, each echoing a line that names it. Prints one line per check and
"stream-client: N/N checks passed"; exits 0 only if all passed.

Used in dom0 by tests/xenlab (tcp-echo, stream-vchan) and on the host by
//examples/stream_echo:host_client_test.
"""
from __future__ import annotations

import ctypes
import hashlib
import random
import select
import socket
import subprocess
import sys
import time
from typing import Protocol

TIMEOUT = 90.0  # for one exchange


class Conn(Protocol):
    def send_some(self, data: bytes) -> int: ...
    def recv_some(self) -> bytes | None: ...  # b"": nothing yet; None: closed
    def wait(self, seconds: float) -> None: ...
    def close(self) -> None: ...


class TcpConn:
    def __init__(self, address: str, port: int) -> None:
        self.s = socket.create_connection((address, port), timeout=15)
        self.s.setblocking(False)

    def send_some(self, data: bytes) -> int:
        try:
            return self.s.send(data[:65536])
        except BlockingIOError:
            return 0

    def recv_some(self) -> bytes | None:
        try:
            chunk = self.s.recv(65536)
        except BlockingIOError:
            return b""
        return chunk or None

    def wait(self, seconds: float) -> None:
        select.select([self.s], [self.s], [], seconds)

    def close(self) -> None:
        self.s.close()


class Vchan:
    """Xen's libxenvchan, as dom0 has it."""

    def __init__(self) -> None:
        lib = ctypes.CDLL("libxenvchan.so.4.17")
        lib.libxenvchan_client_init.restype = ctypes.c_void_p
        lib.libxenvchan_client_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p]
        for name in ("libxenvchan_read", "libxenvchan_write"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        for name in ("libxenvchan_data_ready", "libxenvchan_buffer_space", "libxenvchan_fd_for_select",
                     "libxenvchan_wait", "libxenvchan_is_open", "libxenvchan_close"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        self.lib = lib


class VchanConn:
    def __init__(self, vchan: Vchan, domid: int, path: str) -> None:
        self.lib = vchan.lib
        self.ctrl = self.lib.libxenvchan_client_init(None, domid, path.encode())
        if not self.ctrl:
            raise OSError(f"libxenvchan_client_init(dom{domid}, {path}) failed")
        self.fd = self.lib.libxenvchan_fd_for_select(self.ctrl)

    def send_some(self, data: bytes) -> int:
        space = self.lib.libxenvchan_buffer_space(self.ctrl)
        if space <= 0:
            return 0
        chunk = data[:space]
        n = self.lib.libxenvchan_write(self.ctrl, chunk, len(chunk))
        if n < 0:
            raise OSError(f"libxenvchan_write: {n}")
        return n

    def recv_some(self) -> bytes | None:
        ready = self.lib.libxenvchan_data_ready(self.ctrl)
        if ready <= 0:
            return None if self.lib.libxenvchan_is_open(self.ctrl) == 0 else b""
        buf = ctypes.create_string_buffer(ready)
        n = self.lib.libxenvchan_read(self.ctrl, buf, ready)
        if n < 0:
            raise OSError(f"libxenvchan_read: {n}")
        return buf.raw[:n]

    def wait(self, seconds: float) -> None:
        r, _, _ = select.select([self.fd], [], [], seconds)
        if r:
            self.lib.libxenvchan_wait(self.ctrl)

    def close(self) -> None:
        self.lib.libxenvchan_close(self.ctrl)


def exchange(conn: Conn, data: bytes) -> bytes:
    """Send data while reading the echo; returns what came back."""
    got = bytearray()
    sent = 0
    deadline = time.monotonic() + TIMEOUT
    while len(got) < len(data) and time.monotonic() < deadline:
        progressed = False
        if sent < len(data):
            n = conn.send_some(data[sent:])
            sent += n
            progressed |= n > 0
        chunk = conn.recv_some()
        if chunk is None:
            break
        got += chunk
        progressed |= bool(chunk)
        if not progressed:
            conn.wait(0.2)
    return bytes(got)


def differing_runs(diff: list[int]) -> list[tuple[int, int]]:
    """The stretches [start, end) that hold the differing offsets."""
    runs: list[tuple[int, int]] = []
    for i in diff:
        if runs and i - runs[-1][1] < 16:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def bulk(connect, size: int) -> tuple[bool, str]:
    data = random.Random(7).randbytes(size)
    t0 = time.monotonic()
    conn = connect()
    try:
        got = exchange(conn, data)
    finally:
        conn.close()
    secs = time.monotonic() - t0
    if got != data:
        diff = [i for i in range(min(len(got), len(data))) if got[i] != data[i]]
        where = (f"; {len(diff)} bytes differ, the first at offset {diff[0]} (got {got[diff[0]:diff[0] + 8].hex()}, "
                 f"sent {data[diff[0]:diff[0] + 8].hex()}), the last at {diff[-1]}") if diff else ""
        for start, end in differing_runs(diff)[:16]:
            # Each damaged stretch (runs closer than 16 bytes merged), for the record.
            print(f"stream-client: differs at {start}..{end}: got {got[start:min(end, start + 48)].hex()}")
        return False, (f"{len(got)} of {size} bytes came back, sha256 {hashlib.sha256(got).hexdigest()[:16]} "
                       f"!= {hashlib.sha256(data).hexdigest()[:16]}{where}")
    return True, f"{size} bytes echoed in {secs:.2f} s ({size * 2 / secs / 1e6:.2f} MB/s both ways), same bytes"


def many(connect, count: int) -> tuple[bool, str]:
    ok = failed_in_a_row = 0
    for i in range(count):
        if failed_in_a_row == 3:
            print(f"stream-client: giving up after 3 failed connections in a row ({i} tried)")
            break
        line = b"connection %d\n" % i
        try:
            conn = connect()
            try:
                back = exchange(conn, line)
            finally:
                conn.close()
            ok += back == line
            failed_in_a_row = 0 if back == line else failed_in_a_row + 1
            if back != line:
                print(f"stream-client: connection {i}: {back!r}")
        except OSError as e:
            failed_in_a_row += 1
            print(f"stream-client: connection {i}: {e}")
    return ok == count, f"{ok}/{count} connections echoed"


def xenstore_read(path: str) -> str | None:
    r = subprocess.run(["xenstore-read", path], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def await_value(path: str, changed_from: str | None, seconds: float = 30) -> str | None:
    """Wait until the node exists with a value other than changed_from."""
    deadline = time.monotonic() + seconds
    value = xenstore_read(path)
    while (value is None or value == changed_from) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = xenstore_read(path)
    return value


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] not in ("tcp", "vchan") or (argv[1] == "vchan" and len(argv) < 4):
        print("usage: " + __doc__.strip().splitlines()[2].strip() + " | " + __doc__.strip().splitlines()[3].strip())
        return 2
    if argv[1] == "tcp":
        host, _, port = argv[2].partition(":")
        rest = argv[3:]
        connect = lambda: TcpConn(host, int(port or 7))  # noqa: E731
    else:
        domid, path, rest = int(argv[2]), argv[3], argv[4:]
        vchan = Vchan()
        seen: list[str | None] = [None]  # the ring-ref of the last channel used

        def connect() -> VchanConn:
            # A vchan serves one client: after each close the server
            # announces a new channel (new grants) at the same path, often
            # before the old nodes could be seen gone. Wait for new ones.
            seen[0] = await_value(path + "/ring-ref", seen[0])
            await_value(path + "/event-channel", None)
            return VchanConn(vchan, domid, path)

    size = int(rest[0]) if rest else 1 << 20
    count = int(rest[1]) if len(rest) > 1 else 20
    passed = 0
    checks = [("bulk", lambda: bulk(connect, size)), ("connections", lambda: many(connect, count))]
    for name, check in checks:
        try:
            good, what = check()
        except OSError as e:
            good, what = False, str(e)
        print(f"stream-client: {name}: {'ok' if good else 'FAILED'}: {what}", flush=True)
        passed += good
    print(f"stream-client: {passed}/{len(checks)} checks passed")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
