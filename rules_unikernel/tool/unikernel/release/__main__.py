"""``python -m unikernel.release --spec SPEC --output OUT.tar``: the UnikernelRelease action."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .bundle import write_bundle
from .errors import ReleaseError
from .spec import load_spec


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unikernel-release", description="Write a release bundle.")
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        write_bundle(load_spec(args.spec), args.output)
    except ReleaseError as error:
        print(f"unikernel_release: error: {error.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
