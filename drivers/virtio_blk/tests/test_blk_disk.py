"""virtio-blk's writes reach the disk file: after QEMU exits, the host
reads the raw image the guest wrote and flushed, byte by byte."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

IMAGE = Path("drivers/virtio_blk/tests/blk_image.elf")
DISK_BYTES = 1 << 20
SECTOR = 512
# What blk_boot_test.c writes: (offset, length) in bytes.
WRITTEN = [(4096, 65536), (131072, 8 * 4096), (DISK_BYTES - SECTOR, SECTOR)]


def pattern_at(off: int) -> int:
    """The byte blk_boot_test.c writes at disk offset `off`."""
    return (off * 7 + (off >> 9) + 1) & 0xFF


def expected_disk() -> bytes:
    disk = bytearray(DISK_BYTES)
    for start, length in WRITTEN:
        disk[start : start + length] = bytes(pattern_at(o) for o in range(start, start + length))
    return bytes(disk)


@pytest.mark.parametrize("machine", ["microvm", "pc"])
def test_flushed_writes_are_in_the_disk_file(machine: str, tmp_path: Path) -> None:
    disks = tmp_path / "disks"
    result = subprocess.run(
        [
            os.environ["RUNNER"],
            "--image", str(IMAGE),
            "--machine", machine,
            "--disk", "1M",
            "--keep-disks", str(disks),
            "--exit-code", "0",
            "--timeout", "60",
            "--expect", "^blk: 98816 bytes written, flushed and read back$",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = (disks / "disk0.raw").read_bytes()
    assert len(data) == DISK_BYTES
    want = expected_disk()
    if data != want:
        first = next(i for i in range(DISK_BYTES) if data[i] != want[i])
        pytest.fail(f"disk byte {first:#x} is {data[first]:#04x}, want {want[first]:#04x}")
