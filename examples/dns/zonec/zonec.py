"""zonec: compiles a zone file into the C tables of <dns/zone.h> (the dns_zone rule's action).

    zonec.py --origin example.test. --out zone.c [--name label] zone.db

A bad zone stops it with one line, `zonec: file:line: problem (fix)`, exit
status 1, and no output file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compile import compile_zone, emit_c
from zone import ZoneError, read


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="zonec", description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path, help="the zone file (master-file syntax)")
    p.add_argument("--origin", required=True, help="the zone's apex, absolute (example.test.)")
    p.add_argument("--out", required=True, type=Path, help="the C file to write")
    p.add_argument("--name", help="how errors name the zone file (default: its path)")
    args = p.parse_args(argv)
    display = args.name or str(args.src)
    try:
        if not args.src.is_file():
            raise ZoneError(f"{display}: no such file (check the dns_zone's src)")
        text = emit_c(compile_zone(read(args.src, args.origin, display)), display)
    except ZoneError as e:
        print(f"zonec: {e}", file=sys.stderr)
        return 1
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
