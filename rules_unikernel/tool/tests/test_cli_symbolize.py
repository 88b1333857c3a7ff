"""``unikernel symbolize``: name the code addresses of a guest's fault report."""

from __future__ import annotations

import io
import shutil

import pytest
from elftools.elf.elffile import ELFFile

from tests.test_cli_images import Image, link_image, run


@pytest.fixture(scope="module")
def image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("image"))


def function_address(debug_elf, name: str) -> int:
    with debug_elf.open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        return next(s["st_value"] for s in symtab.iter_symbols() if s.name == name)


def report(kmain: int, start: int) -> str:
    # As a Xen console log has it: carriage returns, other lines untouched.
    return (
        f"[boot] xen: Xen 4.17 (PV), hypercall page {kmain:#x}\r\n"
        f"[boot] panic: CPU exception 14 (page fault) at rip {kmain + 4:#x}, error code 0x2\r\n"
        f"[boot] backtrace: {start + 8:#x} 0xdead0000\r\n"
    )


def test_stripped_image_is_named_from_its_debug_twin(image, tmp_path, capsys):
    kmain, start = function_address(image.debug, "kmain"), function_address(image.debug, "_start_pvh")
    log = tmp_path / "guest.console.log"
    log.write_text(report(kmain, start))

    result = run("symbolize", image.elf, log, capsys=capsys)

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"[boot] xen: Xen 4.17 (PV), hypercall page {kmain:#x}"  # not a report line
    assert f"at rip {kmain + 4:#x} <kmain+0x4>, error code 0x2" in lines[1]
    assert lines[2] == f"[boot] backtrace: {start + 8:#x} <_start_pvh+0x8> 0xdead0000"
    assert "\r" not in result.out


def test_debug_twin_given_directly_and_standard_input(image, monkeypatch, capsys):
    kmain, start = function_address(image.debug, "kmain"), function_address(image.debug, "_start_pvh")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(report(kmain, start).encode())))

    result = run("symbolize", image.debug, capsys=capsys)

    assert result.code == 0, result.err
    assert "<kmain+0x4>" in result.out and "<_start_pvh+0x8>" in result.out


def test_stripped_image_without_its_twin_is_an_error(image, tmp_path, capsys):
    lonely = tmp_path / "lonely.elf"
    shutil.copy(image.elf, lonely)
    log = tmp_path / "log"
    log.write_text("[boot] backtrace: 0x100000\n")

    result = run("symbolize", lonely, log, capsys=capsys)

    assert result.code == 2
    assert result.out == ""
    assert result.err.strip() == (
        f"unikernel: error: symbolize: {lonely} is stripped and has no lonely.debug.elf of the same "
        "build beside it; pass the image's .debug.elf"
    )


def test_a_missing_log_is_one_line(image, tmp_path, capsys):
    result = run("symbolize", image.elf, tmp_path / "nope.log", capsys=capsys)

    assert result.code == 2
    missing = tmp_path / "nope.log"
    assert result.err.strip() == f"unikernel: error: symbolize: {missing}: No such file or directory"
