"""Global symbol resolution, as ld.lld does it, so that errors are ours.

Inputs are visited in command-line order. Objects are always loaded. An
archive member is loaded only when it defines a symbol that is, at that
moment, referenced and undefined; like lld (and unlike GNU ld) the archive
remembers what it could define, so a later reference still pulls a member of
an earlier archive. Weak references never pull members and may stay
undefined (they resolve to 0). The entry symbol is requested last, as lld
does with ``--entry``.

Precedence of definitions: a strong definition beats a common symbol, which
beats a weak definition; two strong definitions are an error; of two commons
the larger is kept. In COMDAT groups only the first copy of a signature is
kept; symbols defined in the dropped copies count as references.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
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


def resolve(inputs: Iterable[Input], entry: str) -> Resolution:
    """Resolve global symbols across ``inputs``; raise on duplicates or a missing entry."""
    table = _SymbolTable()
    for item in inputs:
        if isinstance(item, ArchiveInput):
            for member in item.members:
                table.add_lazy(member)
                table.drain()
        else:
            table.extract(item)
            table.drain()
    table.reference(entry, None, strong=True)
    table.drain()
    if entry not in table.defined:
        raise LinkError(f"entry symbol '{entry}' is not defined by any input")
    return table.result()


def check_undefined(resolution: Resolution, provided: Callable[[str], bool]) -> None:
    """Raise for strong references that no input and no ``provided`` symbol defines."""
    missing = [ref for ref in resolution.undefined if not provided(ref.name)]
    if not missing:
        return
    first, rest = missing[0], missing[1:]
    message = f"undefined symbol '{first.name}' referenced by {first.describe()}"
    if rest:
        shown = ", ".join(f"'{ref.name}'" for ref in rest[:5])
        more = ", ..." if len(rest) > 5 else ""
        message += f"; {len(rest)} more undefined: {shown}{more}"
    raise LinkError(message)


@dataclass
class _SymbolTable:
    """Mutable state of one resolution; lives only inside ``resolve``."""

    defined: dict[str, Definition] = field(default_factory=dict)
    lazy: dict[str, InputFile] = field(default_factory=dict)
    references: dict[str, Reference] = field(default_factory=dict)
    loaded: list[InputFile] = field(default_factory=list)
    queued: set[InputFile] = field(default_factory=set)
    pending: deque[InputFile] = field(default_factory=deque)
    comdat_seen: set[str] = field(default_factory=set)
    discarded: dict[InputFile, frozenset[int]] = field(default_factory=dict)

    def extract(self, file: InputFile) -> None:
        if file not in self.queued:
            self.queued.add(file)
            self.pending.append(file)

    def drain(self) -> None:
        while self.pending:
            self._load(self.pending.popleft())

    def add_lazy(self, member: InputFile) -> None:
        for symbol in member.global_symbols():
            if symbol.is_undefined or symbol.name in self.defined or symbol.name in self.lazy:
                continue
            reference = self.references.get(symbol.name)
            if reference is not None and reference.strong:
                self.extract(member)
                return
            self.lazy[symbol.name] = member

    def reference(self, name: str, file: InputFile | None, strong: bool) -> None:
        known = self.references.get(name)
        if known is None or (strong and not known.strong):
            self.references[name] = Reference(name, file, strong)
        if strong and name not in self.defined and name in self.lazy:
            self.extract(self.lazy.pop(name))

    def result(self) -> Resolution:
        undefined = tuple(
            ref for name, ref in self.references.items() if ref.strong and name not in self.defined
        )
        return Resolution(tuple(self.loaded), dict(self.defined), undefined, dict(self.discarded))

    def _load(self, file: InputFile) -> None:
        self.loaded.append(file)
        dropped = self._drop_duplicate_groups(file)
        for symbol in file.global_symbols():
            if symbol.is_undefined or symbol.section_index in dropped:
                self.reference(symbol.name, file, strong=not symbol.is_weak)
            else:
                self._define(Definition(file, symbol))

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
