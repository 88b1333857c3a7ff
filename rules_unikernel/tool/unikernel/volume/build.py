"""Files into a littlefs image, the same bytes every time.

Reproducible by construction: littlefs stores no timestamps, owners or
modes; the files are written in the order of their destination paths
(directories before what they hold), each in the same fixed-size chunks;
the configuration is layout.py's; every byte no file uses keeps the erased
value. So the image depends only on the paths, the file contents, the size
and the block size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from littlefs import LittleFS, LittleFSError, UserContext

from . import layout
from .errors import VolumeError

CHUNK = 1 << 16  # bytes per littlefs write; fixed, as part of what makes the bytes the same


@dataclass(frozen=True)
class VolumeFile:
    """One file of a volume: where it goes and where its bytes come from."""

    path: str  # inside the volume, relative: "www/index.html"
    source: Path


@dataclass(frozen=True)
class VolumeSpec:
    size: int  # bytes of the image
    block_size: int
    files: tuple[VolumeFile, ...]  # in plan_files's order

    @property
    def block_count(self) -> int:
        return layout.check_geometry(self.size, self.block_size)


def plan_files(files: Iterable[tuple[str, Path]]) -> tuple[VolumeFile, ...]:
    """The files in writing order, after checking no two claim one path.

    Two files on one path, or a file where another file's directory must
    be ("a" and "a/b"), are errors naming both sources.
    """
    by_path: dict[str, VolumeFile] = {}
    for path, source in files:
        layout.check_path(path)
        f = VolumeFile(path, Path(source))
        if path in by_path:
            raise VolumeError(
                f"two files go to {path!r} in the volume: {by_path[path].source} and {source}; "
                "drop one or change strip_prefix"
            )
        by_path[path] = f
    for path, f in by_path.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in by_path:
                raise VolumeError(
                    f"{parent!r} in the volume is the file {by_path[parent].source} and also the "
                    f"directory of {f.source} ({path!r}); drop one or change strip_prefix"
                )
    return tuple(sorted(by_path.values(), key=lambda f: f.path.split("/")))


def _read_sources(files: tuple[VolumeFile, ...]) -> list[bytes]:
    contents = []
    for f in files:
        if f.source.is_dir():
            raise VolumeError(f"{f.source} is a directory; list the files in it (e.g. with glob) instead")
        try:
            contents.append(f.source.read_bytes())
        except OSError as error:
            raise VolumeError(f"cannot read {f.source}: {error.strerror or error}") from None
    return contents


def _format(spec: VolumeSpec, contents: list[bytes], block_count: int) -> bytearray:
    """The image with `block_count` blocks; LittleFSError when the files do not fit."""
    buffer = bytearray([layout.ERASED]) * (block_count * spec.block_size)
    fs = LittleFS(
        context=UserContext(buffer=buffer),
        mount=False,
        block_size=spec.block_size,
        block_count=block_count,
        read_size=layout.IO_SIZE,
        prog_size=layout.IO_SIZE,
        cache_size=layout.IO_SIZE,
        lookahead_size=layout.LOOKAHEAD_SIZE,
        name_max=layout.NAME_MAX,
        disk_version=layout.DISK_VERSION,
    )
    fs.format()
    fs.mount()
    made: set[str] = set()
    for f, data in zip(spec.files, contents, strict=True):
        parts = f.path.split("/")
        for i in range(1, len(parts)):
            directory = "/".join(parts[:i])
            if directory not in made:
                fs.mkdir(directory)
                made.add(directory)
        with fs.open(f.path, "wb", buffering=0) as out:
            for offset in range(0, len(data), CHUNK):
                out.write(data[offset : offset + CHUNK])
    fs.unmount()
    return buffer


def _fits(spec: VolumeSpec, contents: list[bytes], block_count: int) -> bool:
    try:
        _format(spec, contents, block_count)
    except LittleFSError as error:
        if error.code == LittleFSError.Error.LFS_ERR_NOSPC:
            return False
        raise
    return True


def _needed_blocks(spec: VolumeSpec, contents: list[bytes], too_few: int) -> int | None:
    """A block count the files fit in (more than `too_few`), or None above the largest volume.

    Exact up to 1024 blocks, within 0.1% above that: each try is a whole
    build, so a large volume stops searching once the answer is that close.
    """
    most = layout.MAX_VOLUME_BYTES // spec.block_size
    data_blocks = sum(-(-len(c) // spec.block_size) for c in contents)
    low = max(too_few, data_blocks + 1)  # the superblock pair alone takes 2 blocks
    high = low + low // 16 + 4
    while not _fits(spec, contents, min(high, most)):
        if high >= most:
            return None
        low, high = high, high * 2
    high = min(high, most)
    while high - low > max(1, high // 1024):
        middle = (low + high) // 2
        if _fits(spec, contents, middle):
            high = middle
        else:
            low = middle
    return high


def build_volume(spec: VolumeSpec) -> bytes:
    """The image's bytes, or a VolumeError (files that do not fit name the size they need)."""
    block_count = spec.block_count
    contents = _read_sources(spec.files)
    try:
        return bytes(_format(spec, contents, block_count))
    except LittleFSError as error:
        if error.code != LittleFSError.Error.LFS_ERR_NOSPC:
            raise VolumeError(f"littlefs refused the volume: {error}") from None
    total = sum(len(c) for c in contents)
    needed = _needed_blocks(spec, contents, block_count)
    what = f"{len(spec.files)} files ({total} bytes)"
    if needed is None:
        raise VolumeError(
            f"{what} do not fit in size = {layout.human(spec.size)}, nor in the largest volume "
            f"({layout.human(layout.MAX_VOLUME_BYTES)}); split them over several volumes"
        )
    raise VolumeError(
        f"{what} do not fit in size = {layout.human(spec.size)} ({block_count} blocks of "
        f"{spec.block_size} bytes); they fit in {needed} blocks, {needed * spec.block_size} bytes: "
        f'set size = "{layout.human(needed * spec.block_size)}" or more (room for what the guest writes)'
    )
