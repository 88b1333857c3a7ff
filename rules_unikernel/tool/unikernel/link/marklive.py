"""Mark-live: which input sections the image needs, decided by the tool.

A section-level reachability pass over relocations, with lld's rules (its
``MarkLive.cpp``), so that ``--gc-sections`` must come to the same answer;
the driver fails the link when it does not (``check_agreement``).

Nodes are the input sections that can be garbage-collected: every section
that goes into the image (see classify), the sections lld makes for COMMON
symbols, and non-allocated members of section groups that have an allocated
member (lld collects a group as a unit). Edges are relocations: from a
section to the section defining the symbol it refers to, through the global
symbol table for global symbols.

Roots, as lld has them:

* the entry symbol, ``_init`` and ``_fini`` (lld's default ``-init`` and
  ``-fini``), and the symbols the linker script refers to (the Xen entry
  note), unless the script defines them itself;
* sections flagged SHF_GNU_RETAIN (``__attribute__((retain))``);
* sections lld always keeps: SHT_INIT_ARRAY, SHT_FINI_ARRAY,
  SHT_PREINIT_ARRAY, SHT_NOTE outside a group, ``.init``, ``.fini``,
  ``.jcr``, ``.ctors*``, ``.dtors*``;
* sections the script KEEPs (``Placed.keep``): boot code, notes, constructor
  arrays, linker sets;
* sections ``.eh_frame`` refers to that are neither code nor in a group
  (lld's rule for FDEs: the code an FDE describes is not kept by it).

A live section makes the other members of its group live, and the
SHF_LINK_ORDER sections linked to it; SHF_LINK_ORDER sections are never
roots themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .classify import Placed, Role
from .errors import LinkError
from .model import (
    SHF_EXECINSTR,
    SHF_GNU_RETAIN,
    SHF_LINK_ORDER,
    SHT_FINI_ARRAY,
    SHT_INIT_ARRAY,
    SHT_NOTE,
    SHT_PREINIT_ARRAY,
    Binding,
    InputFile,
    Relocation,
    common_section,
)
from .symtab import Resolution

Key = tuple[InputFile, int]
"""A node: a file and a section index (negative for COMMON, see model.common_section)."""

# lld runs with -init _init -fini _fini unless told otherwise, and keeps them.
INIT_FINI = ("_init", "_fini")

_RESERVED_TYPES = frozenset({SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY})
_RESERVED_NAMES = frozenset({".init", ".fini", ".jcr"})
_RESERVED_PREFIXES = (".ctors", ".dtors")
_EH_FRAME = ".eh_frame"


@dataclass(frozen=True)
class Liveness:
    """What mark-live decided.

    ``nodes`` are in lld's input order (the order of ``classify_inputs``);
    ``live`` and ``roots`` are subsets of their keys.
    """

    nodes: tuple[Placed, ...]
    live: frozenset[Key]
    roots: frozenset[Key]

    def dead(self) -> tuple[Placed, ...]:
        return tuple(node for node in self.nodes if node.key not in self.live)

    def expected_gc_report(self) -> Counter[tuple[str, str]]:
        """What lld's ``--print-gc-sections`` must say: every dead node once."""
        return Counter((node.file.origin.lld_name, node.section.name) for node in self.dead())


def mark_live(
    resolution: Resolution,
    placed: Iterable[Placed],
    root_symbols: Iterable[str],
    script_defined: frozenset[str],
) -> Liveness:
    """Mark the sections reachable from the roots; see the module docstring."""
    graph = _Graph(resolution, tuple(placed), script_defined)
    roots = [*graph.symbol_targets(root_symbols), *graph.root_sections()]
    live = graph.reach(roots)
    return Liveness(graph.nodes, frozenset(live), frozenset(roots))


def check_agreement(liveness: Liveness, removed: Counter[tuple[str, str]], where: str = "the image") -> None:
    """Fail unless lld garbage-collected exactly the sections mark-live found dead."""
    expected = liveness.expected_gc_report()
    lld_only = sorted((removed - expected).elements())
    tool_only = sorted((expected - removed).elements())
    if not lld_only and not tool_only:
        return
    problems = []
    if lld_only:
        problems.append(f"lld removed {_listed(lld_only)}, which the tool keeps")
    if tool_only:
        problems.append(f"lld kept {_listed(tool_only)}, which the tool removes")
    raise LinkError(
        f"internal consistency error while linking {where}: the tool's mark-live pass and "
        f"ld.lld's --gc-sections disagree: {'; '.join(problems)}. This is a bug in unikernel.link; "
        "please report it with the inputs"
    )


def check_undefined(liveness: Liveness, resolution: Resolution, provided: Callable[[str], bool]) -> None:
    """Raise for undefined symbols that live sections refer to, as lld does.

    Only relocations of live sections count: code that mark-live removed
    may refer to anything. A symbol is an error if no input and no
    ``provided`` (linker script) symbol defines it and its binding is
    strong (some loaded file refers to it without ``weak``); weak ones
    resolve to 0.
    """
    strong = resolution.strongly_undefined()
    missing: dict[str, InputFile] = {}
    for name, file in _live_references(liveness, resolution):
        if name in strong and not provided(name):
            missing.setdefault(name, file)
    if not missing:
        return
    (first, referrer), *rest = missing.items()
    message = f"undefined symbol '{first}' referenced by {referrer.describe()}"
    if rest:
        shown = ", ".join(f"'{name}'" for name, _ in rest[:5])
        more = ", ..." if len(rest) > 5 else ""
        message += f"; {len(rest)} more undefined: {shown}{more}"
    raise LinkError(message)


def _live_references(liveness: Liveness, resolution: Resolution) -> Iterator[tuple[str, InputFile]]:
    """(symbol, referring file) for each relocation of a live section to a global without definition.

    In the order lld meets them: live sections in input order, their
    relocations in file order.
    """
    by_section = _relocations_by_section(resolution.loaded)
    for node in liveness.nodes:
        if node.key not in liveness.live or node.group is None:
            continue
        file = node.file
        for relocation in by_section.get(node.key, ()):
            symbol = file.symbols[relocation.symbol]
            if symbol.binding != Binding.LOCAL and symbol.name not in resolution.definitions:
                yield symbol.name, file


def _relocations_by_section(files: Iterable[InputFile]) -> dict[Key, list[Relocation]]:
    table: dict[Key, list[Relocation]] = {}
    for file in files:
        for relocation in file.relocations:
            table.setdefault((file, relocation.section), []).append(relocation)
    return table


def _listed(items: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{file}:({section})" for file, section in items[:4])
    more = f" and {len(items) - 4} more" if len(items) > 4 else ""
    return shown + more


class _Graph:
    """The section graph of one link: nodes, relocation edges, group rings."""

    def __init__(
        self, resolution: Resolution, placed: tuple[Placed, ...], script_defined: frozenset[str]
    ) -> None:
        self.resolution = resolution
        self.script_defined = script_defined
        by_key = {p.key: p for p in placed}
        groups = self._group_rings(resolution, by_key)
        in_group = {key for ring in groups for key in ring}
        self.nodes = tuple(p for p in placed if p.group is not None or p.key in in_group)
        self.by_key = {p.key: p for p in self.nodes}
        self.in_group = in_group
        self.ring = {key: ring for ring in groups for key in ring}
        self.relocations = _relocations_by_section(resolution.loaded)
        self.dependents = self._link_order_dependents()
        self.eh_frames = tuple(p for p in placed if p.section.name == _EH_FRAME and p.role == Role.DISCARD)

    @staticmethod
    def _group_rings(resolution: Resolution, by_key: dict[Key, Placed]) -> list[tuple[Key, ...]]:
        """Members of each kept section group that has an allocated member (lld's rule)."""
        rings = []
        for file in resolution.loaded:
            dropped = resolution.discarded.get(file, frozenset())
            for group in file.groups:
                members = [
                    by_key[(file, index)]
                    for index in group.sections
                    if index not in dropped and (file, index) in by_key
                ]
                if not any(m.section.is_alloc and m.group is not None for m in members):
                    continue
                ring = tuple(m.key for m in members if m.group is not None or m.role == Role.DEBUG)
                if ring:
                    rings.append(ring)
        return rings

    def _link_order_dependents(self) -> dict[Key, list[Key]]:
        table: dict[Key, list[Key]] = {}
        for node in self.nodes:
            if node.section.flags & SHF_LINK_ORDER and not node.section.is_common:
                table.setdefault((node.file, node.section.link), []).append(node.key)
        return table

    def symbol_targets(self, names: Iterable[str]) -> list[Key]:
        targets = []
        for name in names:
            target = self._global_target(name)
            if target is not None:
                targets.append(target)
        return targets

    def root_sections(self) -> list[Key]:
        roots = [node.key for node in self.nodes if self._is_root(node)]
        for eh in self.eh_frames:
            for relocation in self.relocations.get(eh.key, ()):
                target = self._target(eh.file, relocation)
                if target is None:
                    continue
                section = self.by_key[target].section
                if not section.flags & SHF_EXECINSTR and target not in self.in_group:
                    roots.append(target)
        return roots

    def _is_root(self, node: Placed) -> bool:
        section = node.section
        if section.flags & SHF_GNU_RETAIN:
            return True
        if section.flags & SHF_LINK_ORDER or section.is_common:
            return False
        if (
            section.type in _RESERVED_TYPES
            or (section.type == SHT_NOTE and node.key not in self.in_group)
            or section.name in _RESERVED_NAMES
            or section.name.startswith(_RESERVED_PREFIXES)
        ):
            return True
        return node.keep

    def reach(self, roots: list[Key]) -> set[Key]:
        live: set[Key] = set()
        work = list(roots)
        while work:
            key = work.pop()
            if key in live:
                continue
            live.add(key)
            for relocation in self.relocations.get(key, ()):
                target = self._target(key[0], relocation)
                if target is not None:
                    work.append(target)
            work.extend(self.ring.get(key, ()))
            work.extend(self.dependents.get(key, ()))
        return live

    def _target(self, file: InputFile, relocation: Relocation) -> Key | None:
        symbol = file.symbols[relocation.symbol]
        if symbol.binding != Binding.LOCAL:
            return self._global_target(symbol.name)
        index = symbol.section_index
        if index is None or (file, index) not in self.by_key:
            return None
        return (file, index)

    def _global_target(self, name: str) -> Key | None:
        if name in self.script_defined:
            return None
        definition = self.resolution.definitions.get(name)
        if definition is None:
            return None
        symbol = definition.symbol
        if symbol.is_common:
            key = (definition.file, common_section(symbol).index)
        elif symbol.section_index is None:
            return None
        else:
            key = (definition.file, symbol.section_index)
        return key if key in self.by_key else None
