"""Check a linked image the way a loader and a reviewer would, from the file alone.

These checks repeat some of the linker's own (``unikernel.link.verify``) on
purpose: they read the file with another ELF library, take the Xen numbers
from Xen's header rather than from the linker, and also compare the image
with its manifest, so an image edited or swapped after the link is caught.
``verify`` returns the problems as data; the command line prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from .elf import PF_R, PF_W, PF_X, ElfImage, Note, ProgramHeader, permissions
from .seal import SEAL_NAME, SEAL_TYPE, SEAL_VERSION, SealRegion, parse_seal

PAGE_SIZE = 4096

# xen/include/public/elfnote.h (a test compares them with the installed header).
XEN_ELFNOTE_ENTRY = 1
XEN_ELFNOTE_HYPERCALL_PAGE = 2
XEN_ELFNOTE_VIRT_BASE = 3
XEN_ELFNOTE_PADDR_OFFSET = 4
XEN_ELFNOTE_XEN_VERSION = 5
XEN_ELFNOTE_GUEST_OS = 6
XEN_ELFNOTE_LOADER = 8
XEN_ELFNOTE_PHYS32_ENTRY = 18
XEN_NAME = b"Xen"


@dataclass(frozen=True)
class Violation:
    """One failed check: what is wrong, and where to look."""

    what: str
    where: str

    def line(self) -> str:
        return f"verify: FAIL: {self.what}, {self.where}"


@dataclass(frozen=True)
class Verdict:
    image: ElfImage
    manifest_name: str | None
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        loads = self.image.loads()
        manifest = f"manifest {self.manifest_name} matches" if self.manifest_name else "no manifest"
        seal = ", seal matches" if self.image.note(SEAL_NAME, SEAL_TYPE) else ""
        kinds = "PVH+PV" if self.image.note(XEN_NAME, XEN_ELFNOTE_ENTRY) else "PVH"
        return (
            f"verify: OK {self.image.name}: ELF64 x86-64 EXEC, {len(loads)} PT_LOAD, W^X, "
            f"Xen {kinds} notes{seal}, entry {self.image.entry:#x}, {manifest}"
        )


def verify(
    image: ElfImage,
    manifest: Mapping[str, object] | None = None,
    manifest_name: str | None = None,
    debug_twin: bool = False,
) -> Verdict:
    """Every check on ``image`` (and its manifest, if given); nothing raises.

    ``debug_twin``: the image is the ``.debug.elf`` of the manifest's image,
    so its sha256 differs by design and its build-id is compared instead.
    """
    problems = [
        *_check_header(image),
        *_check_loads(image),
        *_check_stack(image),
        *_check_xen_notes(image),
        *_check_entry(image),
    ]
    if manifest is not None:
        problems += _check_manifest(image, manifest, manifest_name or "manifest", debug_twin)
    problems += _check_seal(image)
    return Verdict(image, manifest_name if manifest is not None else None, tuple(problems))


def _check_header(image: ElfImage) -> list[Violation]:
    header = image.header
    where = f"ELF header of {image.name}"
    wanted = {
        "EI_CLASS": "ELFCLASS64",
        "EI_DATA": "ELFDATA2LSB",
        "e_machine": "EM_X86_64",
        "e_type": "ET_EXEC",
    }
    return [
        Violation(f"{key} is {header.get(key)}, expected {value}", where)
        for key, value in wanted.items()
        if header.get(key) != value
    ]


def _check_loads(image: ElfImage) -> list[Violation]:
    loads = image.loads()
    if not loads:
        return [Violation("no PT_LOAD program header", f"program headers of {image.name}")]
    problems = []
    for load in loads:
        where = _where(load)
        if load.flags & PF_W and load.flags & PF_X:
            problems.append(Violation(f"PT_LOAD is writable and executable ({load.permissions})", where))
        if load.vaddr % PAGE_SIZE:
            problems.append(Violation(f"PT_LOAD does not start on a page ({load.vaddr:#x})", where))
        if (load.vaddr - load.offset) % PAGE_SIZE:
            problems.append(
                Violation(
                    f"PT_LOAD address {load.vaddr:#x} and file offset {load.offset:#x} "
                    f"differ modulo {PAGE_SIZE}",
                    where,
                )
            )
    # Permissions are per page: two loads on one page give the page both sets.
    ordered = sorted((s for s in loads if s.memsz), key=lambda s: s.vaddr)
    for first, second in pairwise(ordered):
        if (first.vaddr + first.memsz - 1) // PAGE_SIZE >= second.vaddr // PAGE_SIZE:
            problems.append(
                Violation(
                    f"PT_LOADs {first.permissions} and {second.permissions} share a page",
                    f"program headers {first.index} ({first.vaddr:#x}) "
                    f"and {second.index} ({second.vaddr:#x})",
                )
            )
    return problems


def _check_stack(image: ElfImage) -> list[Violation]:
    stacks = [s for s in image.segments if s.type == "PT_GNU_STACK"]
    if not stacks:
        return [
            Violation("no PT_GNU_STACK (the stack would be executable)", f"program headers of {image.name}")
        ]
    return [
        Violation(f"PT_GNU_STACK is executable ({s.permissions})", _where(s))
        for s in stacks
        if s.flags & PF_X
    ]


def _check_xen_notes(image: ElfImage) -> list[Violation]:
    where = f"PT_NOTE of {image.name}"
    problems = []
    entry = image.note(XEN_NAME, XEN_ELFNOTE_PHYS32_ENTRY)
    if entry is None:
        problems.append(Violation("no XEN_ELFNOTE_PHYS32_ENTRY (18) note: a PVH loader cannot enter", where))
    elif len(entry.desc) != 4:
        problems.append(
            Violation(f"XEN_ELFNOTE_PHYS32_ENTRY has {len(entry.desc)} bytes, expected 4", _note_where(entry))
        )
    else:
        address = int.from_bytes(entry.desc, "little")
        # The PVH entry is a physical address: look it up in p_paddr ranges.
        if not any(_executable(s) and s.paddr <= address < s.paddr + s.memsz for s in image.loads()):
            problems.append(
                Violation(
                    f"XEN_ELFNOTE_PHYS32_ENTRY {address:#x} is not inside an executable PT_LOAD",
                    _note_where(entry),
                )
            )
    if image.note(XEN_NAME, XEN_ELFNOTE_GUEST_OS) is None:
        problems.append(Violation("no XEN_ELFNOTE_GUEST_OS (6) note", where))
    for note_type, name, expected in (
        (XEN_ELFNOTE_XEN_VERSION, "XEN_VERSION", "xen-3.0"),
        (XEN_ELFNOTE_LOADER, "LOADER", "generic"),
    ):
        note = image.note(XEN_NAME, note_type)
        if note is None:
            problems.append(Violation(f"no XEN_ELFNOTE_{name} ({note_type}) note", where))
        elif note.text() != expected:
            problems.append(
                Violation(f"XEN_ELFNOTE_{name} is {note.text()!r}, expected {expected!r}", _note_where(note))
            )
    return problems + _check_pv_notes(image)


_PV_NOTES = (
    (XEN_ELFNOTE_ENTRY, "ENTRY"),
    (XEN_ELFNOTE_HYPERCALL_PAGE, "HYPERCALL_PAGE"),
    (XEN_ELFNOTE_VIRT_BASE, "VIRT_BASE"),
    (XEN_ELFNOTE_PADDR_OFFSET, "PADDR_OFFSET"),
)


def _check_pv_notes(image: ElfImage) -> list[Violation]:
    """A PV-capable image has all four PV notes, 8 bytes each; an image with none is PVH only."""
    found = {t: image.note(XEN_NAME, t) for t, _ in _PV_NOTES}
    if all(note is None for note in found.values()):
        return []
    where = f"PT_NOTE of {image.name}"
    problems = []
    values = {}
    for note_type, name in _PV_NOTES:
        note = found[note_type]
        if note is None:
            problems.append(
                Violation(f"no XEN_ELFNOTE_{name} ({note_type}) note: the Xen PV notes are incomplete", where)
            )
        elif len(note.desc) != 8:
            problems.append(
                Violation(f"XEN_ELFNOTE_{name} has {len(note.desc)} bytes, expected 8", _note_where(note))
            )
        else:
            values[note_type] = int.from_bytes(note.desc, "little")
    for note_type, name in _PV_NOTES[2:]:
        if values.get(note_type, 0) != 0:
            problems.append(
                Violation(
                    f"XEN_ELFNOTE_{name} is {values[note_type]:#x}, expected 0 (virtual == physical)",
                    _note_where(found[note_type]),
                )
            )
    for note_type, name in _PV_NOTES[:2]:
        address = values.get(note_type)
        if address is None:
            continue
        # PV addresses are virtual: look them up in p_vaddr ranges.
        if not any(_executable(s) and s.contains(address) for s in image.loads()):
            problems.append(
                Violation(
                    f"XEN_ELFNOTE_{name} {address:#x} is not inside an executable PT_LOAD",
                    _note_where(found[note_type]),
                )
            )
        elif note_type == XEN_ELFNOTE_HYPERCALL_PAGE and address % PAGE_SIZE:
            problems.append(
                Violation(
                    f"XEN_ELFNOTE_HYPERCALL_PAGE {address:#x} is not page-aligned",
                    _note_where(found[note_type]),
                )
            )
    return problems


def _check_entry(image: ElfImage) -> list[Violation]:
    if any(_executable(s) and s.contains(image.entry) for s in image.loads()):
        return []
    return [
        Violation(
            f"entry point {image.entry:#x} is not inside an executable PT_LOAD", f"e_entry of {image.name}"
        )
    ]


def _check_manifest(
    image: ElfImage, manifest: Mapping[str, object], name: str, debug_twin: bool
) -> list[Violation]:
    problems = []
    facts = _mapping(manifest.get("image"))
    if debug_twin:
        if facts.get("build_id") != image.build_id:
            problems.append(
                Violation(
                    f"build-id {image.build_id} differs from the manifest's {facts.get('build_id')}",
                    f"{name} image.build_id",
                )
            )
    elif facts.get("sha256") != image.sha256:
        problems.append(
            Violation(
                f"sha256 of {image.name} is {image.sha256}, the manifest says {facts.get('sha256')}",
                f"{name} image.sha256",
            )
        )
    entry = _mapping(manifest.get("entry")).get("address")
    if _number(entry) != image.entry:
        problems.append(
            Violation(f"entry {entry} differs from e_entry {image.entry:#x}", f"{name} entry.address")
        )
    segments = manifest.get("segments")
    listed = [_mapping(s) for s in segments] if isinstance(segments, list) else []
    if len(listed) != len(image.segments):
        problems.append(
            Violation(
                f"{len(listed)} segments listed, the image has {len(image.segments)} program headers",
                f"{name} segments",
            )
        )
    for index, (entry_, segment) in enumerate(zip(listed, image.segments, strict=False)):
        for field, actual in _segment_fields(segment).items():
            if field in entry_ and _number(entry_[field]) != _number(actual):
                problems.append(
                    Violation(
                        f"{field} {entry_[field]} differs from program header {index}'s {actual}",
                        f"{name} segments[{index}]",
                    )
                )
    return problems + _check_manifest_seal(image, manifest, name)


def _check_manifest_seal(image: ElfImage, manifest: Mapping[str, object], name: str) -> list[Violation]:
    """The manifest's copy of the seal (if it has one) must be the note's."""
    listed = _mapping(manifest.get("seal")).get("regions")
    note = image.note(SEAL_NAME, SEAL_TYPE)
    if not isinstance(listed, list):
        return []
    try:
        regions = parse_seal(note.desc).regions if note else ()
    except ValueError:
        return []  # reported by the seal check
    actual = [
        {"kind": r.name, "start": r.start, "end": r.end, "permissions": permissions(r.flags)} for r in regions
    ]
    claimed = [{key: _number(value) for key, value in _mapping(r).items()} for r in listed]
    if claimed != actual:
        return [
            Violation("the seal regions listed differ from the image's seal note", f"{name} seal.regions")
        ]
    return []


def _check_seal(image: ElfImage) -> list[Violation]:
    """The seal's regions, merged by permission, must be exactly the PT_LOADs.

    The boot code builds its page tables from the seal, so a region the
    program headers disagree with is memory mapped with the wrong permissions.
    """
    note = image.note(SEAL_NAME, SEAL_TYPE)
    if note is None:
        return []
    where = _note_where(note)
    try:
        seal = parse_seal(note.desc)
    except ValueError as error:
        return [Violation(f"seal note is malformed: {error}", where)]
    if seal.version != SEAL_VERSION:
        return [Violation(f"seal note has version {seal.version}, expected {SEAL_VERSION}", where)]
    problems = []
    present = [r for r in seal.regions if r.start != r.end]  # an empty region maps nothing
    for first, second in pairwise(present):
        if first.end > second.start:
            problems.append(
                Violation(f"seal regions {first.name} and {second.name} overlap or are out of order", where)
            )
    notes = next((r for r in seal.regions if r.name == "notes"), None)
    pt_note = next((s for s in image.segments if s.type == "PT_NOTE"), None)
    if (
        notes is not None
        and pt_note is not None
        and (notes.start, notes.end)
        != (
            pt_note.vaddr,
            pt_note.vaddr + pt_note.memsz,
        )
    ):
        problems.append(
            Violation(
                f"seal region notes [{notes.start:#x}, {notes.end:#x}) is not the PT_NOTE "
                f"[{pt_note.vaddr:#x}, {pt_note.vaddr + pt_note.memsz:#x})",
                where,
            )
        )
    loads = [s for s in image.loads() if s.memsz]
    covered: dict[int, list[SealRegion]] = {s.index: [] for s in loads}
    for number, region in enumerate(seal.regions):
        if region not in present:
            continue
        home = next((s for s in loads if s.vaddr <= region.start and region.end <= s.vaddr + s.memsz), None)
        if home is None or home.flags != region.flags:
            problems.append(
                Violation(
                    f"seal region {region.name} [{region.start:#x}, {region.end:#x}) "
                    f"{permissions(region.flags)} is not inside a PT_LOAD with the same permissions",
                    f"{where}, region {number}",
                )
            )
        else:
            covered[home.index].append(region)
    for load in loads:
        regions = covered[load.index]
        span = (min(r.start for r in regions), max(r.end for r in regions)) if regions else None
        if span != (load.vaddr, load.vaddr + load.memsz):
            shown = f"[{span[0]:#x}, {span[1]:#x})" if span else "nothing"
            problems.append(
                Violation(
                    f"seal regions cover {shown} of PT_LOAD [{load.vaddr:#x}, {load.vaddr + load.memsz:#x}) "
                    f"{load.permissions}",
                    where,
                )
            )
    return problems


def _segment_fields(segment: ProgramHeader) -> dict[str, int | str]:
    """A program header under the manifest's field names."""
    return {
        "type": segment.type,
        "permissions": segment.permissions,
        "address": segment.vaddr,
        "physical_address": segment.paddr,
        "file_size": segment.filesz,
        "memory_size": segment.memsz,
    }


def _executable(segment: ProgramHeader) -> bool:
    # rwx counts too: the W^X check reports that segment once, not again for the entry.
    return segment.flags & (PF_R | PF_X) == PF_R | PF_X


def _where(segment: ProgramHeader) -> str:
    return f"program header {segment.index} ({segment.type} at {segment.vaddr:#x})"


def _note_where(note: Note) -> str:
    return f"note at file offset {note.offset:#x}"


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _number(value: object) -> object:
    """Manifest addresses are hex strings; compare them as numbers."""
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            return value
    return value
