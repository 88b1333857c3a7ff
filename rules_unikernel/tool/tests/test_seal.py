"""The seal note (W^X map for the boot code) and the W^X checks around it.

The note is decoded here with struct, from the layout in docs/manifest.md,
not with the linker's own parser, and compared with the program headers.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from unikernel.link import verify
from unikernel.link.driver import main
from unikernel.link.errors import LinkError

KERNEL_C = """
int counter = 5;                 /* .data */
static volatile char buffer[8192];  /* .bss */
const char banner[] = "sealed";  /* .rodata */
__attribute__((section(".text.boot"))) void _start_pvh(void) {
    buffer[counter] = banner[counter];
    for (;;) {}
}
"""
NOTE_NAME = b"Unikernel\0"
NOTE_TYPE = 0x4C414553
R, W, X = 4, 2, 1
KINDS = {1: "text", 2: "notes", 3: "rodata", 4: "data", 5: "bss"}


def link(build, zig, directory: Path, *options: str) -> Path:
    obj = build.c("kernel.o", KERNEL_C)
    image = directory / "k.elf"
    args = ["--ld", str(zig.ld), "--input", f"//t:k={obj}", "--output", str(image)]
    assert main([*args, "--debug-output", str(directory / "k.debug.elf"), *options]) == 0
    return image


def notes_of(path: Path) -> list[tuple[bytes, int, bytes, int]]:
    """(name, type, descriptor, descriptor address) of every note, walked by hand."""
    data = path.read_bytes()
    found = []
    with path.open("rb") as stream:
        for segment in ELFFile(stream).iter_segments():
            if segment["p_type"] != "PT_NOTE":
                continue
            at, end = segment["p_offset"], segment["p_offset"] + segment["p_filesz"]
            while at < end:
                namesz, descsz, kind = struct.unpack_from("<III", data, at)
                name_at = at + 12
                desc_at = name_at + (namesz + 3) // 4 * 4
                address = segment["p_vaddr"] + desc_at - segment["p_offset"]
                found.append(
                    (data[name_at : name_at + namesz], kind, data[desc_at : desc_at + descsz], address)
                )
                at = desc_at + (descsz + 3) // 4 * 4
    return found


def seal_of(path: Path) -> tuple[dict[str, tuple[int, int, int]], int, int]:
    seals = [n for n in notes_of(path) if n[0] == NOTE_NAME and n[1] == NOTE_TYPE]
    assert len(seals) == 1
    _, _, desc, address = seals[0]
    version, count = struct.unpack_from("<II", desc)
    assert len(desc) == 8 + 24 * count
    regions = {}
    for index in range(count):
        start, end, flags, kind = struct.unpack_from("<QQII", desc, 8 + 24 * index)
        regions[KINDS[kind]] = (start, end, flags)
    return regions, version, address


def segments_of(path: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    found: dict[str, list[tuple[int, int, int, int]]] = {}
    with path.open("rb") as stream:
        for s in ELFFile(stream).iter_segments():
            found.setdefault(s["p_type"], []).append(
                (s["p_vaddr"], s["p_vaddr"] + s["p_memsz"], s["p_flags"], s["p_align"])
            )
    return found


def symbol(path: Path, name: str) -> int:
    with path.open("rb") as stream:
        return ELFFile(stream).get_section_by_name(".symtab").get_symbol_by_name(name)[0]["st_value"]


@pytest.mark.parametrize("options", [(), ("--seed", "seal-test", "--aslr-padding", "64")])
def test_seal_note_matches_the_program_headers(build, zig, tmp_path, options):
    image = link(build, zig, tmp_path, *options)
    regions, version, address = seal_of(image)
    segments = segments_of(image)
    (text, rodata, data), (note,) = segments["PT_LOAD"], segments["PT_NOTE"]

    assert version == 1
    assert list(regions) == ["text", "notes", "rodata", "data", "bss"]
    assert regions["text"] == (text[0], text[1], R | X) == (text[0], text[1], text[2])
    assert regions["notes"] == (note[0], note[1], R)
    assert (regions["notes"][0], regions["rodata"][1]) == (rodata[0], rodata[1])
    assert regions["notes"][1] == regions["rodata"][0] and regions["rodata"][2] == R == rodata[2]
    assert regions["data"][0] == data[0] and regions["bss"][1] == data[1]
    assert regions["data"][2] == regions["bss"][2] == R | W == data[2]
    assert regions["data"][1] <= regions["bss"][0] and regions["bss"][0] % 4096 == 0
    for name in ("text", "notes", "data", "bss"):
        assert regions[name][0] % 4096 == 0, name
    # The descriptor is where the symbol says, 8-byte aligned, at the start of rodata.
    assert address == symbol(tmp_path / "k.debug.elf", "__unikernel_seal") == rodata[0] + 24
    assert address % 8 == 0


def test_qemu_finds_the_entry_note_past_the_seal(build, zig, tmp_path):
    image = link(build, zig, tmp_path)
    data = image.read_bytes()
    with image.open("rb") as stream:
        elf = ELFFile(stream)
        note = next(s for s in elf.iter_segments() if s["p_type"] == "PT_NOTE")
        entry = elf.header["e_entry"]
    # QEMU's walk (elf_ops.h): match on type alone, step by the PT_NOTE's alignment.
    align, at, end = note["p_align"], note["p_offset"], note["p_offset"] + note["p_filesz"]
    found = None
    while at + 12 <= end:
        namesz, descsz, kind = struct.unpack_from("<III", data, at)
        if kind == 18:
            found = struct.unpack_from("<I", data, at + 12 + -(-namesz // align) * align)[0]
            break
        at += 12 + -(-namesz // align) * align + -(-descsz // align) * align

    assert align == 4
    assert found == entry


def _patched(image: Path, tmp_path: Path, offset_in_desc: int, value: bytes) -> verify.ImageInfo:
    data = bytearray(image.read_bytes())
    _, _, _, address = next(n for n in notes_of(image) if n[0] == NOTE_NAME)
    with image.open("rb") as stream:
        note = next(s for s in ELFFile(stream).iter_segments() if s["p_type"] == "PT_NOTE")
    at = note["p_offset"] + (address - note["p_vaddr"]) + offset_in_desc
    data[at : at + len(value)] = value
    patched = tmp_path / "patched.elf"
    patched.write_bytes(bytes(data))
    return verify.read_image(patched)


@pytest.mark.parametrize(
    "case",
    [
        (0, struct.pack("<I", 2), "seal note version 2"),
        (8 + 8, struct.pack("<Q", 0x5000000), "out of order"),  # text end far away
        (8 + 16, struct.pack("<I", R | W | X), "other regions or permissions"),
        (8 + 24 + 8, struct.pack("<Q", 0x100001), "seal region 2 ends before it starts"),
        (8 + 3 * 24 + 8, struct.pack("<Q", 0), "seal region 4 ends before it starts"),
        (4, struct.pack("<I", 4), "does not hold 4 entries"),
    ],
)
def test_a_seal_that_does_not_match_is_refused(build, zig, tmp_path, case):
    offset, value, problem = case
    image = link(build, zig, tmp_path)
    verify.check_seal(verify.read_image(image), 4096)

    with pytest.raises(LinkError, match=problem):
        verify.check_seal(_patched(image, tmp_path, offset, value), 4096)


def test_seal_region_must_span_its_segment(build, zig, tmp_path):
    image = link(build, zig, tmp_path)
    info = verify.read_image(image)
    rodata = info.loads()[1]
    longer = replace(rodata, memsz=rodata.memsz + 16)
    info = replace(info, segments=tuple(longer if s == rodata else s for s in info.segments))

    with pytest.raises(LinkError, match="do not span it exactly"):
        verify.check_seal(info, 4096)


def test_section_in_a_segment_with_other_permissions_is_refused(build, zig, tmp_path):
    image = link(build, zig, tmp_path)
    info = verify.read_image(image)
    text = next(s for s in info.sections if s.name == ".text")
    writable = replace(text, flags=text.flags | 0x1)
    info = replace(info, sections=tuple(writable if s == text else s for s in info.sections))

    with pytest.raises(LinkError, match=r"section \.text is in a r-x segment"):
        verify._check_section_permissions(info)


def test_an_input_seal_note_is_refused(build, zig, tmp_path, capsys):
    entry = build.asm("entry.o", '    .section .text.boot,"ax"\n    .globl _start_pvh\n_start_pvh: hlt\n')
    bad = build.asm("bad.o", '    .section .note.unikernel,"a",@note\n    .long 0\n')
    args = ["--ld", str(zig.ld), "--input", f"//t:e={entry}", "--input", f"//t:bad={bad}"]

    assert main([*args, "--output", str(tmp_path / "k.elf")]) == 1
    assert capsys.readouterr().err.startswith(
        "unikernel-link: error: section '.note.unikernel' in //t:bad (bad.o): "
        "the linker writes the seal note itself"
    )
