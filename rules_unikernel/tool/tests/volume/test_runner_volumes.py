"""The QEMU runner's --volume: read-only volumes attached as built, read-write
ones through a fresh copy, before the scratch disks; bad arguments stop the
run before any file is made. QEMU is a stand-in script here (the real boot
is //tests/volume:volume_ro_test and volume_copy_test)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from unikernel import qemu

# Writes "guest" at the start of every drive QEMU may write (readonly=on
# drives are skipped, as QEMU would refuse), then reports a clean exit.
WRITER = (
    'for a in "$@"; do case "$a" in file=*)'
    ' case "$a" in *readonly=on*) continue;; esac;'
    ' f="${a#file=}"; f="${f%%,*}"; printf guest | dd of="$f" bs=1 conv=notrunc 2>/dev/null;; esac; done\n'
    "printf '[boot] exit status 0\\r\\n'; exit 1\n"
)


def fake_qemu(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-qemu"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIKERNEL_QEMU", str(fake_qemu(tmp_path, WRITER)))
    image = tmp_path / "image.elf"
    image.write_bytes(b"\x7fELF")
    built = tmp_path / "out"
    built.mkdir()
    site, data = built / "site.img", built / "data.img"
    site.write_bytes(b"S" * 8192)
    data.write_bytes(b"D" * 8192)
    for f in (site, data):
        f.chmod(0o555)  # as Bazel leaves its outputs
    return image, site, data


def test_volumes_come_first_read_only_as_built_read_write_as_a_copy(setup, tmp_path, capsys):
    image, site, data = setup
    keep = tmp_path / "disks"
    args = ["--image", str(image), "--volume", f"ro:{site}", "--volume", f"rw:{data}"]
    for _ in range(2):  # each run starts again from the volume as built
        assert qemu.main([*args, "--disk", "4K", "--keep-disks", str(keep)]) == 0
        copy = (keep / "data.img").read_bytes()
        assert copy == b"guest" + b"D" * (8192 - 5)
        assert (keep / "disk0.raw").read_bytes()[:5] == b"guest"
    assert site.read_bytes() == b"S" * 8192
    assert data.read_bytes() == b"D" * 8192
    runs = [line for line in capsys.readouterr().out.splitlines() if line.startswith("unikernel-qemu: ")]
    command = runs[-1].split()
    drives = [command[i + 1] for i, a in enumerate(command) if a == "-drive"]
    assert drives == [
        f"file={site},format=raw,if=none,id=disk0,cache=writeback,readonly=on",
        f"file={keep}/data.img,format=raw,if=none,id=disk1,cache=writeback",
        f"file={keep}/disk0.raw,format=raw,if=none,id=disk2,cache=writeback",
    ]


def test_commas_in_a_path_are_escaped_for_qemu(tmp_path):
    odd = tmp_path / "a,b.img"
    args = qemu.disk_args("pc", (odd,), frozenset({odd}))
    assert args[1] == f"file={tmp_path}/a,,b.img,format=raw,if=none,id=disk0,cache=writeback,readonly=on"
    assert args[3] == "virtio-blk-pci,drive=disk0"


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ("site.img", "volume 'site.img' is not ro:PATH or rw:PATH (a unikernel_volume image)"),
        ("rx:site.img", "volume 'rx:site.img' is not ro:PATH or rw:PATH (a unikernel_volume image)"),
        ("ro:", "volume 'ro:' is not ro:PATH or rw:PATH (a unikernel_volume image)"),
        ("rw:missing.img", "volume missing.img does not exist; build it first"),
    ],
)
def test_a_bad_volume_is_a_one_line_error_and_makes_no_file(setup, tmp_path, capsys, volume, message):
    image, _, _ = setup
    keep = tmp_path / "d"
    rc = qemu.main(["--image", str(image), "--volume", volume, "--disk", "4K", "--keep-disks", str(keep)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"unikernel-qemu: error: {message}\n"
    assert not keep.exists()


def test_two_read_write_volumes_of_one_name(setup, tmp_path, capsys):
    image, _, data = setup
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "data.img").write_bytes(b"E" * 8192)
    keep = tmp_path / "d"
    rc = qemu.main(
        [
            "--image",
            str(image),
            "--volume",
            f"rw:{data}",
            "--volume",
            f"rw:{other}/data.img",
            "--keep-disks",
            str(keep),
        ]
    )
    assert rc == 2
    assert (
        "two read-write volumes have one file name (data.img, data.img); rename one"
        in capsys.readouterr().err
    )
    assert not keep.exists()
