"""unikernel.volume: the images unikernel_volume builds, read back, and every error a user can make.

Real littlefs on both sides (the locked littlefs-python), no mocks: images
are built from files on disk and read back by mounting them.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from unikernel.cli import main as cli_main
from unikernel.volume import VolumeError, VolumeSpec, action, build_volume, layout, open_volume, plan_files

SEED = 13


def write_tree(root: Path, files: dict[str, bytes]) -> list[tuple[str, Path]]:
    out = []
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append((name, path))
    return out


def random_files(seed: int, count: int = 40) -> dict[str, bytes]:
    """Nested files of 0 bytes to 3 blocks (inline, one block, several), names with UTF-8."""
    rng = random.Random(seed)
    dirs = ["", "www/", "www/css/", "data/a/b/c/", "ünï/"]
    files = {}
    while len(files) < count:
        name = rng.choice(dirs) + "".join(rng.choice("abcdefxyz_-.0") for _ in range(rng.randint(1, 20)))
        if name.endswith(".") or name.split("/")[-1] in ("", ".", ".."):
            continue
        files[name] = rng.randbytes(rng.choice([0, 1, 100, 4095, 4096, 5000, 13000]))
    return files


def build(files: list[tuple[str, Path]], size: int = 1 << 20, block_size: int = 4096) -> bytes:
    return build_volume(VolumeSpec(size, block_size, plan_files(files)))


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(capsys, *args: object) -> Run:
    buffer = io.StringIO()
    capsys.readouterr()
    code = cli_main([str(a) for a in args], console=Console(file=buffer, width=200))
    captured = capsys.readouterr()
    return Run(code, buffer.getvalue() + captured.out, captured.err)


# --- reproducibility ---------------------------------------------------------


def test_the_same_files_give_the_same_bytes_wherever_and_in_whatever_order(tmp_path):
    files = random_files(SEED)
    a = write_tree(tmp_path / "a", files)
    b = write_tree(tmp_path / "elsewhere" / "b", dict(reversed(list(files.items()))))
    first, second = build(a), build(b)
    assert len(first) == 1 << 20
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    # Something else does change the bytes (the test can fail).
    changed = dict(files)
    changed[next(iter(files))] += b"!"
    assert build(write_tree(tmp_path / "c", changed)) != first


def test_two_builds_by_the_action_in_separate_processes_are_identical(tmp_path):
    """As Bazel runs it: a fresh interpreter each time, so no state can carry over."""
    pairs = write_tree(tmp_path / "src", random_files(SEED + 1, 20))
    listing = tmp_path / "files.json"
    listing.write_text(json.dumps([[d, str(s)] for d, s in pairs]))
    outputs = []
    for name in ("one.img", "two.img"):
        out = tmp_path / name
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "unikernel.volume",
                f"--files={listing}",
                "--size=524288",
                "--block-size=4096",
                f"--output={out}",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={"PYTHONPATH": ":".join(sys.path), "PYTHONHASHSEED": "random"},
        )
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_unused_bytes_are_the_erased_value_and_the_superblock_is_where_the_guest_looks(tmp_path):
    image = build(write_tree(tmp_path, {"a.txt": b"a"}), size=64 * 1024)
    assert image[layout.SUPERBLOCK_MAGIC_OFFSET : layout.SUPERBLOCK_MAGIC_OFFSET + 8] == b"littlefs"
    assert image[-4096:] == b"\xff" * 4096


# --- round trip ----------------------------------------------------------------


def test_files_in_are_files_out(tmp_path, capsys):
    files = random_files(SEED + 2)
    image = tmp_path / "v.img"
    image.write_bytes(build(write_tree(tmp_path / "src", files)))
    volume = open_volume(image)
    listed = {e.path.lstrip("/"): e.size for e in volume.ls() if not e.is_dir}
    assert listed == {name: len(data) for name, data in files.items()}
    for name, data in files.items():
        assert volume.cat(name) == data
    written = volume.extract("/", tmp_path / "out")
    assert len(written) == len(files)
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    assert open_volume(image).geometry.block_count == 256
    assert image.read_bytes() == build(write_tree(tmp_path / "again", files))  # reading wrote nothing


def test_an_empty_volume_and_a_volume_filled_to_the_last_block(tmp_path):
    empty = tmp_path / "empty.img"
    empty.write_bytes(build([], size=8192))
    assert open_volume(empty).ls() == []
    # The fewest blocks that hold 10 files of a block each: the error says how many
    # (exactly, for a volume this small).
    files = write_tree(tmp_path / "src", {f"f{i}": bytes([i]) * 4096 for i in range(10)})
    with pytest.raises(VolumeError) as error:
        build(files, size=8 * 4096)
    needed = int(error.value.message.split("they fit in ")[1].split(" blocks")[0])
    full = tmp_path / "full.img"
    full.write_bytes(build(files, size=needed * 4096))
    assert all(open_volume(full).cat(f"f{i}") == bytes([i]) * 4096 for i in range(10))
    with pytest.raises(VolumeError, match="do not fit"):
        build(files, size=(needed - 1) * 4096)


# --- errors a user can make ------------------------------------------------------


def test_files_that_do_not_fit_name_the_size_they_need(tmp_path):
    files = write_tree(tmp_path, {"big.bin": bytes(100_000), "small": b"x"})
    with pytest.raises(VolumeError) as error:
        build(files, size=64 * 1024)
    message = error.value.message
    assert message == (  # as docs/rules.md shows it
        "2 files (100001 bytes) do not fit in size = 64K (16 blocks of 4096 bytes); they fit in 28 blocks, "
        '114688 bytes: set size = "112K" or more (room for what the guest writes)'
    )
    suggested = message.split('set size = "')[1].split('"')[0]
    assert suggested.endswith("K")
    build(files, size=int(suggested[:-1]) * 1024)  # the size it names works


def test_more_files_than_the_largest_volume_holds(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "MAX_VOLUME_BYTES", 32 * 1024)
    files = write_tree(tmp_path, {"big.bin": bytes(40_000)})
    with pytest.raises(VolumeError, match=r"nor in the largest volume \(32K\); split them"):
        build(files, size=16 * 1024)


@pytest.mark.parametrize(
    ("size", "block_size", "message"),
    [
        (6144, 4096, r"size = 6144 bytes is not a multiple of block_size = 4096; use 8K or 4K"),
        (4096 * 3, 1000, r"block_size = 1000: a block is a multiple of 512 bytes"),
        (0, 4096, r"size = 0 bytes: a volume is 1 to"),
        ((1 << 30) + 4096, 4096, r"a volume is 1 to 1073741824 bytes"),
    ],
)
def test_bad_geometry(tmp_path, size, block_size, message):
    with pytest.raises(VolumeError, match=message):
        build([], size=size, block_size=block_size)


def test_two_files_on_one_path(tmp_path):
    with pytest.raises(VolumeError, match=r"two files go to 'a/b' in the volume: x/1 and y/2; drop one"):
        plan_files([("a/b", Path("x/1")), ("a/b", Path("y/2"))])


def test_a_file_where_a_directory_must_be(tmp_path):
    with pytest.raises(VolumeError, match=r"'a' in the volume is the file x/a and also the directory of y/b"):
        plan_files([("a/b", Path("y/b")), ("a", Path("x/a"))])


def test_a_name_too_long_for_littlefs():
    with pytest.raises(VolumeError, match=r"is 256 bytes; littlefs names are at most 255 bytes"):
        plan_files([("d/" + "n" * 256, Path("x"))])
    # Bytes, not characters: 128 two-byte characters are 256 bytes.
    with pytest.raises(VolumeError, match=r"is 256 bytes"):
        plan_files([("é" * 128, Path("x"))])
    plan_files([("n" * 255, Path("x"))])


@pytest.mark.parametrize("path", ["", "/abs", "a//b", "a/../b", "./a"])
def test_paths_that_are_not_inside_the_volume(path):
    with pytest.raises(VolumeError, match="is not a relative path"):
        plan_files([(path, Path("x"))])


def test_a_directory_or_a_missing_file_as_a_source(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(VolumeError, match="is a directory; list the files in it"):
        build([("d", tmp_path / "dir")])
    with pytest.raises(VolumeError, match=r"cannot read .*missing: No such file"):
        build([("m", tmp_path / "missing")])


def test_a_failed_build_leaves_no_output(tmp_path, capsys):
    out = tmp_path / "v.img"
    out.write_bytes(b"an earlier build")
    listing = tmp_path / "files.json"
    listing.write_text(json.dumps([["big", str(write_tree(tmp_path, {"big": bytes(50_000)})[0][1])]]))
    code = action.main([f"--files={listing}", "--size=16384", "--block-size=4096", f"--output={out}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(
        "unikernel-volume: error: 1 files (50000 bytes) do not fit"
    )
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))


# --- the command line ------------------------------------------------------------


@pytest.fixture
def site(tmp_path) -> Path:
    image = tmp_path / "site.img"
    files = {"index.html": b"<h1>hi</h1>\n", "css/site.css": b"body{}\n", "empty": b""}
    image.write_bytes(build(write_tree(tmp_path / "src", files), size=64 * 1024))
    return image


def test_cli_ls(site, capsys):
    run = cli(capsys, "volume", "ls", site)
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "dir           -  /css/",
        "file          7  /css/site.css",
        "file          0  /empty",
        "file         12  /index.html",
    ]
    assert cli(capsys, "volume", "ls", site, "css").out.splitlines() == ["file          7  /css/site.css"]


def test_cli_cat_and_extract(site, tmp_path, capsys, monkeypatch):
    run = cli(capsys, "volume", "cat", site, "/index.html")
    assert (run.code, run.out) == (0, "<h1>hi</h1>\n")
    monkeypatch.setenv("BUILD_WORKING_DIRECTORY", str(tmp_path))  # as under `bazel run`
    run = cli(capsys, "volume", "extract", site, "css", "--output", "x")
    assert run.code == 0, run.err
    assert (tmp_path / "x" / "site.css").read_bytes() == b"body{}\n"
    again = cli(capsys, "volume", "extract", site, "css", "--output", "x")
    assert again.code == 2
    assert (
        again.err == f"unikernel: error: volume extract: extract: {tmp_path}/x/site.css exists; "
        "remove it or extract into another directory\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cat", "nope"), "volume cat: SITE: no /nope in the volume (see `unikernel volume ls`)"),
        (("cat", "css"), "volume cat: SITE: /css is a directory; `ls` lists it"),
        (("cat",), "volume cat: name the file to print (volume cat IMAGE PATH)"),
        (("ls", "index.html/x"), "volume ls: SITE: /index.html/x is a file, not a directory"),
    ],
)
def test_cli_errors_inside_a_volume(site, capsys, args, message):
    run = cli(capsys, "volume", args[0], site, *args[1:])
    assert run.code == 2
    assert run.err == "unikernel: error: " + message.replace("SITE", str(site)) + "\n"


def corrupt(site: Path, kind: str) -> Path:
    data = bytearray(site.read_bytes())
    if kind == "random":
        data = bytearray(random.Random(SEED).randbytes(len(data)))
    elif kind == "truncated":
        data = data[: len(data) // 2 + 100]
    elif kind == "empty":
        data = bytearray()
    elif kind == "metadata":
        # Both blocks of the superblock pair: everything after the magic and
        # its struct is garbage, so no commit's CRC holds.
        rng = random.Random(SEED)
        for block in (0, 1):
            start = block * 4096 + 48
            data[start : start + 4000] = rng.randbytes(4000)
    out = site.with_name(f"{kind}.img")
    out.write_bytes(data)
    return out


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("random", r"is not a littlefs volume: no \"littlefs\" superblock at offset 8"),
        ("empty", r"is not a littlefs volume"),
        ("truncated", r"its superblock says 16 blocks of 4096 bytes, but the file has 32868 bytes"),
        ("metadata", r"cannot mount the volume \(LFS_ERR_CORRUPT\): the volume is corrupt or not littlefs"),
    ],
)
def test_a_corrupt_image_is_one_clear_line(site, capsys, kind, message):
    bad = corrupt(site, kind)
    before = bad.read_bytes()
    run = cli(capsys, "volume", "ls", bad)
    assert run.code == 2
    assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert run.err.startswith(f"unikernel: error: volume ls: {bad}")

    assert re.search(message, run.err), run.err
    assert bad.read_bytes() == before  # never "repaired" (littlefs would format it)


def test_not_a_file(tmp_path, capsys):
    run = cli(capsys, "volume", "ls", tmp_path / "missing.img")
    assert (run.code, run.err) == (
        2,
        f"unikernel: error: volume ls: cannot read {tmp_path}/missing.img: No such file or directory\n",
    )
    run = cli(capsys, "volume", "ls", tmp_path)
    assert run.err == f"unikernel: error: volume ls: {tmp_path} is a directory, not a volume image\n"
    run = cli(capsys, "volume", "rm", tmp_path)
    assert run.code == 2 and "invalid choice: 'rm'" in run.err
