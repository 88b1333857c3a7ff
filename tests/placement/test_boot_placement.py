"""Heap and thread-stack placement changes from boot to boot of one image."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

IMAGE = Path("tests/placement/placement_image.elf")
BOOTS = 4
LINE = re.compile(r"^placement: (heap block|heap span|thread stack) 0x([0-9a-f]+)$", re.M)


def boot() -> dict[str, int]:
    result = subprocess.run(
        [os.environ["RUNNER"], "--image", str(IMAGE), "--exit-code", "0", "--timeout", "60"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = {name: int(value, 16) for name, value in LINE.findall(result.stdout)}
    assert set(found) == {"heap block", "heap span", "thread stack"}, result.stdout
    return found


def test_placement_changes_between_boots():
    boots = [boot() for _ in range(BOOTS)]
    for what in ("heap block", "heap span", "thread stack"):
        places = [b[what] for b in boots]
        # The heap has log2(usable extents) bits (6 with the runner's
        # 128 MiB): four equal draws happen with probability ~2^-18.
        # Stacks add a page offset and a slot order on top.
        assert len(set(places)) > 1, f"{what} at the same place in {BOOTS} boots: {places}"


def test_places_are_in_ram_outside_the_image():
    b = boot()
    # Extents start at 2 MiB; the runner gives the guest 128 MiB.
    for what, address in b.items():
        assert 2 << 20 <= address < 128 << 20, (what, hex(address))
    # A 64-byte block and a 3 MiB span never share an extent (roles and
    # spans own whole extents).
    assert b["heap block"] >> 21 != b["heap span"] >> 21
