"""A read-write volume is attached as a copy: the guest's write lands in the
copy (kept with --keep-disks) and never in the build output."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path("tests/volume")
MARK = b"written by the guest"


def test_the_guest_writes_the_copy_not_the_build_output(tmp_path: Path) -> None:
    built = HERE / "scratch.img"
    pristine = (HERE / "site_again.img").read_bytes()  # the same files, another action
    assert built.read_bytes() == pristine
    keep = tmp_path / "disks"
    result = subprocess.run(
        [
            os.environ["RUNNER"],
            "--image", str(HERE / "volume_rw_image.elf"),
            "--cmdline", "rw",
            "--volume", f"rw:{built}",
            "--keep-disks", str(keep),
            "--timeout", "60",
            "--expect", "^volume: last sector written, flushed and read back$",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    copy = (keep / "scratch.img").read_bytes()
    assert copy[-512:].startswith(MARK)
    assert copy[:-512] == pristine[:-512]
    assert built.read_bytes() == pristine
