"""Heap and thread-stack placement changes from boot to boot of one image."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path

IMAGE = Path("tests/placement/placement_image.elf")
BOOTS = 4
LINE = re.compile(r"^placement: (heap block|heap span|thread stack) 0x([0-9a-f]+)$", re.M)
REPORT = re.compile(
    r"^\[boot\] randomised at boot: heap (\d+\.\d\d) bits \(1 of (\d+) extents\), "
    r"stacks (\d+\.\d\d) bits \(1 of (\d+) extents, 1 of (\d+) pages, 1 of (\d+) slots\)$",
    re.MULTILINE,
)


def boot() -> dict[str, int]:
    result = subprocess.run(
        [os.environ["RUNNER"], "--image", str(IMAGE), "--exit-code", "0", "--timeout", "60"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = {name: int(value, 16) for name, value in LINE.findall(result.stdout)}
    assert set(found) == {"heap block", "heap span", "thread stack"}, result.stdout
    reports = REPORT.findall(result.stdout)
    assert len(reports) == 1, result.stdout
    heap, extents, stacks, stack_extents, pages, slots = reports[0]
    found["report"] = (float(heap), int(extents), float(stacks), int(stack_extents), int(pages), int(slots))
    return found


def test_placement_changes_between_boots():
    boots = [boot() for _ in range(BOOTS)]
    for what in ("heap block", "heap span", "thread stack"):
        places = [b[what] for b in boots]
        # The heap has log2(usable extents) bits (6 with the runner's
        # 128 MiB): four equal draws happen with probability ~2^-18.
        # Stacks add a page offset and a slot order on top.
        assert len(set(places)) > 1, f"{what} at the same place in {BOOTS} boots: {places}"


def test_boot_reports_the_bits_it_drew():
    heap, extents, stacks, stack_extents, pages, slots = boot()["report"]
    # 128 MiB of RAM: ~60 usable 2 MiB extents once the image, low memory and
    # page tables are out; 16 stacks of 36 KiB leave ~368 pages of slack.
    assert 32 <= extents <= 64 and stack_extents == extents
    assert pages > 1 and slots == 16
    assert heap == math.floor(100 * math.log2(extents)) / 100 or abs(heap - math.log2(extents)) < 0.011
    want = math.log2(extents) + math.log2(pages) + math.log2(slots)
    assert abs(stacks - want) < 0.03, (stacks, want)


def test_manifest_states_what_is_drawn_at_boot():
    manifest = json.loads(IMAGE.with_name("placement_image.manifest.json").read_text())
    boot = manifest["boot_randomisation"]
    assert boot["heap"] == {**boot["heap"], "randomised": True, "bits": "log2(E)"}
    assert boot["stacks"]["randomised"] is True
    assert boot["stacks"]["bits"] == "log2(E) + log2(P) + log2(S)"


def test_places_are_in_ram_outside_the_image():
    b = boot()
    b.pop("report")
    # Extents start at 2 MiB; the runner gives the guest 128 MiB.
    for what, address in b.items():
        assert 2 << 20 <= address < 128 << 20, (what, hex(address))
    # A 64-byte block and a 3 MiB span never share an extent (roles and
    # spans own whole extents).
    assert b["heap block"] >> 21 != b["heap span"] >> 21
