"""``unikernel verify``: passes on a real image, names each deliberate break."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_cli_images import Image, link_image, run
from unikernel.cli.elf import ElfImage, Note, ProgramHeader, read_elf
from unikernel.cli.verify import verify as verify_image

PT_LOAD_FLAGS_AT = 4
E_ENTRY_AT = 0x18


@pytest.fixture(scope="module")
def image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("image"))


class Patched:
    """A copy of an image (alone, or with its manifest) to break on purpose."""

    def __init__(self, source: Path, directory: Path, manifest: Path | None = None) -> None:
        self.path = directory / source.name
        shutil.copyfile(source, self.path)
        if manifest is not None:
            shutil.copyfile(manifest, directory / manifest.name)
        self.data = bytearray(self.path.read_bytes())

    def phdr(self, index: int) -> int:
        (phoff,) = struct.unpack_from("<Q", self.data, 0x20)
        (entsize,) = struct.unpack_from("<H", self.data, 0x36)
        return phoff + index * entsize

    def put(self, offset: int, fmt: str, value: int) -> Patched:
        struct.pack_into(fmt, self.data, offset, value)
        self.path.write_bytes(self.data)
        return self


def verify(capsys, *args):
    return run("verify", *args, capsys=capsys)


def failures(result) -> list[str]:
    """The FAIL lines, less the seal's: a broken program header also contradicts the seal note."""
    return [line for line in result.out.splitlines() if " seal " not in line]


def test_a_real_image_passes(image, capsys):
    result = verify(capsys, image.elf)

    assert result.code == 0, result.out
    assert result.out.count("\n") == 1
    assert result.out.startswith(f"verify: OK {image.elf}: ELF64 x86-64 EXEC, 3 PT_LOAD, W^X")
    assert "manifest tiny.manifest.json matches" in result.out


def test_a_randomised_image_passes(module_build, tmp_path, capsys):
    seeded = link_image(module_build, tmp_path, extra=("--seed", "verify-me"))
    entry = read_elf(seeded.elf).entry

    result = verify(capsys, seeded.elf)

    assert result.code == 0, result.out
    assert entry != 0x100000
    assert f"seal matches, entry {entry:#x}, manifest tiny.manifest.json matches" in result.out


def test_the_debug_twin_passes_against_the_same_manifest(image, capsys):
    result = verify(capsys, image.debug)

    assert result.code == 0, result.out
    assert "manifest tiny.manifest.json matches" in result.out


def test_an_image_without_a_manifest_is_checked_alone(image, tmp_path, capsys):
    alone = Patched(image.elf, tmp_path)

    result = verify(capsys, alone.path)

    assert result.code == 0, result.out
    assert result.out.rstrip().endswith("no manifest")


def test_writable_and_executable_load_fails(image, tmp_path, capsys):
    broken = Patched(image.elf, tmp_path)
    broken.put(broken.phdr(0) + PT_LOAD_FLAGS_AT, "<I", 7)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        "verify: FAIL: PT_LOAD is writable and executable (rwx), program header 0 (PT_LOAD at 0x100000)"
    ]


def test_entry_outside_the_text_fails(image, tmp_path, capsys):
    rodata = read_elf(image.elf).loads()[1].vaddr
    broken = Patched(image.elf, tmp_path).put(E_ENTRY_AT, "<Q", rodata)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        f"verify: FAIL: entry point {rodata:#x} is not inside an executable PT_LOAD, e_entry of {broken.path}"
    ]


def test_corrupt_xen_entry_note_type_fails(image, tmp_path, capsys):
    note = read_elf(image.elf).note(b"Xen", 18)
    broken = Patched(image.elf, tmp_path).put(note.offset + 8, "<I", 19)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        "verify: FAIL: no XEN_ELFNOTE_PHYS32_ENTRY (18) note: a PVH loader cannot enter, "
        f"PT_NOTE of {broken.path}"
    ]


def test_xen_entry_note_outside_the_text_fails(image, tmp_path, capsys):
    note = read_elf(image.elf).note(b"Xen", 18)
    rodata = read_elf(image.elf).loads()[1].vaddr
    broken = Patched(image.elf, tmp_path).put(note.offset + 12 + 4, "<I", rodata)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        f"verify: FAIL: XEN_ELFNOTE_PHYS32_ENTRY {rodata:#x} is not inside an executable PT_LOAD, "
        f"note at file offset {note.offset:#x}"
    ]


def test_wrong_loader_note_fails(image, tmp_path, capsys):
    note = read_elf(image.elf).note(b"Xen", 8)
    broken = Patched(image.elf, tmp_path)
    desc = note.offset + 12 + 4  # after namesz/descsz/type and "Xen\0"
    broken.data[desc : desc + 7] = b"special"
    broken.path.write_bytes(broken.data)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        "verify: FAIL: XEN_ELFNOTE_LOADER is 'special', expected 'generic', "
        f"note at file offset {note.offset:#x}"
    ]


def test_executable_stack_fails(image, tmp_path, capsys):
    stack = next(s.index for s in read_elf(image.elf).segments if s.type == "PT_GNU_STACK")
    broken = Patched(image.elf, tmp_path)
    broken.put(broken.phdr(stack) + PT_LOAD_FLAGS_AT, "<I", 7)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        f"verify: FAIL: PT_GNU_STACK is executable (rwx), program header {stack} (PT_GNU_STACK at 0x0)"
    ]


def test_loads_sharing_a_page_fail(image, tmp_path, capsys):
    text, rodata = read_elf(image.elf).loads()[:2]
    broken = Patched(image.elf, tmp_path)
    broken.put(broken.phdr(text.index) + 40, "<Q", rodata.vaddr - text.vaddr + 1)  # p_memsz

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        f"verify: FAIL: PT_LOADs r-x and r-- share a page, program headers 0 ({text.vaddr:#x}) "
        f"and 1 ({rodata.vaddr:#x})"
    ]


def test_load_off_a_page_fails(image, tmp_path, capsys):
    rodata = read_elf(image.elf).loads()[1]
    broken = Patched(image.elf, tmp_path)
    moved = rodata.vaddr + 0x10
    broken.put(broken.phdr(rodata.index) + 16, "<Q", moved).put(broken.phdr(rodata.index) + 24, "<Q", moved)

    result = verify(capsys, broken.path)

    assert result.code == 1
    where = f"program header {rodata.index} (PT_LOAD at {moved:#x})"
    assert failures(result) == [
        f"verify: FAIL: PT_LOAD does not start on a page ({moved:#x}), {where}",
        f"verify: FAIL: PT_LOAD address {moved:#x} and file offset {rodata.offset:#x} differ modulo 4096, "
        f"{where}",
    ]


def test_image_changed_after_the_link_fails_against_its_manifest(image, tmp_path, capsys):
    rodata = next(s for s in read_elf(image.elf).sections if s.name == ".rodata")
    broken = Patched(image.elf, tmp_path, image.manifest)
    broken.data[rodata.offset] ^= 0xFF
    broken.path.write_bytes(broken.data)

    result = verify(capsys, broken.path)

    assert result.code == 1
    [line] = result.out.splitlines()
    assert line.startswith(f"verify: FAIL: sha256 of {broken.path} is ")
    assert line.endswith(", tiny.manifest.json image.sha256")


def test_manifest_that_disagrees_with_the_program_headers_fails(image, tmp_path, capsys):
    manifest = json.loads(image.manifest.read_text())
    manifest["segments"][2]["memory_size"] += 4096
    manifest["entry"]["address"] = "0x100010"
    stack = manifest["segments"].pop()
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(manifest))

    result = verify(capsys, image.elf, "--manifest", edited)

    assert result.code == 1
    lines = result.out.splitlines()
    assert stack["type"] == "PT_GNU_STACK"
    assert len(lines) == 3
    assert lines[0] == f"verify: FAIL: entry 0x100010 differs from e_entry 0x100000, {edited} entry.address"
    assert lines[1] == f"verify: FAIL: 4 segments listed, the image has 5 program headers, {edited} segments"
    assert lines[2].startswith(f"verify: FAIL: memory_size {manifest['segments'][2]['memory_size']} differs")
    assert lines[2].endswith(f", {edited} segments[2]")


def test_manifest_seal_that_disagrees_with_the_note_fails(image, tmp_path, capsys):
    manifest = json.loads(image.manifest.read_text())
    manifest["seal"]["regions"][0]["end"] = "0x100001"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(manifest))

    result = verify(capsys, image.elf, "--manifest", edited)

    assert result.code == 1
    assert result.out.splitlines() == [
        f"verify: FAIL: the seal regions listed differ from the image's seal note, {edited} seal.regions"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an ELF file"),
        (b"just text\n", "not an ELF file"),
        (None, "truncated ELF file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(image, tmp_path, capsys, content, message):
    path = tmp_path / "bad.elf"
    path.write_bytes(content if content is not None else image.elf.read_bytes()[:1000])

    result = verify(capsys, path)

    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"unikernel: error: {path}: {message}")
    assert result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.elf"], "cannot read missing.elf: No such file or directory"),
        (["IMAGE", "--manifest", "missing.json"], "cannot read manifest missing.json: No such file"),
        (["IMAGE", "--manifest", "IMAGE"], "is not UTF-8 text"),
        ([], "verify: the following arguments are required: image"),
    ],
)
def test_missing_files_and_arguments_are_one_line_and_exit_2(image, capsys, args, message):
    result = verify(capsys, *[str(image.elf) if a == "IMAGE" else a for a in args])

    assert result.code == 2
    assert message in result.err
    assert result.err.startswith("unikernel: error: ") and result.err.count("\n") == 1


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_images_never_crash_the_cli(image, tmp_path_factory, capsys, data):
    damaged = bytearray(image.elf.read_bytes())
    elf = read_elf(image.elf)
    # Bias toward the bytes the checks read: headers, program headers, notes.
    hot = [*range(0x40 + 56 * len(elf.segments)), *range(elf.notes[0].offset, elf.notes[0].offset + 160)]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.sampled_from(hot) | st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.none() | st.integers(0, len(damaged)))
    path = tmp_path_factory.mktemp("damaged") / "damaged.elf"
    path.write_bytes(bytes(damaged[:cut]))

    for command in ("verify", "inspect"):
        result = run(command, path, capsys=capsys)
        assert result.code in ((0, 1, 2) if command == "verify" else (0, 2))
        if result.code == 2:
            assert result.err.startswith("unikernel: error: ") and result.err.count("\n") == 1
            assert "internal error" not in result.err, result.err


# The seal note, on hand-made images: the lines it adds, and nothing else.
TEXT, NOTES, RODATA, DATA, BSS = 1, 2, 3, 4, 5


def sealed(regions: list[tuple[int, int, int, int]], count: int | None = None) -> ElfImage:
    """An ElfImage with three PT_LOADs and a seal note listing ``regions``."""
    loads = (
        ProgramHeader(0, "PT_LOAD", 5, 0x1000, 0x100000, 0x100000, 0x1800, 0x1800, 0x1000),
        ProgramHeader(1, "PT_LOAD", 4, 0x3000, 0x102000, 0x102000, 0x900, 0x900, 0x1000),
        ProgramHeader(2, "PT_LOAD", 6, 0x4000, 0x103000, 0x103000, 0x10, 0x2000, 0x1000),
        ProgramHeader(3, "PT_NOTE", 4, 0x3000, 0x102000, 0x102000, 0xA0, 0xA0, 4),
    )
    desc = struct.pack("<II", 1, len(regions) if count is None else count)
    desc += b"".join(struct.pack("<QQII", start, end, flags, kind) for start, end, flags, kind in regions)
    note = Note(b"Unikernel", 0x4C414553, desc, 0x3000)
    return ElfImage("sealed.elf", b"", {"e_entry": 0x100000}, loads, (), (note,), None)


GOOD_SEAL = [
    (0x100000, 0x101800, 5, TEXT),
    (0x102000, 0x1020A0, 4, NOTES),
    (0x1020A0, 0x102900, 4, RODATA),
    (0x103000, 0x103010, 6, DATA),
    (0x104000, 0x105000, 6, BSS),
]


def seal_lines(image: ElfImage) -> list[str]:
    return [v.line() for v in verify_image(image).violations if "seal" in v.what]


def test_a_seal_that_matches_the_loads_passes():
    assert seal_lines(sealed(GOOD_SEAL)) == []


def test_a_seal_region_with_other_permissions_fails():
    regions = [*GOOD_SEAL]
    regions[0] = (0x100000, 0x101800, 7, TEXT)

    assert seal_lines(sealed(regions)) == [
        "verify: FAIL: seal region text [0x100000, 0x101800) rwx is not inside a PT_LOAD with the same "
        "permissions, note at file offset 0x3000, region 0",
        "verify: FAIL: seal regions cover nothing of PT_LOAD [0x100000, 0x101800) r-x, "
        "note at file offset 0x3000",
    ]


def test_a_seal_that_leaves_part_of_a_load_unmapped_fails():
    regions = [*GOOD_SEAL]
    regions[4] = (0x104000, 0x104800, 6, BSS)

    assert seal_lines(sealed(regions)) == [
        "verify: FAIL: seal regions cover [0x103000, 0x104800) of PT_LOAD [0x103000, 0x105000) rw-, "
        "note at file offset 0x3000"
    ]


def test_a_seal_whose_notes_are_not_the_pt_note_fails():
    regions = [*GOOD_SEAL]
    regions[1:3] = [(0x102000, 0x102080, 4, NOTES), (0x102080, 0x102900, 4, RODATA)]

    assert seal_lines(sealed(regions)) == [
        "verify: FAIL: seal region notes [0x102000, 0x102080) is not the PT_NOTE [0x102000, 0x1020a0), "
        "note at file offset 0x3000"
    ]


def test_overlapping_seal_regions_fail():
    regions = [*GOOD_SEAL]
    regions[2] = (0x102000, 0x102900, 4, RODATA)

    assert seal_lines(sealed(regions)) == [
        "verify: FAIL: seal regions notes and rodata overlap or are out of order, note at file offset 0x3000"
    ]


def test_a_malformed_seal_fails():
    assert seal_lines(sealed(GOOD_SEAL, count=6)) == [
        "verify: FAIL: seal note is malformed: descriptor of 128 bytes does not hold 6 regions, "
        "note at file offset 0x3000"
    ]


PV_APP_C = """
extern void console_write(const char *text);
int boots = 1;
void kmain(void) { console_write("pv" + boots); }
void _start_pv(void) { kmain(); for (;;) {} }
__attribute__((section(".text.hypercall_page"), aligned(4096))) void boot_hypercall_page(void) {}
"""


@pytest.fixture(scope="module")
def pv_image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("pv"), app_source=PV_APP_C)


def test_a_pv_capable_image_passes(pv_image, capsys):
    result = verify(capsys, pv_image.elf)

    assert result.code == 0, result.out
    assert "Xen PVH+PV notes" in result.out


def test_a_pv_note_with_a_nonzero_virt_base_fails(pv_image, tmp_path, capsys):
    note = read_elf(pv_image.elf).note(b"Xen", 3)
    broken = Patched(pv_image.elf, tmp_path).put(note.offset + 12 + 4, "<Q", 0x1000)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        "verify: FAIL: XEN_ELFNOTE_VIRT_BASE is 0x1000, expected 0 (virtual == physical), "
        f"note at file offset {note.offset:#x}"
    ]


def test_a_pv_entry_outside_the_text_fails(pv_image, tmp_path, capsys):
    note = read_elf(pv_image.elf).note(b"Xen", 1)
    rodata = read_elf(pv_image.elf).loads()[1].vaddr
    broken = Patched(pv_image.elf, tmp_path).put(note.offset + 12 + 4, "<Q", rodata)

    result = verify(capsys, broken.path)

    assert result.code == 1
    assert failures(result) == [
        f"verify: FAIL: XEN_ELFNOTE_ENTRY {rodata:#x} is not inside an executable PT_LOAD, "
        f"note at file offset {note.offset:#x}"
    ]
