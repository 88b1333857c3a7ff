"""tcp_echo served to a client on the host, through QEMU's user network.

The image boots on -M microvm with a virtio-net NIC on QEMU's user network
and a host port of 127.0.0.1 forwarded to its port 7 (the runner's
`--forward`, as `bazel run :image.qemu` does); Python sockets on the host
are the client: 10 MB through one connection in both directions at once
with its SHA-256 checked, and 200 connections opened, echoed and closed.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from unikernel import qemu

BOOT_SECONDS = 120
IO_TIMEOUT = 60.0


def _image() -> Path:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    return elf


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Boots the image with a forwarded port; yields that host port."""
    port = qemu.free_port("tcp")
    machine = qemu.Machine(
        _image(),
        cmdline="ip=10.0.2.15/24 gw=10.0.2.2",
        machine="microvm",
        nics=("user",),
        forwards=(qemu.Forward("tcp", port, 7),),
    )
    log = tmp_path_factory.mktemp("qemu") / "console.log"
    with qemu.booted(machine, log, "tcp_echo: listening on port 7", BOOT_SECONDS):
        yield port


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    s.settimeout(IO_TIMEOUT)
    return s


def test_ten_megabytes_both_ways_at_once(server: int) -> None:
    data = random.Random(20261206).randbytes(10 << 20)
    received = hashlib.sha256()
    got = 0
    with _connect(server) as s:
        sender = threading.Thread(target=s.sendall, args=(data,))
        sender.start()
        while got < len(data):
            chunk = s.recv(1 << 16)
            assert chunk, f"the server closed after {got} of {len(data)} bytes"
            received.update(chunk)
            got += len(chunk)
        sender.join()
    assert got == len(data)
    assert received.hexdigest() == hashlib.sha256(data).hexdigest()


def test_two_hundred_connections(server: int) -> None:
    for i in range(200):
        message = f"connection {i}\n".encode()
        with _connect(server) as s:
            s.sendall(message)
            back = b""
            while len(back) < len(message):
                chunk = s.recv(4096)
                assert chunk, f"connection {i}: closed after {back!r}"
                back += chunk
        assert back == message
