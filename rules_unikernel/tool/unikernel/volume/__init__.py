"""unikernel.volume: littlefs disk images built from files, and read back.

    build.py   files (destination path -> source file) into a byte-reproducible littlefs image
    read.py    open an image (ls, cat, extract) without ever writing to it
    layout.py  the on-disk parameters every volume shares, and the checks on names and sizes

Bazel's unikernel_volume runs ``python -m unikernel.volume`` (``__main__``);
``unikernel volume ls|cat|extract`` (unikernel.cli) reads what it built.
"""

from .build import VolumeSpec, build_volume, plan_files
from .errors import VolumeError
from .read import Volume, open_volume

__all__ = ["Volume", "VolumeError", "VolumeSpec", "build_volume", "open_volume", "plan_files"]
