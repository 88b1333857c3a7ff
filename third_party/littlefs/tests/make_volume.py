"""Writes a littlefs volume with the Python `littlefs` package (the locked
littlefs-python wheel), for littlefs_test to read with @littlefs's C code:
volumes built at build time must be readable by the image's filesystem.

    make_volume.py OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

import littlefs

# The geometry and contents littlefs_test.c expects (VOLUME_* there).
BLOCK_SIZE = 512
BLOCK_COUNT = 64
MOTD = "written at build time by littlefs-python\n"


def build_volume() -> bytes:
    fs = littlefs.LittleFS(
        block_size=BLOCK_SIZE,
        block_count=BLOCK_COUNT,
        read_size=16,
        prog_size=16,
        cache_size=64,
        lookahead_size=16,
    )
    fs.mkdir("etc")
    with fs.open("etc/motd", "w") as f:
        f.write(MOTD)
    fs.unmount()
    return bytes(fs.context.buffer)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_volume.py OUT", file=sys.stderr)
        return 2
    Path(argv[0]).write_bytes(build_volume())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
