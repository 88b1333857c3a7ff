"""Global symbol resolution, as ld.lld does it, so that errors are ours.

Inputs are visited in command-line order. Objects are always loaded. An
archive member is loaded only when it defines a symbol that is, at that
moment, referenced and undefined; like lld (and unlike GNU ld) the archive
remembers what it could define, so a later reference still pulls a member of
an earlier archive. Weak references never pull members and may stay
undefined (they resolve to 0). The entry symbol is requested last, as lld
does with ``--entry``; then the optional roots (the PV entry point), which
pull an archive member when one defines them, as lld's ``--undefined``
does, and are no error when none does.

Loading is depth first, like lld's: a file defines its symbols, then walks
its undefined references in symbol-table order, and a reference that pulls a
member loads that member (and, in turn, what it pulls) before the walk goes
on. ``Resolution.loaded`` is therefore lld's own file order, the order in
which lld lists input sections; the layout plan relies on that to place
sections where lld's wildcards would have.

Precedence of definitions: a strong definition beats a common symbol, which
beats a weak definition; two strong definitions are an error; of two commons
the larger is kept. In COMDAT groups only the first copy of a signature is
kept; symbols defined in the dropped copies count as references.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from .errors import LinkError
from .model import ArchiveInput, Input, InputFile, Symbol


@dataclass(frozen=True)
class Definition:
    """The definition a global symbol resolved to."""

    file: InputFile
    symbol: Symbol


@dataclass(frozen=True)
class Reference:
    """The first reference to a symbol; ``file`` None means ``--entry``."""

    name: str
    file: InputFile | None
    strong: bool

    def describe(self) -> str:
        return self.file.describe() if self.file is not None else "--entry"


@dataclass(frozen=True)
class Resolution:
    """What symbol resolution decided: the result the later stages work on."""

    loaded: tuple[InputFile, ...]
    definitions: Mapping[str, Definition]
    undefined: tuple[Reference, ...]
    discarded: Mapping[InputFile, frozenset[int]]

    def strongly_undefined(self) -> frozenset[str]:
        """Names with no definition that some loaded file refers to without ``weak``.

        lld's binding of such a symbol is strong: a reference to it from a
        live section is an error, however weak that one reference is.
        """
        return frozenset(reference.name for reference in self.undefined)


def resolve(inputs: Iterable[Input], entry: str, optional_roots: Iterable[str] = ()) -> Resolution:
    """Resolve global symbols across ``inputs``; raise on duplicates or a missing entry.

    ``optional_roots`` are requested after the entry, and only if some input
    can define them (lld is given them with ``--undefined`` in that case).
    """
    table = _SymbolTable()
    for item in inputs:
        if isinstance(item, ArchiveInput) and item.spec.whole:
            for member in item.members:
                table.load(member)
        elif isinstance(item, ArchiveInput):
            for member in item.members:
                table.add_lazy(member)
        else:
            table.load(item)
    pulled = table.reference(entry, None, strong=True)
    if pulled is not None:
        table.load(pulled)
    if entry not in table.defined:
        raise LinkError(f"entry symbol '{entry}' is not defined by any input")
    for name in optional_roots:
        if name in table.defined or name in table.lazy:
            pulled = table.reference(name, None, strong=True)
            if pulled is not None:
                table.load(pulled)
    return table.result()


@dataclass
class _SymbolTable:
    """Mutable state of one resolution; lives only inside ``resolve``.

    ``walks`` is the depth-first stack of files whose references are being
    walked; an explicit stack rather than recursion, so that a long chain of
    archive members cannot exhaust Python's recursion limit.
    """

    defined: dict[str, Definition] = field(default_factory=dict)
    lazy: dict[str, InputFile] = field(default_factory=dict)
    references: dict[str, Reference] = field(default_factory=dict)
    loaded: list[InputFile] = field(default_factory=list)
    seen: set[InputFile] = field(default_factory=set)
    walks: list[Iterator[Symbol]] = field(default_factory=list)
    walkers: list[InputFile] = field(default_factory=list)
    comdat_seen: set[str] = field(default_factory=set)
    discarded: dict[InputFile, frozenset[int]] = field(default_factory=dict)

    def load(self, file: InputFile) -> None:
        """Load ``file`` and everything its references pull, depth first."""
        self._start(file)
        self.run()

    def run(self) -> None:
        while self.walks:
            symbol = next(self.walks[-1], None)
            if symbol is None:
                self.walks.pop()
                self.walkers.pop()
                continue
            pulled = self.reference(symbol.name, self.walkers[-1], strong=not symbol.is_weak)
            if pulled is not None:
                self._start(pulled)

    def add_lazy(self, member: InputFile) -> None:
        for symbol in member.global_symbols():
            if symbol.is_undefined or symbol.name in self.defined or symbol.name in self.lazy:
                continue
            reference = self.references.get(symbol.name)
            if reference is not None and reference.strong:
                self.load(member)
                return
            self.lazy[symbol.name] = member

    def reference(self, name: str, file: InputFile | None, strong: bool) -> InputFile | None:
        """Record a reference; return the archive member it pulls, if any (the caller loads it)."""
        known = self.references.get(name)
        if known is None or (strong and not known.strong):
            self.references[name] = Reference(name, file, strong)
        if strong and name not in self.defined and name in self.lazy:
            member = self.lazy.pop(name)
            if member not in self.seen:
                return member
        return None

    def result(self) -> Resolution:
        undefined = tuple(
            ref for name, ref in self.references.items() if ref.strong and name not in self.defined
        )
        return Resolution(tuple(self.loaded), dict(self.defined), undefined, dict(self.discarded))

    def _start(self, file: InputFile) -> None:
        """Load ``file``: claim its COMDAT groups, define its symbols, then walk its references.

        Definitions come first, as in lld, so that a file's own definitions
        satisfy its own references before anything is pulled for them.
        """
        if file in self.seen:
            return
        self.seen.add(file)
        self.loaded.append(file)
        dropped = self._drop_duplicate_groups(file)
        references = []
        for symbol in file.global_symbols():
            if symbol.is_undefined or symbol.section_index in dropped:
                references.append(symbol)
            else:
                self._define(Definition(file, symbol))
        self.walks.append(iter(references))
        self.walkers.append(file)

    def _drop_duplicate_groups(self, file: InputFile) -> frozenset[int]:
        dropped: set[int] = set()
        for group in file.groups:
            if not group.comdat:
                continue
            if group.signature in self.comdat_seen:
                dropped.update(group.sections)
            else:
                self.comdat_seen.add(group.signature)
        if dropped:
            self.discarded[file] = frozenset(dropped)
        return frozenset(dropped)

    def _define(self, new: Definition) -> None:
        name = new.symbol.name
        # A definition from a loaded file makes archive copies irrelevant.
        self.lazy.pop(name, None)
        old = self.defined.get(name)
        self.defined[name] = new if old is None else _prevailing(old, new)


def _strength(symbol: Symbol) -> int:
    if symbol.is_weak:
        return 0
    if symbol.is_common:
        return 1
    return 2


def _prevailing(old: Definition, new: Definition) -> Definition:
    old_rank, new_rank = _strength(old.symbol), _strength(new.symbol)
    if old_rank == new_rank == 2:
        raise LinkError(
            f"duplicate symbol '{new.symbol.name}' defined in {old.file.describe()} and {new.file.describe()}"
        )
    if old_rank == new_rank == 1:
        return new if new.symbol.size > old.symbol.size else old
    return new if new_rank > old_rank else old
