"""stream_echo over TCP, served to tests/xenlab/stream-client.py on the host.

The same client the lab runs in dom0 against the vchan image: 1 MiB both
ways at once, compared byte for byte, then 20 connections in turn. Here the
image boots in QEMU with its port 7 forwarded to a port of 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from unikernel import qemu

BOOT_SECONDS = 120


def _image() -> Path:
    paths = [Path(p) for p in os.environ["IMAGE"].split()]
    (elf,) = [p for p in paths if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
    return elf


def test_the_labs_client_over_tcp(tmp_path: Path) -> None:
    port = qemu.free_port("tcp")
    machine = qemu.Machine(_image(), cmdline="ip=10.0.2.15/24 gw=10.0.2.2", machine="microvm",
                           nics=("user",), forwards=(qemu.Forward("tcp", port, 7),))
    with qemu.booted(machine, tmp_path / "console.log", "stream_echo: serving port 7 over tcp", BOOT_SECONDS):
        client = subprocess.run([sys.executable, os.environ["CLIENT"], "tcp", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, timeout=240)
        print(client.stdout)
        assert client.returncode == 0, client.stdout + client.stderr
        assert "stream-client: 2/2 checks passed" in client.stdout
