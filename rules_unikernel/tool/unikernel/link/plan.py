"""The layout of the image, as data, before it becomes a linker script.

The image is laid out from ``IMAGE_BASE`` (physical = virtual; aslr may
choose another base) in four permission groups, each starting on a page of
its own:

    text    R-X  .text (.text.boot first), executable linker sets
    rodata  R--  the seal note, .note.Xen, .note.gnu.build-id, input notes,
                 .rodata, sets
    data    RW-  .data, .init_array, .fini_array, sets
    bss     RW-  sets without file contents, .bss (+ COMMON)

text, rodata and data are one PT_LOAD each; bss shares the data PT_LOAD.
The notes are also covered by a PT_NOTE.

Each output section holds an ordered list of placements. Input sections are
placed one by one, by explicit ``file(section)`` lines, and only the live
ones (marklive): the tool, not lld, decides what is in the image, and lld's
own garbage collection is left to agree (driver). The order of the lines is
the order lld's wildcards would give (``*(.text .text.*)``, then sections
named by flags, ...): files in lld's load order, sections by index. Sections
of one file that share a name (assembler ``unique`` ids) are one line, so
they stay together at the first one's place. Wildcards remain only for what
lld makes itself (build-id, GOT) and what is not loaded (debug info). The
script writer joins consecutive lines of one file that follow lld's input
order (``first``/``last``) into one line, which lld lays out the same way.
A randomised layout (aslr) is written differently: each shuffled output
section becomes one ``ordered`` wildcard line that lld sorts by
``symbol_order`` (order), padding included (``pads``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .classify import DISCARDED, Group, Placed, Role
from .errors import LinkError
from .model import InputFile, Section
from .notes import Note, xen_notes
from .pads import Pad
from .seal import NOTES_END, NOTES_START, SEAL_SECTION, seal_note

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
# Roles whose sections layout randomisation may reorder inside their output section.
_MOVABLE = frozenset({Role.TEXT, Role.RODATA, Role.DATA, Role.BSS})
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
    """One ``files(sections)`` line inside an output section.

    ``exact``: ``files`` is one file's name as lld knows it (``lib.a:m.o``),
    matched literally; otherwise it is a glob. ``movable``: a function or
    data object (in .text, .rodata, .data, .bss) that layout randomisation
    may reorder. ``pad``: bytes of padding before the line. ``first`` and
    ``last``: the input-order indexes (lld's) of the first and last section
    an exact line places, -1 when unknown; the script writer joins lines
    of one file whose sections follow each other in that order (script).
    ``ordered``: ``sections`` are name patterns (``.text.*``) of a line
    whose sections lld orders by the plan's ``symbol_order`` (order).
    """

    sections: tuple[str, ...]
    files: str = "*"
    keep: bool = False
    exact: bool = False
    movable: bool = False
    pad: int = 0
    first: int = -1
    last: int = -1
    ordered: bool = False


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
    """An input section the image could hold, where it goes, and whether it is live."""

    placed: Placed
    output: str
    live: bool

    @property
    def file(self) -> InputFile:
        return self.placed.file

    @property
    def section(self) -> Section:
        return self.placed.section

    @property
    def group(self) -> Group:
        assert self.placed.group is not None
        return self.placed.group


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
    # lld's --symbol-ordering-file: the order of the sections of ``ordered`` lines.
    symbol_order: tuple[str, ...] = ()
    # Padding before functions of ordered lines, as sections of generated objects (pads).
    pads: tuple[Pad, ...] = ()

    def defined_symbols(self) -> frozenset[str]:
        """Symbols the linker script defines (lld adds ``__start_``/``__stop_`` of sets)."""
        names = {self.end_symbol}
        for group in self.groups:
            names.update((group.start_symbol, group.end_symbol))
            for section in group.sections:
                names.update(s for s in (section.start_symbol, section.end_symbol) if s)
                names.update(note.desc_symbol for note in section.notes if note.desc_symbol)
                if section.name.isidentifier():
                    names.update((f"__start_{section.name}", f"__stop_{section.name}"))
        return frozenset(names)

    def notes(self) -> tuple[Note, ...]:
        return tuple(note for group in self.groups for section in group.sections for note in section.notes)

    def referenced_symbols(self) -> frozenset[str]:
        """Symbols the script refers to (in notes) but leaves to the inputs to define."""
        return frozenset(name for note in self.notes() for name in note.symbols()) - self.defined_symbols()

    def output_section(self, name: str) -> OutputSection:
        return next(s for group in self.groups for s in group.sections if s.name == name)

    def replace_section(self, new: OutputSection) -> LayoutPlan:
        """The same plan with the output section of the same name replaced by ``new``."""
        groups = tuple(
            replace(group, sections=tuple(new if s.name == new.name else s for s in group.sections))
            for group in self.groups
        )
        return replace(self, groups=groups)


Key = tuple[InputFile, int]


def build_plan(
    placed: Iterable[Placed],
    live: frozenset[Key] | None,
    entry: str,
    guest_name: str,
    pv: bool = False,
) -> LayoutPlan:
    """Lay out the ``placed`` input sections (in lld's input order) that are ``live``.

    ``live`` None places every section that could go into the image; that
    draft names the script's symbols before mark-live has run.
    """
    placed = tuple(placed)
    in_image = tuple(p for p in placed if p.group is not None)
    alive = frozenset(p.key for p in in_image) if live is None else live
    extras = _named_extras(in_image)
    order = {p.key: index for index, p in enumerate(placed)}
    lines: dict[str, list[tuple[tuple[int, ...], Placed]]] = {}
    for item in in_image:
        if item.key in alive:
            lines.setdefault(_output_name(item), []).append((_slot(item, extras, order), item))
    units = {name: _units(entries, order) for name, entries in lines.items()}
    groups = (
        _text_group(extras, units),
        _rodata_group(extras, units, xen_notes(guest_name, entry, pv)),
        _data_group(extras, units),
        _bss_group(extras, units),
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
        assignments=tuple(Assignment(p, _output_name(p), p.key in alive) for p in in_image),
    )


@dataclass(frozen=True)
class _Extras:
    """Names placed by flags rather than by convention: by role, and linker sets by group.

    In order of first appearance among all input sections, live or not, so
    that the order of lines does not depend on what mark-live removed.
    """

    by_role: Mapping[Role, tuple[str, ...]]
    sets: Mapping[Group, tuple[str, ...]]

    def rank(self, role: Role, name: str) -> int:
        return self.by_role[role].index(name)


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


def _slot(item: Placed, extras: _Extras, order: Mapping[Key, int]) -> tuple[int, ...]:
    """Where a section sorts inside its output section.

    The wildcard line it would match (boot code, conventional names, then
    each name placed by flags), then lld's input order.

    Constructor arrays: prioritized entries (``.init_array.N``) first, by
    priority, as lld's SORT_BY_INIT_PRIORITY orders them; then the rest.
    """
    position = order[item.key]
    if item.role in (Role.INIT_ARRAY, Role.FINI_ARRAY):
        name = item.section.name
        if name in (".init_array", ".fini_array"):
            return (1, 0, position)
        return (0, _init_priority(name), position)
    if item.role in (Role.BOOT, Role.SET):
        return (0, 0, position)
    if item.by_name:
        return (1, 0, position)
    return (2, extras.rank(item.role, item.section.name), position)


def _init_priority(name: str) -> int:
    """lld's priority of ``.init_array.N``: N if it is a number, else 65536."""
    suffix = name.rpartition(".")[2]
    return int(suffix) if suffix.isdigit() else 65536


def _units(
    entries: list[tuple[tuple[int, ...], Placed]], order: Mapping[Key, int]
) -> tuple[Placement, ...]:
    """One exact ``file(section)`` line per (file, section name), at its first section's place."""
    lines: dict[tuple[InputFile, str], Placement] = {}
    for _, item in sorted(entries, key=lambda entry: entry[0]):
        unit = (item.file, item.section.name)
        position = order[item.key]
        known = lines.get(unit)
        if known is None:
            lines[unit] = Placement(
                (item.section.name,),
                files=item.file.origin.script_name,
                keep=item.keep,
                exact=True,
                movable=item.role in _MOVABLE,
                first=position,
                last=position,
            )
        else:
            lines[unit] = replace(known, first=min(known.first, position), last=max(known.last, position))
    return tuple(lines.values())


def _group(group: Group, sections: tuple[OutputSection, ...]) -> GroupPlan:
    start, end = _GROUP_SYMBOLS[group]
    return GroupPlan(group, start, end, sections)


def _set_sections(
    group: Group, extras: _Extras, units: Mapping[str, tuple[Placement, ...]]
) -> tuple[OutputSection, ...]:
    segments = (_GROUP_SEGMENT[group],)
    return tuple(OutputSection(name, segments, units.get(name, ())) for name in extras.sets.get(group, ()))


def _text_group(extras: _Extras, units: Mapping[str, tuple[Placement, ...]]) -> GroupPlan:
    # Boot code is kept and comes first (its slot sorts first): it is entered
    # by address, from the note.
    text = OutputSection(".text", ("text",), units.get(".text", ()))
    return _group(Group.TEXT, (text, *_set_sections(Group.TEXT, extras, units)))


def _rodata_group(
    extras: _Extras, units: Mapping[str, tuple[Placement, ...]], notes: tuple[Note, ...]
) -> GroupPlan:
    sections = (
        # First in the group, so it starts on a page and its descriptor is
        # 8-byte aligned while the section (and the PT_NOTE) stays 4-aligned.
        OutputSection(SEAL_SECTION, _NOTE_SEGMENTS, notes=(seal_note(),), align=4, start_symbol=NOTES_START),
        OutputSection(XEN_NOTE_SECTION, _NOTE_SEGMENTS, notes=notes, align=4),
        OutputSection(BUILD_ID_SECTION, _NOTE_SEGMENTS, (Placement((BUILD_ID_SECTION,)),), align=4),
        OutputSection(".note", _NOTE_SEGMENTS, units.get(".note", ()), align=4, end_symbol=NOTES_END),
        OutputSection(".rodata", ("rodata",), units.get(".rodata", ())),
    )
    return _group(Group.RODATA, (*sections, *_set_sections(Group.RODATA, extras, units)))


def _data_group(extras: _Extras, units: Mapping[str, tuple[Placement, ...]]) -> GroupPlan:
    data = OutputSection(
        ".data",
        ("data",),
        # lld makes a GOT only for relocations it cannot relax; keep it with the data.
        (*units.get(".data", ()), Placement((".got", ".got.plt"))),
    )
    return _group(
        Group.DATA,
        (
            data,
            _array(".init_array", "__init_array", units),
            _array(".fini_array", "__fini_array", units),
            *_set_sections(Group.DATA, extras, units),
        ),
    )


def _array(name: str, symbol: str, units: Mapping[str, tuple[Placement, ...]]) -> OutputSection:
    """``.init_array``/``.fini_array``: prioritized entries first (see ``_slot``)."""
    return OutputSection(
        name,
        ("data",),
        units.get(name, ()),
        align=8,
        start_symbol=f"{symbol}_start",
        end_symbol=f"{symbol}_end",
    )


def _bss_group(extras: _Extras, units: Mapping[str, tuple[Placement, ...]]) -> GroupPlan:
    bss = OutputSection(
        ".bss",
        ("data",),
        units.get(".bss", ()),
        # The boot code clears [__bss_start, __bss_end) in 8-byte stores.
        end_align=8,
    )
    return _group(Group.BSS, (*_set_sections(Group.BSS, extras, units), bss))


def _unloaded(placed: tuple[Placed, ...]) -> tuple[OutputSection, ...]:
    names = {p.section.name for p in placed if p.role == Role.DEBUG}
    rank = {name: index for index, name in enumerate(DEBUG_ORDER)}
    ordered = sorted(names, key=lambda name: (rank.get(name, len(rank)), name))
    return tuple(OutputSection(name, placements=(Placement((name,)),)) for name in (*ordered, *SYMBOL_TABLES))


def _output_name(placed: Placed) -> str:
    if placed.role == Role.SET:
        return placed.section.name
    return _ROLE_OUTPUT[placed.role]
