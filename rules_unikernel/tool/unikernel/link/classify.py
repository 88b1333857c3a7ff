"""Decide, for every input section, where it goes in the image.

Every section kind an input can contain gets an answer here, so the linker
script can run with ``--orphan-handling=error`` and a section the rules do
not cover is reported with its file, before lld runs. Sections are matched
by name first (the conventional names), then by their flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase

from .errors import LinkError
from .model import (
    SHF_EXCLUDE,
    SHF_LINK_ORDER,
    SHF_TLS,
    SHT_GROUP,
    SHT_LLVM_ADDRSIG,
    SHT_NULL,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    InputFile,
    Section,
    common_section,
)
from .scriptnames import file_name_problem, section_name_problem, shown
from .symtab import Resolution


class Group(Enum):
    """Permission groups; each starts on a page of its own."""

    TEXT = "text"
    RODATA = "rodata"
    DATA = "data"
    BSS = "bss"


class Role(Enum):
    """What the link does with an input section."""

    IGNORE = "ignore"  # tables lld consumes itself: symbols, relocations, groups
    DISCARD = "discard"
    DEBUG = "debug"
    BOOT = "boot"
    TEXT = "text"
    NOTE = "note"
    RODATA = "rodata"
    DATA = "data"
    INIT_ARRAY = "init_array"
    FINI_ARRAY = "fini_array"
    BSS = "bss"
    SET = "set"  # a linker set: own output section, __start_/__stop_ symbols


@dataclass(frozen=True)
class _Rule:
    role: Role
    patterns: tuple[str, ...]
    writable: bool
    executable: bool


# Conventional names, in match order: the first rule whose pattern matches
# wins, so .text.boot is claimed before .text.* sees it.
_RULES = (
    _Rule(Role.BOOT, (".text.boot", ".text.boot.*"), writable=False, executable=True),
    _Rule(Role.TEXT, (".text", ".text.*"), writable=False, executable=True),
    _Rule(Role.NOTE, (".note", ".note.*"), writable=False, executable=False),
    _Rule(Role.RODATA, (".rodata", ".rodata.*", ".lrodata", ".lrodata.*"), writable=False, executable=False),
    _Rule(Role.DATA, (".data", ".data.*", ".ldata", ".ldata.*"), writable=True, executable=False),
    _Rule(Role.INIT_ARRAY, (".init_array", ".init_array.*"), writable=True, executable=False),
    _Rule(Role.FINI_ARRAY, (".fini_array", ".fini_array.*"), writable=True, executable=False),
    _Rule(Role.BSS, (".bss", ".bss.*", ".lbss", ".lbss.*", "COMMON"), writable=True, executable=False),
)

ROLE_GROUPS = {
    Role.BOOT: Group.TEXT,
    Role.TEXT: Group.TEXT,
    Role.NOTE: Group.RODATA,
    Role.RODATA: Group.RODATA,
    Role.DATA: Group.DATA,
    Role.INIT_ARRAY: Group.DATA,
    Role.FINI_ARRAY: Group.DATA,
    Role.BSS: Group.BSS,
}

# Roles whose sections the linker script keeps (KEEP) whether or not
# anything refers to them: boot code is entered by address, notes are read
# by loaders, constructor arrays and linker sets are walked, not called.
KEEP_ROLES = frozenset({Role.BOOT, Role.NOTE, Role.INIT_ARRAY, Role.FINI_ARRAY, Role.SET})

# Dropped from the image: unwind tables (the kernel does not unwind),
# compiler identification, and markers that only matter to a hosted loader.
DISCARDED = (
    ".eh_frame",
    ".eh_frame_hdr",
    ".comment",
    ".note.GNU-stack",
    ".note.gnu.property",
    ".gnu_debuglink",
)

_UNSUPPORTED = (
    ((".tdata", ".tdata.*", ".tbss", ".tbss.*"), "thread-local storage is not supported"),
    (
        (".ctors", ".ctors.*", ".dtors", ".dtors.*"),
        "legacy constructors are not supported; build with -fuse-init-array",
    ),
    ((".preinit_array", ".preinit_array.*"), "preinit arrays are not supported"),
    ((".note.Xen",), "the linker writes the Xen notes itself (see --guest-name); remove this section"),
    ((".note.gnu.build-id",), "the linker writes the build-id note itself; remove this section"),
    (
        (".note.unikernel", ".note.unikernel.*"),
        "the linker writes the seal note itself (docs/manifest.md); remove this section",
    ),
)
# An object that marks its stack executable asks for memory that is writable
# and executable; lld would silently ignore the request (-z noexecstack).
_EXECSTACK = ".note.GNU-stack"

_METADATA_TYPES = frozenset(
    {SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB_SHNDX, SHT_LLVM_ADDRSIG}
)
_DEBUG_PATTERNS = (".debug_*", ".zdebug_*")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Placed:
    """An input section and where it goes; ``group`` is None off the image.

    ``by_name`` says the name matched a conventional pattern (``.text.*``...);
    other sections were placed by their flags and need their name spelled
    out in the linker script.
    """

    file: InputFile
    section: Section
    role: Role
    group: Group | None
    by_name: bool = True

    @property
    def key(self) -> tuple[InputFile, int]:
        return (self.file, self.section.index)

    @property
    def keep(self) -> bool:
        """Does the linker script KEEP it (a garbage-collection root)?

        Not for SHF_LINK_ORDER sections: lld ignores KEEP for them, they
        live exactly when the section they are linked to lives.
        """
        return self.role in KEEP_ROLES and not self.section.flags & SHF_LINK_ORDER


def classify(file: InputFile, section: Section) -> Placed:
    """Place one input section, or raise a LinkError naming it and its file."""
    role, by_name = _role(file, section)
    group = _group_by_flags(section) if role == Role.SET else ROLE_GROUPS.get(role)
    # Every section of the image is named in a file(section) line, and every
    # debug section gets an output section of its name: both are script text.
    if group is not None or role == Role.DEBUG:
        _check_section_name(file, section.name)
    if group is not None:
        _check_file_name(file)
    return Placed(file, section, role, group, by_name)


def _check_section_name(file: InputFile, name: str) -> None:
    problem = section_name_problem(name)
    if problem is not None:
        raise LinkError(
            f"section {shown(name)} in {file.describe()}: the name cannot be used in a linker script "
            f"({problem}); rename the section"
        )


def _check_file_name(file: InputFile) -> None:
    name = file.origin.script_name
    problem = file_name_problem(name)
    if problem is not None:
        raise LinkError(
            f"{file.describe()}: the file name {shown(name)} cannot be used in a linker script "
            f"({problem}); rename the file"
        )


def classify_inputs(resolution: Resolution) -> tuple[Placed, ...]:
    """Every input section of the link, classified, in lld's order.

    lld's order: loaded files in load order, each file's sections by index
    (without duplicate COMDAT copies), then the sections lld makes for
    COMMON symbols, visited as lld visits them: files that have COMMON
    symbols, in load order, and each one's global symbols in table order.
    """
    placed = [
        classify(file, section)
        for file in resolution.loaded
        for section in file.sections
        if section.index not in resolution.discarded.get(file, frozenset())
    ]
    made: set[str] = set()
    for file in resolution.loaded:
        if not any(symbol.is_common for symbol in file.global_symbols()):
            continue
        for symbol in file.global_symbols():
            definition = resolution.definitions.get(symbol.name)
            if definition is None or not definition.symbol.is_common or symbol.name in made:
                continue
            made.add(symbol.name)
            placed.append(classify(definition.file, common_section(definition.symbol)))
    return tuple(placed)


def _role(file: InputFile, section: Section) -> tuple[Role, bool]:
    name = section.name
    if section.type in _METADATA_TYPES or section.flags & SHF_EXCLUDE:
        return Role.IGNORE, True
    _refuse_unsupported(file, section)
    if name in DISCARDED:
        return Role.DISCARD, True
    if not section.is_alloc:
        if _matches(name, _DEBUG_PATTERNS):
            return Role.DEBUG, True
        raise LinkError(
            f"section '{name}' in {file.describe()} is neither loaded nor debug information; "
            "the linker does not know where to put it"
        )
    if section.is_write and section.is_exec:
        raise LinkError(f"section '{name}' in {file.describe()} is writable and executable (W^X)")
    for rule in _RULES:
        if _matches(name, rule.patterns):
            _check_flags(file, section, rule)
            return rule.role, True
    if _C_IDENTIFIER.fullmatch(name):
        return Role.SET, False
    _check_section_name(file, name)
    return _role_by_flags(section), False


def _refuse_unsupported(file: InputFile, section: Section) -> None:
    name = section.name
    if name == _EXECSTACK and section.is_exec:
        raise LinkError(
            f"section '{name}' in {file.describe()} asks for an executable stack (W^X); "
            "drop the 'x' flag of its .note.GNU-stack section (or -Wa,--execstack)"
        )
    for patterns, reason in _UNSUPPORTED:
        if _matches(name, patterns):
            raise LinkError(f"section '{name}' in {file.describe()}: {reason}")
    if section.flags & SHF_TLS:
        raise LinkError(f"section '{name}' in {file.describe()}: thread-local storage is not supported")


def _check_flags(file: InputFile, section: Section, rule: _Rule) -> None:
    if section.is_write == rule.writable and section.is_exec == rule.executable:
        return
    wanted = "".join(("r", "w" if rule.writable else "-", "x" if rule.executable else "-"))
    found = "".join(("r", "w" if section.is_write else "-", "x" if section.is_exec else "-"))
    raise LinkError(
        f"section '{section.name}' in {file.describe()} is {found} but its name "
        f"says {wanted}; rename it or fix its flags"
    )


def _role_by_flags(section: Section) -> Role:
    if section.is_exec:
        return Role.TEXT
    if section.is_write:
        return Role.BSS if section.is_nobits else Role.DATA
    return Role.RODATA


def _group_by_flags(section: Section) -> Group:
    return ROLE_GROUPS[_role_by_flags(section)]


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def conventional_patterns(role: Role) -> tuple[str, ...]:
    """The section name patterns that select ``role`` by name."""
    for rule in _RULES:
        if rule.role == role:
            return rule.patterns
    return ()
