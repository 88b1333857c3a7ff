"""What every volume shares on disk, and the checks names and sizes must pass.

The parameters are fixed here, not chosen per build, so that the same files
always give the same bytes and the guest's littlefs can mount
every volume with one configuration: reads and programs of one 512-byte
sector (the block interface's smallest sector), littlefs's on-disk format
2.1 pinned (a newer library would otherwise write its newest format), names
of at most 255 bytes, and 0xff (littlefs's erased state) in every byte no
file uses.
"""

from __future__ import annotations

from .errors import VolumeError

IO_SIZE = 512
DISK_VERSION = 0x0002_0001
NAME_MAX = 255
LOOKAHEAD_SIZE = 16  # bytes of the allocator's bitmap: 128 blocks per scan
ERASED = 0xFF
MIN_BLOCK_SIZE = 512
MAX_BLOCK_SIZE = 1 << 20
MAX_VOLUME_BYTES = 1 << 30  # built in memory; also the largest disk the QEMU runner makes
SUPERBLOCK_MAGIC = b"littlefs"
SUPERBLOCK_MAGIC_OFFSET = 8  # in block 0: revision (4), tag (4), then the magic


def human(size: int) -> str:
    """4096 -> "4K", 1048576 -> "1M", 1000 -> "1000": the form the `size` attribute takes."""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def check_geometry(size: int, block_size: int) -> int:
    """The block count of a volume of `size` bytes in blocks of `block_size`; errors name the fix."""
    if block_size < MIN_BLOCK_SIZE or block_size > MAX_BLOCK_SIZE or block_size % IO_SIZE:
        raise VolumeError(
            f"block_size = {block_size}: a block is a multiple of {IO_SIZE} bytes from "
            f"{MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE} (4096 suits most uses)"
        )
    if size <= 0 or size > MAX_VOLUME_BYTES:
        raise VolumeError(f"size = {size} bytes: a volume is 1 to {MAX_VOLUME_BYTES} bytes (1G)")
    if size % block_size:
        below, above = size - size % block_size, size - size % block_size + block_size
        raise VolumeError(
            f"size = {size} bytes is not a multiple of block_size = {block_size}; "
            f"use {human(above)}" + (f" or {human(below)}" if below else "")
        )
    return size // block_size


def check_path(path: str) -> tuple[str, ...]:
    """The components of a volume path ("www/index.html"), checked for littlefs."""
    parts = tuple(path.split("/"))
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise VolumeError(f"{path!r} is not a relative path of files and directories inside the volume")
    for part in parts:
        size = len(part.encode("utf-8"))
        if size > NAME_MAX:
            raise VolumeError(
                f"{path!r}: the name {part[:40]!r}... is {size} bytes; littlefs names are at most "
                f"{NAME_MAX} bytes (UTF-8); rename the file"
            )
    return parts
