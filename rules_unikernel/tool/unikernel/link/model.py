"""The linker's view of its inputs: plain, immutable data.

Every later stage (symbol resolution, layout planning, the manifest) works
on these types only, so each stage can be tested on hand-made values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import PurePath

# Section header types and flags (ELF gABI), only those the linker looks at.
SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_NOTE = 7
SHT_NOBITS = 8
SHT_REL = 9
SHT_INIT_ARRAY = 14
SHT_FINI_ARRAY = 15
SHT_PREINIT_ARRAY = 16
SHT_GROUP = 17
SHT_SYMTAB_SHNDX = 18
SHT_LLVM_ADDRSIG = 0x6FFF4C03

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_LINK_ORDER = 0x80
SHF_TLS = 0x400
SHF_GNU_RETAIN = 0x200000
SHF_EXCLUDE = 0x80000000

GRP_COMDAT = 0x1

# Special section indices a symbol can carry instead of a real section.
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF

# Symbol types (STT_*) the linker looks at.
STT_FUNC = 2
STT_SECTION = 3
STT_FILE = 4

# lld gives every prevailing COMMON symbol an input section of its own with
# this name (owned by the defining file); scripts select it as file(COMMON).
COMMON = "COMMON"


class Binding(IntEnum):
    """Symbol binding (STB_*); GNU_UNIQUE is read as GLOBAL."""

    LOCAL = 0
    GLOBAL = 1
    WEAK = 2


@dataclass(frozen=True)
class InputSpec:
    """One ``--input LABEL=PATH`` argument, in command-line order.

    ``path`` is kept as given: lld prints it that way in its messages.
    """

    label: str
    path: str
    position: int
    # alwayslink: every member of the archive is loaded, as with lld's
    # --whole-archive, whether or not anything references it.
    whole: bool = False

    @property
    def file_name(self) -> str:
        return PurePath(self.path).name


@dataclass(frozen=True)
class Origin:
    """Where an input object came from: a plain object or an archive member."""

    spec: InputSpec
    member: str | None = None
    member_index: int = 0

    @property
    def file_name(self) -> str:
        """Path-independent name: ``start.o`` or ``boot.a:start.o``."""
        if self.member is None:
            return self.spec.file_name
        return f"{self.spec.file_name}:{self.member}"

    @property
    def lld_name(self) -> str:
        """How ld.lld names this file in diagnostics and ``--print-gc-sections``."""
        if self.member is None:
            return self.spec.path
        return f"{self.spec.path}({self.member})"

    @property
    def script_name(self) -> str:
        """The exact file pattern for this file in a linker script.

        For per-file placements (``lib.a:member.o(.text.f)``); lld matches
        the archive path as given on its command line.
        """
        if self.member is None:
            return self.spec.path
        return f"{self.spec.path}:{self.member}"

    @property
    def order(self) -> tuple[int, int]:
        return (self.spec.position, self.member_index)

    def describe(self) -> str:
        """For messages: ``//libos/boot:boot (boot.a:start.o)``."""
        return f"{self.spec.label} ({self.file_name})"


@dataclass(frozen=True)
class Section:
    """A section header of a relocatable object.

    ``link`` is sh_link; it matters for SHF_LINK_ORDER sections, which live
    and die with the section it names. A negative ``index`` marks the
    section lld makes for a COMMON symbol (see ``common_section``).
    """

    index: int
    name: str
    type: int
    flags: int
    size: int
    align: int
    link: int = 0

    @property
    def is_alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def is_write(self) -> bool:
        return bool(self.flags & SHF_WRITE)

    @property
    def is_exec(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def is_nobits(self) -> bool:
        return self.type == SHT_NOBITS

    @property
    def is_common(self) -> bool:
        return self.index < 0


@dataclass(frozen=True)
class Symbol:
    """A symbol table entry; ``shndx`` is the raw section index."""

    index: int
    name: str
    binding: Binding
    type: int
    shndx: int
    value: int
    size: int

    @property
    def is_global(self) -> bool:
        return self.binding != Binding.LOCAL

    @property
    def is_weak(self) -> bool:
        return self.binding == Binding.WEAK

    @property
    def is_undefined(self) -> bool:
        return self.shndx == SHN_UNDEF

    @property
    def is_common(self) -> bool:
        return self.shndx == SHN_COMMON

    @property
    def section_index(self) -> int | None:
        """The defining section, or None for undefined/absolute/common symbols."""
        if self.shndx == SHN_UNDEF or self.shndx >= SHN_LORESERVE:
            return None
        return self.shndx


def common_section(symbol: Symbol) -> Section:
    """The input section lld makes for a prevailing COMMON ``symbol``.

    Its index is ``-1 - symbol.index``: negative, so it never names a real
    section, and unique within the file. A COMMON symbol's value is its
    alignment.
    """
    return Section(
        -1 - symbol.index,
        COMMON,
        SHT_NOBITS,
        SHF_ALLOC | SHF_WRITE,
        symbol.size,
        max(symbol.value, 1),
    )


@dataclass(frozen=True)
class Relocation:
    """A relocation: at ``offset`` in section ``section``, refer to ``symbol``."""

    section: int
    offset: int
    type: int
    symbol: int
    addend: int


@dataclass(frozen=True)
class SectionGroup:
    """An SHT_GROUP: COMDAT groups are kept once per signature across the link."""

    signature: str
    sections: tuple[int, ...]
    comdat: bool


@dataclass(frozen=True, eq=False)
class InputFile:
    """A relocatable object, read once; compared by identity."""

    origin: Origin
    sections: tuple[Section, ...]
    symbols: tuple[Symbol, ...]
    relocations: tuple[Relocation, ...] = ()
    groups: tuple[SectionGroup, ...] = ()

    def describe(self) -> str:
        return self.origin.describe()

    def global_symbols(self) -> tuple[Symbol, ...]:
        return tuple(s for s in self.symbols if s.is_global and s.name)


@dataclass(frozen=True, eq=False)
class ArchiveInput:
    """An ``ar`` archive whose members are linked only when needed (or all, if ``spec.whole``)."""

    spec: InputSpec
    members: tuple[InputFile, ...]


Input = InputFile | ArchiveInput


@dataclass(frozen=True)
class Component:
    """A Bazel target's contribution: its label and its inputs in order."""

    label: str
    specs: tuple[InputSpec, ...]


def components_of(specs: tuple[InputSpec, ...]) -> tuple[Component, ...]:
    """Group ``--input`` arguments by label, in order of first appearance."""
    grouped: dict[str, list[InputSpec]] = {}
    for spec in specs:
        grouped.setdefault(spec.label, []).append(spec)
    return tuple(Component(label, tuple(items)) for label, items in grouped.items())
