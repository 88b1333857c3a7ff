"""A randomised order in a few script lines: one wildcard line per output section, ordered by lld.

lld matches every line of a linker script against every input section, so
a shuffled layout written as one ``file(section)`` line per function costs
lines x sections: quadratic. Instead each shuffled output section (.text,
.rodata, .data, .bss) gets one wildcard line, ``*(.text .text.*)``, and
lld is given ``--symbol-ordering-file``: one symbol of each section of the
line, in the shuffled order. Facts of lld this relies on (checked by the
tool's tests against the toolchain's lld):

* lld sorts the sections of each line of the script (each input section
  description) by the position of the first listed symbol they define;
  sections with a listed symbol come first, in that order, and the others
  after them in input order. Local symbols count as well as global ones.
* A symbol name is matched in every file: a name that two symbols share
  (two ``static`` functions of one name in two files) would give two
  sections one position, in an order lld's sort picks. So a section is
  listed by a name that exactly one symbol in the whole link has.
* A line takes every live section its patterns match that no earlier line
  took; so the wildcard comes after the lines of the exceptions of its own
  output section, and only where no later output section wants a section
  it matches (otherwise that output section keeps one line per unit).
* KEEP makes roots of what its pattern matches wherever the pattern is in
  the script, even if an earlier line placed it: the boot code goes into
  the ordered line and a ``KEEP(file(.text.boot))`` after it keeps it a
  root.

Units (one file's sections of one name) that cannot be listed keep named
lines, written before the wildcard in their shuffled order: a section
without a symbol of a unique name (string literals, a ``static`` function
whose name another file uses too), a name the wildcard does not match, a
file name two inputs share. The unit placements that are not movable (the
boot code) go into the ordered line all together or stay named all
together, so the boot code stays one piece.

Padding (``--aslr-padding``) before a listed unit is a section of its own
in a generated object (pads): its symbol is listed right before the
unit's, and a ``KEEP(*(.text.unikernel_pad.*))`` line after the wildcard
keeps the pads, which nothing refers to. A named unit keeps its padding
as ``. += N;`` on its line.

When no unit is an exception the image is the one per-line placement
gives, byte for byte: lld places the ordered line's sections in exactly
the shuffled order, pads included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .model import InputFile
from .pads import PATTERN, Pad, check_reserved
from .plan import Assignment, LayoutPlan, OutputSection, Placement

# The sections each ordered line takes: names and ``prefix*`` patterns.
PATTERNS: Mapping[str, tuple[str, ...]] = {
    ".text": (".text", ".text.*"),
    ".rodata": (".rodata", ".rodata.*"),
    ".data": (".data", ".data.*"),
    ".bss": (".bss", ".bss.*"),
}


@dataclass(frozen=True)
class Realised:
    """How one shuffled output section was written.

    ``ordered``: movable units in the ordered line; ``named``: movable units
    left on lines of their own (before it); ``fixed_ordered``: whether the
    units that are not movable (the boot code) are in the ordered line.
    ``wildcard`` False: the section kept one line per unit (nothing changed).
    """

    ordered: int
    named: int
    fixed_ordered: bool
    wildcard: bool


def matches(name: str, patterns: Iterable[str]) -> bool:
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in patterns)


def listable(name: str) -> bool:
    """Whether lld reads ``name`` back from an ordering file as itself.

    lld trims white space around each line and skips lines starting with
    ``#``; a name decoded with replacement characters would not match.
    """
    return bool(name) and name[0] != "#" and all(0x21 <= ord(char) <= 0x7E for char in name)


def unique_symbols(loaded: Sequence[InputFile]) -> dict[tuple[InputFile, int], str]:
    """For each section that defines one, the first symbol whose name no other symbol in the link has."""
    counts = Counter(s.name for file in loaded for s in file.symbols if s.name and not s.is_undefined)
    chosen: dict[tuple[InputFile, int], str] = {}
    for file in loaded:
        for symbol in file.symbols:
            index = symbol.section_index
            if index is not None and counts[symbol.name] == 1 and listable(symbol.name):
                chosen.setdefault((file, index), symbol.name)
    return chosen


def realise(
    plan: LayoutPlan, loaded: Sequence[InputFile], names: Iterable[str]
) -> tuple[LayoutPlan, dict[str, Realised]]:
    """``plan`` with each of the output sections ``names`` written as ordered lines where possible.

    Returns the plan, with its symbol ordering file's lines (in script
    order of the sections) and the pads of its ordered units, and how each
    section was written.
    """
    symbols = unique_symbols(loaded)
    units: dict[tuple[str, str], list[Assignment]] = {}
    for assignment in plan.assignments:
        if assignment.live:
            key = (assignment.file.origin.script_name, assignment.section.name)
            units.setdefault(key, []).append(assignment)
    rank = {s.name: index for index, s in enumerate(s for group in plan.groups for s in group.sections)}
    order: list[str] = []
    pads: list[Pad] = []
    realised: dict[str, Realised] = {}
    for name in names:
        section = next((s for g in plan.groups for s in g.sections if s.name == name), None)
        if section is None:
            continue
        # Checked first: a section that keeps its lines keeps its padding as gaps, no pads.
        written = None if _steals(plan, section, rank) else _ordered_section(section, units, symbols, pads)
        if written is None:
            realised[name] = Realised(0, sum(p.movable for p in section.placements), False, False)
            continue
        new, listed, result = written
        plan = plan.replace_section(new)
        order += listed
        realised[name] = result
    if pads:
        check_reserved(loaded)
    return replace(plan, symbol_order=tuple(order), pads=tuple(pads)), realised


def _unit_symbols(
    placement: Placement,
    units: Mapping[tuple[str, str], list[Assignment]],
    symbols: Mapping[tuple[InputFile, int], str],
    patterns: tuple[str, ...],
) -> list[str] | None:
    """The symbols that list ``placement``'s sections in input order, or None if it needs its own line."""
    if not placement.exact or len(placement.sections) != 1:
        return None
    name = placement.sections[0]
    members = units.get((placement.files, name), [])
    if not members or not matches(name, patterns) or len({a.file for a in members}) != 1:
        return None
    listed = [symbols.get(a.placed.key) for a in members]
    if any(symbol is None for symbol in listed):
        return None
    return [symbol for symbol in listed if symbol is not None]


def _ordered_section(
    section: OutputSection,
    units: Mapping[tuple[str, str], list[Assignment]],
    symbols: Mapping[tuple[InputFile, int], str],
    pads: list[Pad],
) -> tuple[OutputSection, list[str], Realised] | None:
    """The section as named lines, its ordered line and what keeps its pads; the
    ordering file's lines for it; how it was written. Appends its pads to ``pads``."""
    patterns = PATTERNS[section.name]
    exact = [p for p in section.placements if p.exact]
    lists = [_unit_symbols(p, units, symbols, patterns) for p in exact]
    fixed = [i for i, p in enumerate(exact) if not p.movable]
    # The fixed units (the boot code) move into the ordered line together or not at all.
    fixed_ordered = all(lists[i] is not None for i in fixed)
    if not fixed_ordered:
        for i in fixed:
            lists[i] = None
    if not any(lists[i] is not None for i, p in enumerate(exact) if p.movable):
        return None
    named = [p for p, listed in zip(exact, lists, strict=True) if listed is None]
    listed: list[str] = []
    first_pad = len(pads)
    for placement, symbols_ in zip(exact, lists, strict=True):
        if symbols_ is None:
            continue
        if placement.pad:
            pads.append(Pad(len(pads), placement.pad))
            listed.append(pads[-1].symbol)
        listed += symbols_
    kept = [
        replace(p, pad=0) for p, symbols_ in zip(exact, lists, strict=True) if symbols_ is not None and p.keep
    ]
    if len(pads) > first_pad:
        kept.append(Placement((PATTERN,), keep=True, ordered=True))
    others = [p for p in section.placements if not p.exact]
    wildcard = Placement(patterns, ordered=True)
    placements = (*named, wildcard, *kept, *others)
    movable = [p for p in exact if p.movable]
    ordered = sum(1 for p, s in zip(exact, lists, strict=True) if p.movable and s is not None)
    result = Realised(ordered, len(movable) - ordered, bool(fixed) and fixed_ordered, True)
    return replace(section, placements=placements), listed, result


def _steals(plan: LayoutPlan, section: OutputSection, rank: Mapping[str, int]) -> bool:
    """Whether the ordered line would take a live section a later output section places."""
    patterns = PATTERNS[section.name]
    here = rank[section.name]
    for assignment in plan.assignments:
        later = rank.get(assignment.output, here) > here
        if assignment.live and later and matches(assignment.section.name, patterns):
            return True
    unplaced = [p for s in plan.unloaded for p in s.placements] + list(plan.discard)
    return any(matches(name, patterns) for p in unplaced for name in p.sections)
