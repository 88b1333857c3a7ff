"""What the side-by-side benchmarks (appliances.py, blk.py) share: the
workspace root, their one-line error, and the Linux guest's clock arguments."""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path


def workspace() -> Path:
    """The workspace root: `bazel run` says where it is."""
    return Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", Path(__file__).resolve().parent.parent))


class BenchError(Exception):
    """A problem the user fixes (a missing build, tool or guest): one line, no traceback."""


def linux_clock_args() -> str:
    """Debian's kernel finds no timer to calibrate the TSC against on microvm
    (no PIT, HPET or PM timer under TCG) and stops at boot; told the TSC's
    frequency (TCG's TSC counts at the host's rate) it needs none."""
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    if not mhz:
        raise BenchError("/proc/cpuinfo gives no 'cpu MHz' for the Linux guest's TSC frequency")
    return f"tsc_early_khz={int(float(mhz.group(1)) * 1000)} tsc=reliable no_timer_check"


def median(values: list[float]) -> float:
    """The median of the measured values (a run that gave up is NaN and left out)."""
    kept = [v for v in values if v == v]
    return statistics.median(kept) if kept else float("nan")
