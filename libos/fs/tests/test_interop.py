"""Images written by //libos/fs and by the Python littlefs package (the
locked littlefs-python, which unikernel volumes are built with) are read
by the other, byte for byte, through the host tool fs_interop."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import littlefs
import pytest

TOOL = Path(os.environ["FS_INTEROP"])


def make_tree(root: Path, seed: int) -> dict[str, bytes]:
    """A seeded tree: nested directories, empty, small (inline in
    littlefs's metadata) and multi-block files. Returns path -> bytes."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    dirs = ["", "etc", "etc/ssl", "var", "var/www", "var/www/static"]
    for d in dirs[1:]:
        (root / d).mkdir(parents=True, exist_ok=True)
    sizes = [0, 1, 100, 511, 512, 4095, 4096, 4097, 20000, 70000]
    for i in range(24):
        d = rng.choice(dirs)
        name = f"{d}/f{i:02d}.bin".lstrip("/")
        size = sizes[i % len(sizes)] if i < len(sizes) else rng.randrange(0, 30000)
        data = rng.randbytes(size)
        (root / name).write_bytes(data)
        files[name] = data
    return files


def read_host_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def host_dirs(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def python_image(files: dict[str, bytes], dirs: set[str], block_size: int, size: int) -> bytes:
    fs = littlefs.LittleFS(block_size=block_size, block_count=size // block_size)
    for d in sorted(dirs):
        fs.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with fs.open(name, "wb") as f:
            f.write(data)
    fs.unmount()
    return bytes(fs.context.buffer)


def python_read(image: bytes, block_size: int) -> tuple[dict[str, bytes], set[str]]:
    ctx = littlefs.UserContext(buffer=bytearray(image))
    fs = littlefs.LittleFS(
        context=ctx, block_size=block_size, block_count=len(image) // block_size, mount=False
    )
    fs.mount()
    files: dict[str, bytes] = {}
    dirs: set[str] = set()
    for top, subdirs, names in fs.walk("/"):
        prefix = top.strip("/")
        dirs.update(f"{prefix}/{d}".strip("/") for d in subdirs)
        for name in names:
            path = f"{prefix}/{name}".strip("/")
            with fs.open(path, "rb") as f:
                files[path] = f.read()
    fs.unmount()
    return files, dirs


@pytest.mark.parametrize("block_size", [512, 1024, 4096])
def test_python_image_read_by_libos_fs(tmp_path: Path, block_size: int) -> None:
    src = tmp_path / "src"
    src.mkdir()
    files = make_tree(src, seed=block_size)
    image = tmp_path / "python.img"
    image.write_bytes(python_image(files, host_dirs(src), block_size, 1 << 20))

    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run([TOOL, "extract", image, out], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert f"blocks of {block_size} bytes" in run.stdout
    assert read_host_tree(out) == files
    assert host_dirs(out) == host_dirs(src)


def test_libos_fs_image_read_by_python(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    files = make_tree(src, seed=7)
    image = tmp_path / "ours.img"
    run = subprocess.run(
        [TOOL, "build", image, str(1 << 20), src], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    data = image.read_bytes()
    assert len(data) == 1 << 20

    got, dirs = python_read(data, block_size=4096)  # fs_format's default
    assert got == files
    assert dirs == host_dirs(src)
