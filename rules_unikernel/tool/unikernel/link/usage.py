"""What each component brought into the link, and what the image kept of it.

Computed from the plan's assignments, the very records the linker script
was written from, with the liveness mark-live decided (and lld confirmed):
nothing here is measured again. "In" is every input section of a loaded
object that could go into the image (COMDAT duplicates excluded; archive
members that were never pulled are not in the link at all); each one is
either kept or removed, so in = kept + removed, group by group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .classify import Group
from .model import STT_FILE, STT_FUNC, STT_SECTION, InputFile, InputSpec, Section, components_of
from .plan import Assignment

LARGEST = 20


@dataclass(frozen=True)
class Bytes:
    """Sizes by permission group."""

    text: int = 0
    rodata: int = 0
    data: int = 0
    bss: int = 0

    @property
    def total(self) -> int:
        return self.text + self.rodata + self.data + self.bss

    def plus(self, group: Group, size: int) -> Bytes:
        return replace(self, **{group.value: getattr(self, group.value) + size})

    def as_dict(self) -> dict[str, int]:
        return {
            "text": self.text,
            "rodata": self.rodata,
            "data": self.data,
            "bss": self.bss,
            "total": self.total,
        }


@dataclass(frozen=True)
class Function:
    """A function section: its main symbol, where it came from, its size."""

    name: str
    label: str
    file: str
    section: str
    size: int


@dataclass(frozen=True)
class ComponentUsage:
    label: str
    bytes_in: Bytes
    kept: Bytes
    removed: Bytes
    removed_functions: tuple[Function, ...]


def account(specs: Sequence[InputSpec], assignments: Iterable[Assignment]) -> tuple[ComponentUsage, ...]:
    """One record per component (``--input`` label), in command-line order."""
    by_label: dict[str, list[Assignment]] = {}
    for assignment in assignments:
        by_label.setdefault(assignment.file.origin.spec.label, []).append(assignment)
    usages = []
    for component in components_of(tuple(specs)):
        kept, removed = Bytes(), Bytes()
        functions = []
        for assignment in by_label.get(component.label, ()):
            size = assignment.section.size
            if assignment.live:
                kept = kept.plus(assignment.group, size)
            else:
                removed = removed.plus(assignment.group, size)
                if assignment.group == Group.TEXT and size:
                    functions.append(function(assignment))
        bytes_in = Bytes(**{g.value: getattr(kept, g.value) + getattr(removed, g.value) for g in Group})
        usages.append(ComponentUsage(component.label, bytes_in, kept, removed, tuple(functions)))
    return tuple(usages)


def largest_functions(assignments: Iterable[Assignment], top: int = LARGEST) -> tuple[Function, ...]:
    """The ``top`` largest live code sections of the image, largest first."""
    functions = [function(a) for a in assignments if a.live and a.group == Group.TEXT and a.section.size]
    functions.sort(key=lambda f: (-f.size, f.name, f.label, f.file, f.section))
    return tuple(functions[:top])


def function(assignment: Assignment) -> Function:
    origin = assignment.file.origin
    return Function(
        name=function_name(assignment.file, assignment.section),
        label=origin.spec.label,
        file=origin.file_name,
        section=assignment.section.name,
        size=assignment.section.size,
    )


def function_name(file: InputFile, section: Section) -> str:
    """The section's function symbol; else its first named symbol; else the section's name.

    With -ffunction-sections each code section holds one function; code
    written in assembly may define plain labels, or none at all.
    """
    defined = [
        s
        for s in file.symbols
        if s.name and s.section_index == section.index and s.type not in (STT_SECTION, STT_FILE)
    ]
    functions = [s for s in defined if s.type == STT_FUNC]
    chosen = functions or defined
    return chosen[0].name if chosen else section.name
