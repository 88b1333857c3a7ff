#!/usr/bin/env python3
"""A deliberately mis-targeted build must fail analysis with an actionable message.

Builds an image with C toolchain resolution turned off (the Bazel < 7 default,
where the host gcc would silently compile the unikernel) and checks that
`bazel build` fails and names the cause and the fix. The analysis test
//tests/analysis:mistargeted_image_test covers the other way to get there (a
foreign toolchain registered for the platform); Bazel cannot flip an
--incompatible_* flag inside an analysis test, hence this separate check.
"""

import subprocess
import sys
from pathlib import Path

TARGET = "//tests/analysis:mistargeted_image"
MUST_SAY = [
    "not rules_unikernel's freestanding zig toolchain",
    "--incompatible_enable_cc_toolchain_resolution",
]


def main() -> int:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        ["bazel", "build", "--color=no", "--curses=no",
         "--noincompatible_enable_cc_toolchain_resolution", TARGET],
        cwd=root, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        print(f"mistarget: FAIL: {TARGET} built without the freestanding toolchain")
        return 1
    missing = [m for m in MUST_SAY if m not in out]
    if missing:
        print(out)
        print(f"mistarget: FAIL: the error does not say {missing}")
        return 1
    line = next(line for line in out.splitlines() if MUST_SAY[0] in line)
    print(f"mistarget: PASS: {line.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
