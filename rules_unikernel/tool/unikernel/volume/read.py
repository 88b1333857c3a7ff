"""A volume image opened for reading: list, read and extract its files.

The image is read into memory once and mounted from that copy, so nothing
here can write to the file (littlefs would, for instance, format a volume
it fails to mount if asked to). Every problem with the image is a
VolumeError in one line.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from littlefs import LFSStat, LittleFS, LittleFSError, UserContext

from . import layout
from .errors import VolumeError

# The superblock's inline struct follows the magic and its tag in block 0:
# version, block_size, block_count, name_max, file_max, attr_max (le32 each).
_SUPERBLOCK_STRUCT = struct.Struct("<6I")
_SUPERBLOCK_STRUCT_OFFSET = layout.SUPERBLOCK_MAGIC_OFFSET + len(layout.SUPERBLOCK_MAGIC) + 4
_MAGIC = slice(layout.SUPERBLOCK_MAGIC_OFFSET, layout.SUPERBLOCK_MAGIC_OFFSET + len(layout.SUPERBLOCK_MAGIC))

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    path: str  # "/www/index.html"; directories end in "/"
    size: int  # bytes; 0 for a directory
    is_dir: bool


@dataclass(frozen=True)
class Geometry:
    block_size: int
    block_count: int
    disk_version: int


def read_geometry(data: bytes, name: str) -> Geometry:
    """Block size and count from the superblock in block 0, checked against the file's size."""
    end = _SUPERBLOCK_STRUCT_OFFSET + _SUPERBLOCK_STRUCT.size
    if len(data) < end or data[_MAGIC] != layout.SUPERBLOCK_MAGIC:
        raise VolumeError(
            f'{name} is not a littlefs volume: no "littlefs" superblock at offset '
            f"{layout.SUPERBLOCK_MAGIC_OFFSET} ({len(data)} bytes); give a volume built by unikernel_volume"
        )
    version, block_size, block_count, *_ = _SUPERBLOCK_STRUCT.unpack_from(data, _SUPERBLOCK_STRUCT_OFFSET)
    if block_size < 128 or block_count < 2 or block_size * block_count != len(data):
        raise VolumeError(
            f"{name}: its superblock says {block_count} blocks of {block_size} bytes, but the file has "
            f"{len(data)} bytes; the volume is truncated or corrupt"
        )
    return Geometry(block_size, block_count, version)


class Volume:
    """A mounted, read-only view of a volume image."""

    def __init__(self, data: bytes, name: str) -> None:
        self.name = name
        self.geometry = read_geometry(data, name)
        self._fs = LittleFS(
            context=UserContext(buffer=bytearray(data)),
            mount=False,
            block_size=self.geometry.block_size,
            block_count=self.geometry.block_count,
            read_size=layout.IO_SIZE if self.geometry.block_size % layout.IO_SIZE == 0 else 1,
            prog_size=layout.IO_SIZE if self.geometry.block_size % layout.IO_SIZE == 0 else 1,
            lookahead_size=layout.LOOKAHEAD_SIZE,
        )
        self._call("mount the volume", "/", self._fs.mount)

    def _call(self, doing: str, path: str, action: Callable[..., T], *args: object) -> T:
        """littlefs's errors as one line each, naming the path."""
        try:
            return action(*args)
        except LittleFSError as error:
            if error.code == LittleFSError.Error.LFS_ERR_NOENT:
                raise VolumeError(
                    f"{self.name}: no {path} in the volume (see `unikernel volume ls`)"
                ) from None
            if error.code == LittleFSError.Error.LFS_ERR_NOTDIR:
                raise VolumeError(f"{self.name}: {path} is a file, not a directory") from None
            if error.code == LittleFSError.Error.LFS_ERR_ISDIR:
                raise VolumeError(f"{self.name}: {path} is a directory; `ls` lists it") from None
            raise VolumeError(
                f"{self.name}: cannot {doing} ({error.name}): the volume is corrupt or not littlefs"
            ) from None

    def is_dir(self, path: str) -> bool:
        path = _normal(path)
        return path == "/" or self._call("stat", path, self._fs.stat, path).type == LFSStat.TYPE_DIR

    def ls(self, path: str = "/") -> list[Entry]:
        """Everything under `path` (a directory or a file), in path order; directories end in "/"."""
        path = _normal(path)
        if not self.is_dir(path):
            return [Entry(path, self._call("stat", path, self._fs.stat, path).size, False)]
        entries: list[Entry] = []
        for name in sorted(self._call("list", path, self._fs.listdir, path)):
            child = path.rstrip("/") + "/" + name
            stat = self._call("stat", child, self._fs.stat, child)
            if stat.type == LFSStat.TYPE_DIR:
                entries.append(Entry(child + "/", 0, True))
                entries.extend(self.ls(child))
            else:
                entries.append(Entry(child, stat.size, False))
        return entries

    def cat(self, path: str) -> bytes:
        path = _normal(path)
        if self.is_dir(path):
            raise VolumeError(f"{self.name}: {path} is a directory; `ls` lists it")

        def read() -> bytes:
            with self._fs.open(path, "rb") as f:
                return f.read()

        return self._call("read", path, read)

    def extract(self, path: str, destination: Path) -> list[Path]:
        """Writes the files under `path` below `destination`; refuses to overwrite anything."""
        path = _normal(path)
        files = [e for e in self.ls(path) if not e.is_dir]
        base = path.rstrip("/") if self.is_dir(path) else path.rsplit("/", 1)[0]
        targets = [destination / e.path[len(base) :].lstrip("/") for e in files]
        for target in targets:
            if target.exists():
                raise VolumeError(f"extract: {target} exists; remove it or extract into another directory")
        written = []
        for entry, target in zip(files, targets, strict=True):
            data = self.cat(entry.path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            except OSError as error:
                raise VolumeError(f"extract: cannot write {target}: {error.strerror or error}") from None
            written.append(target)
        return written


def _normal(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise VolumeError(f"{path!r}: '..' is not a path inside the volume")
    return "/" + "/".join(parts)


def open_volume(path: Path, name: str | None = None) -> Volume:
    shown = name or str(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise VolumeError(f"{shown} is a directory, not a volume image") from None
    except OSError as error:
        raise VolumeError(f"cannot read {shown}: {error.strerror or error}") from None
    return Volume(data, shown)
