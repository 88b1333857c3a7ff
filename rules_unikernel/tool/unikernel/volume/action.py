"""Build one volume image: the unikernel_volume action (``python -m unikernel.volume``).

    --files FILES.json   [[path in the volume, source file], ...] as unikernel_volume wrote it
    --size BYTES --block-size BYTES --output IMAGE

On any error: one line ``unikernel-volume: error: <message>`` on stderr,
status 1, and no output file (the image is written beside it and renamed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .build import VolumeSpec, build_volume, plan_files
from .errors import VolumeError

PROGRAM = "unikernel-volume"


def _files(path: Path) -> list[tuple[str, Path]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise VolumeError(f"cannot read the file list {path}: {error}") from None
    if not isinstance(entries, list) or not all(
        isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in entries
    ):
        raise VolumeError(f"{path}: expected a JSON list of [path in the volume, source file] pairs")
    return [(dest, Path(source)) for dest, source in entries]


def _write(output: Path, data: bytes) -> None:
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise VolumeError(f"cannot write {output}: {error.strerror or error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=Path, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--block-size", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        args.output.unlink(missing_ok=True)  # no image from an earlier run survives a failure
        spec = VolumeSpec(args.size, args.block_size, plan_files(_files(args.files)))
        _write(args.output, build_volume(spec))
    except VolumeError as error:
        print(f"{PROGRAM}: error: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
