#!/usr/bin/env python3
"""End-to-end: a separate workspace consumes rules_unikernel as an external
repository (tests/e2e/consumer), builds an image from its own cc_library and
boots it with unikernel_test. Catches what in-repo tests cannot: labels that
only resolve inside this repository, missing visibility, repository names.
"""

import subprocess
import sys
from pathlib import Path


def main() -> int:
    ws = Path(__file__).resolve().parent / "consumer"
    try:
        cmd = ["bazel", "test", "--color=no", "--curses=no", "--symlink_prefix=/", "//app:all"]
        proc = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, check=False)
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            print(out[-6000:])
            print("consumer: FAIL: `bazel test //app:all` in tests/e2e/consumer failed")
            return 1
        print("consumer: PASS: an external workspace built and booted its image")
        return 0
    finally:
        subprocess.run(["bazel", "shutdown"], cwd=ws, capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
