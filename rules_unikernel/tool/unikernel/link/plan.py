"""The layout of the image, as data, before it becomes a linker script.

The image is laid out from ``IMAGE_BASE`` (physical = virtual) in four
permission groups, each starting on a page of its own:

    text    R-X  .text (.text.boot first), executable linker sets
    rodata  R--  .note.Xen, .note.gnu.build-id, input notes, .rodata, sets
    data    RW-  .data, .init_array, .fini_array, sets
    bss     RW-  sets without file contents, .bss (+ COMMON)

text, rodata and data are one PT_LOAD each; bss shares the data PT_LOAD.
The notes are also covered by a PT_NOTE. Each output section holds an
ordered list of placements (``file(sections)`` lines); this version uses
wildcard file patterns, and later passes (shuffling, sealing) can replace a
list with per-file placements without touching the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .classify import DISCARDED, Group, Placed, Role, classify, conventional_patterns
from .errors import LinkError
from .model import InputFile
from .notes import Note, xen_notes

IMAGE_BASE = 0x100000
PAGE_SIZE = 4096

PF_X = 1
PF_W = 2
PF_R = 4

DEBUG_ORDER = (
    ".debug_abbrev",
    ".debug_info",
    ".debug_types",
    ".debug_str",
    ".debug_str_offsets",
    ".debug_line",
    ".debug_line_str",
    ".debug_addr",
    ".debug_aranges",
    ".debug_ranges",
    ".debug_rnglists",
    ".debug_loc",
    ".debug_loclists",
    ".debug_frame",
    ".debug_macinfo",
    ".debug_macro",
    ".debug_names",
    ".debug_pubnames",
    ".debug_pubtypes",
    ".debug_gnu_pubnames",
    ".debug_gnu_pubtypes",
)
SYMBOL_TABLES = (".symtab", ".strtab", ".shstrtab")
BUILD_ID_SECTION = ".note.gnu.build-id"
XEN_NOTE_SECTION = ".note.Xen"
IMAGE_END = "__image_end"


@dataclass(frozen=True)
class Segment:
    """A program header: ``name`` is its PHDRS name in the script."""

    name: str
    kind: str
    flags: int


SEGMENTS = (
    Segment("text", "PT_LOAD", PF_R | PF_X),
    Segment("rodata", "PT_LOAD", PF_R),
    Segment("data", "PT_LOAD", PF_R | PF_W),
    Segment("note", "PT_NOTE", PF_R),
    Segment("stack", "PT_GNU_STACK", PF_R | PF_W),
)
_GROUP_SEGMENT = {Group.TEXT: "text", Group.RODATA: "rodata", Group.DATA: "data", Group.BSS: "data"}
_NOTE_SEGMENTS = ("rodata", "note")
_GROUP_SYMBOLS = {
    Group.TEXT: ("__text_start", "__text_end"),
    Group.RODATA: ("__rodata_start", "__rodata_end"),
    Group.DATA: ("__data_start", "__data_end"),
    Group.BSS: ("__bss_start", "__bss_end"),
}
_ROLE_OUTPUT = {
    Role.BOOT: ".text",
    Role.TEXT: ".text",
    Role.NOTE: ".note",
    Role.RODATA: ".rodata",
    Role.DATA: ".data",
    Role.INIT_ARRAY: ".init_array",
    Role.FINI_ARRAY: ".fini_array",
    Role.BSS: ".bss",
}


@dataclass(frozen=True)
class Placement:
    """One ``files(sections)`` line inside an output section."""

    sections: tuple[str, ...]
    files: str = "*"
    keep: bool = False
    sort_by_init_priority: bool = False


@dataclass(frozen=True)
class OutputSection:
    """An output section; ``segments`` empty means not loaded (debug, tables)."""

    name: str
    segments: tuple[str, ...] = ()
    placements: tuple[Placement, ...] = ()
    notes: tuple[Note, ...] = ()
    align: int = 1
    start_symbol: str | None = None
    end_symbol: str | None = None
    end_align: int = 1


@dataclass(frozen=True)
class GroupPlan:
    group: Group
    start_symbol: str
    end_symbol: str
    sections: tuple[OutputSection, ...]


@dataclass(frozen=True)
class Assignment:
    """Where an input section of the image goes (before garbage collection)."""

    file: InputFile
    section_index: int
    output: str


@dataclass(frozen=True)
class LayoutPlan:
    entry: str
    base: int
    page_size: int
    segments: tuple[Segment, ...]
    groups: tuple[GroupPlan, ...]
    end_symbol: str
    unloaded: tuple[OutputSection, ...]
    discard: tuple[Placement, ...]
    assignments: tuple[Assignment, ...]

    def defined_symbols(self) -> frozenset[str]:
        """Symbols the linker script defines (lld adds ``__start_``/``__stop_`` of sets)."""
        names = {self.end_symbol}
        for group in self.groups:
            names.update((group.start_symbol, group.end_symbol))
            for section in group.sections:
                names.update(s for s in (section.start_symbol, section.end_symbol) if s)
                if section.name.isidentifier():
                    names.update((f"__start_{section.name}", f"__stop_{section.name}"))
        return frozenset(names)


def build_plan(
    files: Iterable[InputFile],
    dropped: Mapping[InputFile, frozenset[int]],
    entry: str,
    guest_name: str,
) -> LayoutPlan:
    """Lay out the loaded ``files``; ``dropped`` lists duplicate COMDAT sections."""
    placed = tuple(
        classify(file, section)
        for file in files
        for section in file.sections
        if section.index not in dropped.get(file, frozenset())
    )
    extras = _named_extras(placed)
    groups = (
        _text_group(extras),
        _rodata_group(extras, xen_notes(guest_name, entry)),
        _data_group(extras),
        _bss_group(extras),
    )
    return LayoutPlan(
        entry=entry,
        base=IMAGE_BASE,
        page_size=PAGE_SIZE,
        segments=SEGMENTS,
        groups=groups,
        end_symbol=IMAGE_END,
        unloaded=_unloaded(placed),
        discard=tuple(Placement((name,)) for name in DISCARDED),
        assignments=tuple(
            Assignment(p.file, p.section.index, _output_name(p)) for p in placed if p.group is not None
        ),
    )


@dataclass(frozen=True)
class _Extras:
    """Sections that need their names spelled out: by role, and linker sets by group."""

    by_role: Mapping[Role, tuple[str, ...]]
    sets: Mapping[Group, tuple[str, ...]]

    def names(self, role: Role) -> tuple[str, ...]:
        return self.by_role.get(role, ())

    def set_sections(self, group: Group) -> tuple[OutputSection, ...]:
        segments = (_GROUP_SEGMENT[group],)
        return tuple(
            OutputSection(name, segments, (Placement((name,), keep=True),))
            for name in self.sets.get(group, ())
        )


def _named_extras(placed: tuple[Placed, ...]) -> _Extras:
    by_role: dict[Role, list[str]] = {}
    sets: dict[Group, list[str]] = {}
    owner: dict[str, Placed] = {}
    for item in placed:
        if item.by_name or item.group is None:
            continue
        name = item.section.name
        first = owner.setdefault(name, item)
        if (first.role, first.group) != (item.role, item.group):
            raise LinkError(
                f"section '{name}' has different flags in {first.file.describe()} "
                f"and {item.file.describe()}; it cannot go to one place"
            )
        if first is not item:
            continue
        if item.role == Role.SET:
            sets.setdefault(item.group, []).append(name)
        else:
            by_role.setdefault(item.role, []).append(name)
    return _Extras(
        {role: tuple(names) for role, names in by_role.items()},
        {group: tuple(names) for group, names in sets.items()},
    )


def _main_placements(role: Role, extras: _Extras, keep: bool = False) -> tuple[Placement, ...]:
    placements = [Placement(conventional_patterns(role), keep=keep)]
    placements.extend(Placement((name,)) for name in extras.names(role))
    return tuple(placements)


def _group(group: Group, sections: tuple[OutputSection, ...]) -> GroupPlan:
    start, end = _GROUP_SYMBOLS[group]
    return GroupPlan(group, start, end, sections)


def _text_group(extras: _Extras) -> GroupPlan:
    # Boot code is kept and comes first: it is entered by address, from the note.
    boot = Placement(conventional_patterns(Role.BOOT), keep=True)
    text = OutputSection(".text", ("text",), (boot, *_main_placements(Role.TEXT, extras)))
    return _group(Group.TEXT, (text, *extras.set_sections(Group.TEXT)))


def _rodata_group(extras: _Extras, notes: tuple[Note, ...]) -> GroupPlan:
    sections = (
        OutputSection(XEN_NOTE_SECTION, _NOTE_SEGMENTS, notes=notes, align=4),
        OutputSection(BUILD_ID_SECTION, _NOTE_SEGMENTS, (Placement((BUILD_ID_SECTION,)),), align=4),
        OutputSection(".note", _NOTE_SEGMENTS, _main_placements(Role.NOTE, extras, keep=True), align=4),
        OutputSection(".rodata", ("rodata",), _main_placements(Role.RODATA, extras)),
    )
    return _group(Group.RODATA, (*sections, *extras.set_sections(Group.RODATA)))


def _data_group(extras: _Extras) -> GroupPlan:
    data = OutputSection(
        ".data",
        ("data",),
        # lld makes a GOT only for relocations it cannot relax; keep it with the data.
        (*_main_placements(Role.DATA, extras), Placement((".got", ".got.plt"))),
    )
    return _group(
        Group.DATA,
        (
            data,
            _array(".init_array", "__init_array"),
            _array(".fini_array", "__fini_array"),
            *extras.set_sections(Group.DATA),
        ),
    )


def _array(name: str, symbol: str) -> OutputSection:
    """``.init_array``/``.fini_array``: prioritized entries first, as lld orders them."""
    return OutputSection(
        name,
        ("data",),
        (
            Placement((f"{name}.*",), keep=True, sort_by_init_priority=True),
            Placement((name,), keep=True),
        ),
        align=8,
        start_symbol=f"{symbol}_start",
        end_symbol=f"{symbol}_end",
    )


def _bss_group(extras: _Extras) -> GroupPlan:
    bss = OutputSection(
        ".bss",
        ("data",),
        (*_main_placements(Role.BSS, extras),),
        # The boot code clears [__bss_start, __bss_end) in 8-byte stores.
        end_align=8,
    )
    return _group(Group.BSS, (*extras.set_sections(Group.BSS), bss))


def _unloaded(placed: tuple[Placed, ...]) -> tuple[OutputSection, ...]:
    names = {p.section.name for p in placed if p.role == Role.DEBUG}
    rank = {name: index for index, name in enumerate(DEBUG_ORDER)}
    ordered = sorted(names, key=lambda name: (rank.get(name, len(rank)), name))
    return tuple(OutputSection(name, placements=(Placement((name,)),)) for name in (*ordered, *SYMBOL_TABLES))


def _output_name(placed: Placed) -> str:
    if placed.role == Role.SET:
        return placed.section.name
    return _ROLE_OUTPUT[placed.role]
