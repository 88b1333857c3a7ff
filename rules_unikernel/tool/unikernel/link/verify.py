"""Read linked images back and check them against the plan.

A failed check means the plan, the script or lld did something unexpected;
the link fails rather than produce an image that boots wrongly.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import Segment

from . import seal
from .aslr import NONE, Randomisation
from .errors import LinkError
from .model import SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE
from .notes import (
    XEN_ELFNOTE_ENTRY,
    XEN_ELFNOTE_HYPERCALL_PAGE,
    XEN_ELFNOTE_PADDR_OFFSET,
    XEN_ELFNOTE_PHYS32_ENTRY,
    XEN_ELFNOTE_VIRT_BASE,
    XEN_NAME,
)
from .plan import PF_R, PF_W, PF_X, LayoutPlan

NT_GNU_BUILD_ID = 3
_LOAD_FLAGS = frozenset({PF_R | PF_X, PF_R, PF_R | PF_W})


@dataclass(frozen=True)
class SegmentInfo:
    kind: str
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int
    sections: tuple[str, ...]


@dataclass(frozen=True)
class SectionInfo:
    name: str
    address: int
    size: int
    flags: int


@dataclass(frozen=True)
class NoteInfo:
    name: bytes
    type: int
    desc: bytes
    desc_address: int = 0


@dataclass(frozen=True)
class ImageInfo:
    """Facts read from a linked image; the manifest is written from these."""

    entry: int
    machine: str
    elf_type: str
    elf_class: int
    segments: tuple[SegmentInfo, ...]
    sections: tuple[SectionInfo, ...]
    notes: tuple[NoteInfo, ...]
    sha256: str
    size: int

    @property
    def build_id(self) -> str | None:
        for note in self.notes:
            if note.name == b"GNU" and note.type == NT_GNU_BUILD_ID:
                return note.desc.hex()
        return None

    def loads(self) -> tuple[SegmentInfo, ...]:
        return tuple(s for s in self.segments if s.kind == "PT_LOAD")

    def notes_segment(self) -> SegmentInfo | None:
        return next((s for s in self.segments if s.kind == "PT_NOTE"), None)

    def xen_note(self, note_type: int) -> bytes | None:
        for note in self.notes:
            if note.name == XEN_NAME and note.type == note_type:
                return note.desc
        return None


def read_image(path: Path) -> ImageInfo:
    data = path.read_bytes()
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            sections = tuple(
                SectionInfo(s.name, s["sh_addr"], s["sh_size"], s["sh_flags"]) for s in elf.iter_sections()
            )
            segments = tuple(_segment(elf, segment) for segment in elf.iter_segments())
            header = elf.header
            info = ImageInfo(
                entry=header["e_entry"],
                machine=header["e_machine"],
                elf_type=header["e_type"],
                elf_class=elf.elfclass,
                segments=segments,
                sections=sections,
                notes=tuple(_notes(data, segments)),
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
            )
    except ELFError as error:
        raise LinkError(f"image check failed: {path.name} cannot be read back: {error}") from error
    return info


def _segment(elf: ELFFile, segment: Segment) -> SegmentInfo:
    loaded = (s for s in elf.iter_sections() if s["sh_flags"] & SHF_ALLOC)
    names = tuple(s.name for s in loaded if segment.section_in_segment(s))
    return SegmentInfo(
        kind=segment["p_type"],
        flags=segment["p_flags"],
        offset=segment["p_offset"],
        vaddr=segment["p_vaddr"],
        paddr=segment["p_paddr"],
        filesz=segment["p_filesz"],
        memsz=segment["p_memsz"],
        align=segment["p_align"],
        sections=names,
    )


def _notes(data: bytes, segments: tuple[SegmentInfo, ...]) -> list[NoteInfo]:
    notes = []
    for segment in segments:
        if segment.kind != "PT_NOTE":
            continue
        body = data[segment.offset : segment.offset + segment.filesz]
        at = 0
        while at + 12 <= len(body):
            namesz, descsz, note_type = struct.unpack_from("<III", body, at)
            name_at = at + 12
            desc_at = name_at + _pad4(namesz)
            name = body[name_at : name_at + namesz].rstrip(b"\0")
            notes.append(NoteInfo(name, note_type, body[desc_at : desc_at + descsz], segment.vaddr + desc_at))
            at = desc_at + _pad4(descsz)
    return notes


def _pad4(size: int) -> int:
    return (size + 3) & ~3


def check_image(image: ImageInfo, plan: LayoutPlan, stripped: bool) -> seal.Seal:
    """Check the properties the boot path and W^X rely on; raise if one fails; return the seal."""
    _expect(image.elf_class == 64 and image.machine == "EM_X86_64", "not an ELF64 x86-64 file")
    _expect(image.elf_type == "ET_EXEC", f"ELF type is {image.elf_type}, not ET_EXEC")
    loads = image.loads()
    _expect(bool(loads), "no loadable segment")
    _expect(loads[0].vaddr == plan.base, f"the image starts at {loads[0].vaddr:#x}, not {plan.base:#x}")
    for load in loads:
        where = f"segment at {load.vaddr:#x}"
        _expect(load.flags in _LOAD_FLAGS, f"{where} has flags {permissions(load.flags)}")
        _expect(load.vaddr == load.paddr, f"{where} has physical address {load.paddr:#x}")
        _expect(load.vaddr % plan.page_size == 0, f"{where} does not start on a page")
    _check_no_shared_pages(loads, plan.page_size)
    _expect(
        any(s.kind == "PT_GNU_STACK" and s.flags == PF_R | PF_W for s in image.segments),
        "no PT_GNU_STACK with RW flags",
    )
    _expect(sum(s.kind == "PT_NOTE" for s in image.segments) == 1, "expected exactly one PT_NOTE")
    # QEMU steps from note to note by the PT_NOTE's alignment, and the notes
    # are padded to 4 bytes: any other alignment hides the Xen entry note.
    notes_segment = image.notes_segment()
    _expect(notes_segment is not None and notes_segment.align == 4, "the PT_NOTE is not 4-byte aligned")
    entry_note = image.xen_note(XEN_ELFNOTE_PHYS32_ENTRY)
    _expect(entry_note is not None and len(entry_note) == 4, "no Xen PHYS32_ENTRY note")
    _expect(
        int.from_bytes(entry_note or b"", "little") == image.entry,
        "the Xen PHYS32_ENTRY note does not match the ELF entry point",
    )
    _expect(
        any(s.flags == PF_R | PF_X and s.vaddr <= image.entry < s.vaddr + s.memsz for s in loads),
        f"the entry point {image.entry:#x} is not in the executable segment",
    )
    _check_pv_notes(image, plan)
    _expect(image.build_id is not None, "no build-id note")
    _check_section_permissions(image)
    if stripped:
        extra = [s.name for s in image.sections if s.name == ".symtab" or s.name.startswith(".debug")]
        _expect(not extra, f"the stripped image still has {', '.join(extra)}")
    return check_seal(image, plan.page_size)


def _check_pv_notes(image: ImageInfo, plan: LayoutPlan) -> None:
    """The PV notes: all four or none; entry and hypercall page in text, 0 bases."""
    types = (XEN_ELFNOTE_ENTRY, XEN_ELFNOTE_HYPERCALL_PAGE, XEN_ELFNOTE_VIRT_BASE, XEN_ELFNOTE_PADDR_OFFSET)
    found = {t: image.xen_note(t) for t in types}
    if all(desc is None for desc in found.values()):
        return
    _expect(all(desc is not None and len(desc) == 8 for desc in found.values()), "incomplete Xen PV notes")
    value = {t: int.from_bytes(desc or b"", "little") for t, desc in found.items()}
    _expect(
        value[XEN_ELFNOTE_VIRT_BASE] == 0 and value[XEN_ELFNOTE_PADDR_OFFSET] == 0,
        "the Xen PV notes' VIRT_BASE and PADDR_OFFSET are not 0",
    )
    text = [s for s in image.loads() if s.flags == PF_R | PF_X]
    for note_type, what in ((XEN_ELFNOTE_ENTRY, "PV entry"), (XEN_ELFNOTE_HYPERCALL_PAGE, "hypercall page")):
        address = value[note_type]
        _expect(
            any(s.vaddr <= address < s.vaddr + s.memsz for s in text),
            f"the Xen PV {what} {address:#x} is not in the executable segment",
        )
    _expect(
        value[XEN_ELFNOTE_HYPERCALL_PAGE] % plan.page_size == 0,
        f"the Xen PV hypercall page {value[XEN_ELFNOTE_HYPERCALL_PAGE]:#x} is not page-aligned",
    )


def _check_section_permissions(image: ImageInfo) -> None:
    """Every loaded section lies in exactly one PT_LOAD that matches it.

    Writable sections only in a writable segment, code in the executable
    segment and nothing else there: the program headers are what the
    loader maps, and they must not hide a section's needs.
    """
    loads = image.loads()
    for section in image.sections:
        if not section.flags & SHF_ALLOC or section.size == 0:
            continue
        end = section.address + section.size
        holders = [s for s in loads if s.vaddr <= section.address and end <= s.vaddr + s.memsz]
        _expect(len(holders) == 1, f"section {section.name} is not inside exactly one PT_LOAD")
        flags = holders[0].flags
        _expect(
            bool(section.flags & SHF_WRITE) <= bool(flags & PF_W)
            and bool(section.flags & SHF_EXECINSTR) == bool(flags & PF_X),
            f"section {section.name} is in a {permissions(flags)} segment",
        )


def check_seal(image: ImageInfo, page_size: int) -> seal.Seal:
    """The seal note must describe the program headers exactly (see seal.py)."""
    found = [n for n in image.notes if n.name == seal.SEAL_NAME and n.type == seal.SEAL_TYPE]
    _expect(len(found) == 1, f"expected one seal note, found {len(found)}")
    note = found[0]
    try:
        parsed = seal.parse(note.desc)
    except ValueError as error:
        raise LinkError(f"image check failed: seal note: {error}") from error
    _expect(parsed.version == seal.SEAL_VERSION, f"seal note version {parsed.version}")
    _expect(note.desc_address % 8 == 0, f"the seal descriptor at {note.desc_address:#x} is not 8-aligned")
    _check_regions(parsed.regions)
    _check_regions_against_segments(image, parsed.regions, page_size)
    return parsed


def _check_regions(regions: tuple[seal.Region, ...]) -> None:
    _expect(
        [(r.kind, r.flags) for r in regions] == [(spec.kind, spec.flags) for spec in seal.REGIONS],
        "the seal note lists other regions or permissions than the linker writes",
    )
    for region in regions:
        _expect(region.start <= region.end, f"seal region {region.kind} ends before it starts")
    for first, second in pairwise(regions):
        _expect(first.end <= second.start, f"seal regions {first.kind} and {second.kind} are out of order")


def _check_regions_against_segments(
    image: ImageInfo, regions: tuple[seal.Region, ...], page_size: int
) -> None:
    notes_segment = image.notes_segment()
    notes = next(r for r in regions if r.kind == seal.Kind.NOTES)
    _expect(
        notes_segment is not None
        and (notes.start, notes.end) == (notes_segment.vaddr, notes_segment.vaddr + notes_segment.memsz),
        "the seal's notes region is not the PT_NOTE",
    )
    present = [r for r in regions if r.start < r.end]
    for load in image.loads():
        end = load.vaddr + load.memsz
        inside = [r for r in regions if load.vaddr <= r.start and r.end <= end]
        where = f"the PT_LOAD at {load.vaddr:#x}"
        _expect(any(r in present for r in inside), f"no seal region covers {where}")
        _expect(
            all(r.flags == load.flags for r in inside if r in present),
            f"seal regions in {where} have other permissions",
        )
        # Empty regions count for the bounds: lld extends a segment over an
        # empty section at its end (an empty .bss after the data).
        same = [r for r in inside if r.flags == load.flags]
        _expect(
            (min(r.start for r in same), max(r.end for r in same)) == (load.vaddr, end),
            f"the seal regions in {where} do not span it exactly",
        )
    for region in present:
        holders = [s for s in image.loads() if s.vaddr <= region.start and region.end <= s.vaddr + s.memsz]
        _expect(len(holders) == 1, f"seal region {region.kind} is not inside exactly one PT_LOAD")
    for first, second in pairwise(present):
        if first.flags != second.flags:
            _expect(
                (first.end - 1) // page_size < second.start // page_size,
                f"seal regions {first.kind} and {second.kind} share a page",
            )


def check_window(image: ImageInfo, layout: Randomisation, page_size: int) -> None:
    """The image lies where layout randomisation said, within its size bound."""
    loads = image.loads()
    start = min(s.vaddr for s in loads)
    end = max(s.vaddr + s.memsz for s in loads)
    span = -(-(end - start) // page_size) * page_size
    if span > layout.size_bound:
        raise LinkError(
            f"internal consistency error: the image spans {span} bytes, more than the bound of "
            f"{layout.size_bound} bytes that layout randomisation relies on. This is a bug in "
            "unikernel.link; please report it with the inputs"
        )
    _expect(start == layout.base, f"the image starts at {start:#x}, not at the chosen base {layout.base:#x}")
    if layout.seed != NONE:
        _expect(
            layout.window_start + layout.size_bound <= start and end <= layout.window_end,
            f"the image [{start:#x}, {end:#x}) is not inside its load window",
        )


def check_same_layout(image_path: Path, debug_path: Path) -> None:
    """The debug output must load exactly the bytes of the image."""
    image, debug = read_image(image_path), read_image(debug_path)
    _expect(image.entry == debug.entry, "the debug output has another entry point")
    _expect(image.build_id == debug.build_id, "the debug output has another build-id")
    _expect(
        [_shape(s) for s in image.loads()] == [_shape(s) for s in debug.loads()],
        "the debug output has other segments",
    )
    image_data, debug_data = image_path.read_bytes(), debug_path.read_bytes()
    for one, other in zip(image.loads(), debug.loads(), strict=True):
        _expect(
            image_data[one.offset : one.offset + one.filesz]
            == debug_data[other.offset : other.offset + other.filesz],
            f"the debug output loads other bytes at {one.vaddr:#x}",
        )


def _check_no_shared_pages(loads: tuple[SegmentInfo, ...], page_size: int) -> None:
    ordered = sorted(loads, key=lambda s: s.vaddr)
    for first, second in pairwise(ordered):
        last_page = (first.vaddr + first.memsz - 1) // page_size
        _expect(
            last_page < second.vaddr // page_size,
            f"segments at {first.vaddr:#x} and {second.vaddr:#x} share a page",
        )


def _shape(segment: SegmentInfo) -> tuple[int, int, int, int]:
    return (segment.vaddr, segment.filesz, segment.memsz, segment.flags)


def permissions(flags: int) -> str:
    """``r-x`` style text for program header flags."""
    return "".join(
        (
            "r" if flags & PF_R else "-",
            "w" if flags & PF_W else "-",
            "x" if flags & PF_X else "-",
        )
    )


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise LinkError(f"image check failed: {problem}")
