#!/usr/bin/env python3
"""Reproducibility check: the example images are byte-identical when built in
two checkouts at different paths with different Bazel output bases.

Run from anywhere inside the repository (CI runs it after `bazel test //...`):
    python3 tests/repro/check_repro.py [--keep] [TARGET ...]   (default: every image)

It copies the tracked files (git ls-files, plus uncommitted changes to them)
into two fresh directories, builds the targets in each with its own
--output_base, and compares the sha256 of every output file. The second
build fetches zig and the Python packages again through pip, whose own cache
makes that cheap (docs/dependencies.md).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Every unikernel image and volume in the repository (manual ones are deliberately broken).
ALL_IMAGES = (
    "kind('unikernel_(image|volume)_rule', //...) except attr(tags, manual, //...)"
)


def repo_root() -> Path:
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).parent)
    return Path(out.stdout.strip())


def copy_checkout(src: Path, dst: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True, cwd=src).stdout.split(b"\0")
    for name in filter(None, files):
        rel = Path(name.decode())
        if not (src / rel).exists():
            continue  # deleted in the working tree
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dst / rel, follow_symlinks=False)


def build(workspace: Path, output_base: Path, targets: list[str]) -> dict[str, str]:
    """Builds targets; returns {workspace-relative output path: sha256}."""
    cmd = ["bazel", f"--output_base={output_base}", "build", "--color=no", "--curses=no",
           "--show_result=1000", *targets]
    proc = subprocess.run(cmd, cwd=workspace, check=True, capture_output=True, text=True)
    # Bazel lists each target's outputs as indented lines after "up-to-date:".
    outputs = [line.strip() for line in proc.stderr.splitlines() if line.startswith("  bazel-")]
    digests = {}
    for rel in outputs:
        data = (workspace / rel).read_bytes()
        # Strip the configuration directory (it embeds a hash of the build
        # options, identical in both builds anyway) so the names line up.
        digests[rel.split("/bin/", 1)[-1]] = hashlib.sha256(data).hexdigest()
    return digests


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("targets", nargs="*", help="default: every unikernel_image and unikernel_volume in the repository")
    p.add_argument("--keep", action="store_true", help="keep the two checkouts for inspection")
    args = p.parse_args()

    root = repo_root()
    if not args.targets:
        q = subprocess.run(["bazel", "query", "--output=label", ALL_IMAGES], cwd=root,
                           capture_output=True, text=True, check=True)
        args.targets = q.stdout.split()
    tmp = Path(tempfile.mkdtemp(prefix="unikernel-repro-"))
    results = []
    try:
        for i, name in enumerate(["first-checkout", "second/checkout-at-another-depth"]):
            ws = tmp / name
            ob = tmp / f"output-base-{i}"
            ws.mkdir(parents=True)
            copy_checkout(root, ws)
            print(f"repro: building {' '.join(args.targets)} in {ws}", flush=True)
            try:
                results.append(build(ws, ob, args.targets))
            finally:
                subprocess.run(["bazel", f"--output_base={ob}", "shutdown"], cwd=ws,
                               capture_output=True, check=False)
    except subprocess.CalledProcessError as e:
        print((e.stderr or "")[-4000:])
        print(f"repro: FAIL: {' '.join(map(str, e.cmd))} exited {e.returncode}")
        return 1
    finally:
        if args.keep:
            print(f"repro: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    first, second = results
    if not first:
        print("repro: FAIL: the targets produced no files")
        return 1
    bad = 0
    for rel in sorted(set(first) | set(second)):
        a, b = first.get(rel), second.get(rel)
        same = a == b
        bad += not same
        print(f"repro: {'same' if same else 'DIFFERENT'}  {rel}  {a}  {b if not same else ''}".rstrip())
    if bad:
        print(f"repro: FAIL: {bad} of {len(first)} outputs differ; "
              "rerun with --keep and compare the two trees (see docs/reproducibility.md)")
        return 1
    print(f"repro: PASS: {len(first)} outputs byte-identical across two checkouts and output bases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
