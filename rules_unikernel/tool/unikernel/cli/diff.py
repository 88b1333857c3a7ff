"""What differs between two images, to chase a reproducibility bug to its source.

From the outside in: ELF header, program headers, section headers, section
bytes, symbols, notes, then the manifests. A build that is not reproducible
usually shows one root cause (a section whose bytes differ) and its echoes
(sizes, addresses, the sha256 in the manifest); the order puts causes first.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from .elf import ElfImage, ElfSymbol, Note, ProgramHeader, SectionHeader

T = TypeVar("T")

# Note descriptors up to this size (a build-id is 20) are shown whole.
_SHORT_NOTE = 32
# Header fields that hold addresses or offsets read better in hex.
_HEX_FIELDS = frozenset({"e_entry", "e_phoff", "e_shoff", "e_flags"})


@dataclass(frozen=True)
class Difference:
    area: str
    text: str


def diff_images(
    a: ElfImage,
    b: ElfImage,
    manifest_a: Mapping[str, object] | None = None,
    manifest_b: Mapping[str, object] | None = None,
) -> list[Difference]:
    """Every difference between ``a`` and ``b``, in the order to read them."""
    if a.data == b.data and manifest_a == manifest_b:
        return []
    found = [
        *_tag("ELF header", _header(a, b)),
        *_tag("program headers", _program_headers(a.segments, b.segments)),
        *_tag("section headers", _section_headers(a.sections, b.sections)),
        *_tag("section contents", _section_contents(a, b)),
        *_tag("symbols", _symbols(a.symbols, b.symbols)),
        *_tag("notes", _notes(a.notes, b.notes)),
    ]
    if a.data != b.data and not any(d.area == "section contents" for d in found):
        found += _tag("file", [_bytes_text("bytes outside sections", a.data, b.data)])
    if manifest_a is not None and manifest_b is not None:
        found += _tag("manifest", json_diff(manifest_a, manifest_b))
    return found


def _tag(area: str, texts: Iterable[str]) -> list[Difference]:
    return [Difference(area, text) for text in texts]


def _header(a: ElfImage, b: ElfImage) -> list[str]:
    keys = list(dict.fromkeys((*a.header, *b.header)))
    return [
        f"{key}: {_field(key, a.header.get(key))} -> {_field(key, b.header.get(key))}"
        for key in keys
        if a.header.get(key) != b.header.get(key)
    ]


def _field(key: str, value: object) -> str:
    return f"{value:#x}" if key in _HEX_FIELDS and isinstance(value, int) else str(value)


def _program_headers(a: tuple[ProgramHeader, ...], b: tuple[ProgramHeader, ...]) -> list[str]:
    out = []
    for one, other in zip(a, b, strict=False):
        changes = [
            f"{name} {left} -> {right}"
            for name, left, right in zip(
                ("type", "permissions", "offset", "address", "physical", "file size", "memory size", "align"),
                _segment_values(one),
                _segment_values(other),
                strict=True,
            )
            if left != right
        ]
        if changes:
            out.append(f"[{one.index}] {one.type}: " + ", ".join(changes))
    out += [f"[{s.index}] {s.type} at {s.vaddr:#x} only in A" for s in a[len(b) :]]
    out += [f"[{s.index}] {s.type} at {s.vaddr:#x} only in B" for s in b[len(a) :]]
    return out


def _segment_values(s: ProgramHeader) -> tuple[str, ...]:
    return (
        s.type,
        s.permissions,
        f"{s.offset:#x}",
        f"{s.vaddr:#x}",
        f"{s.paddr:#x}",
        str(s.filesz),
        str(s.memsz),
        f"{s.align:#x}",
    )


def _keyed(items: Iterable[tuple[str, T]]) -> dict[tuple[str, int], T]:
    """Key items by name and occurrence, so repeated names (local symbols) pair up in order."""
    seen: Counter[str] = Counter()
    out = {}
    for name, item in items:
        out[(name, seen[name])] = item
        seen[name] += 1
    return out


def _show(key: tuple[str, int]) -> str:
    name, occurrence = key
    return name if occurrence == 0 else f"{name} (#{occurrence + 1})"


def _section_headers(a: tuple[SectionHeader, ...], b: tuple[SectionHeader, ...]) -> list[str]:
    left, right = _keyed((s.name, s) for s in a), _keyed((s.name, s) for s in b)
    out = [f"{_show(k)}: only in A" for k in left if k not in right]
    out += [f"{_show(k)}: only in B" for k in right if k not in left]
    for key, one in left.items():
        other = right.get(key)
        if other is None:
            continue
        changes = [
            f"{name} {x} -> {y}"
            for name, x, y in (
                ("type", one.type, other.type),
                ("address", f"{one.address:#x}", f"{other.address:#x}"),
                ("size", str(one.size), str(other.size)),
                ("flags", f"{one.flags:#x}", f"{other.flags:#x}"),
            )
            if x != y
        ]
        if changes:
            out.append(f"{_show(key)}: " + ", ".join(changes))
    return out


def _section_contents(a: ElfImage, b: ElfImage) -> list[str]:
    right = _keyed((s.name, s) for s in b.sections)
    out = []
    for key, one in _keyed((s.name, s) for s in a.sections).items():
        other = right.get(key)
        if other is None:
            continue
        left_bytes, right_bytes = a.contents(one), b.contents(other)
        if left_bytes != right_bytes:
            out.append(
                _bytes_text(_show(key), left_bytes, right_bytes, one.address if one.is_alloc else None)
            )
    return out


def _bytes_text(what: str, a: bytes, b: bytes, address: int | None = None) -> str:
    """``what: N of M bytes differ, first at offset X``; a length change counts as differing bytes."""
    common = min(len(a), len(b))
    differing = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    count = len(differing) + abs(len(a) - len(b))
    first = differing[0] if differing else common
    where = f"offset {first:#x}" + (f" (address {address + first:#x})" if address is not None else "")
    sizes = f"{len(a)} bytes" if len(a) == len(b) else f"{len(a)} -> {len(b)} bytes"
    return f"{what}: {count} of {max(len(a), len(b))} bytes differ, first at {where}; {sizes}"


def _symbols(a: tuple[ElfSymbol, ...] | None, b: tuple[ElfSymbol, ...] | None) -> list[str]:
    if a is None and b is None:
        return []
    if a is None or b is None:
        return [f"only {'A' if a is not None else 'B'} has a symbol table"]
    left = _keyed((s.name, s) for s in a if s.name)
    right = _keyed((s.name, s) for s in b if s.name)
    out = [f"removed: {_show(k)}" for k in left if k not in right]
    out += [f"added: {_show(k)}" for k in right if k not in left]
    for key, one in left.items():
        other = right.get(key)
        if other is None:
            continue
        if one.value != other.value:
            out.append(f"moved: {_show(key)} {one.value:#x} -> {other.value:#x}")
        if (one.size, one.type, one.binding, one.section) != (
            other.size,
            other.type,
            other.binding,
            other.section,
        ):
            out.append(
                f"changed: {_show(key)} {one.size} {one.type} {one.binding} {one.section}"
                f" -> {other.size} {other.type} {other.binding} {other.section}"
            )
    return out


def _notes(a: tuple[Note, ...], b: tuple[Note, ...]) -> list[str]:
    def key(note: Note) -> str:
        # Small types are Xen's and GNU's numbers; large ones are tags (0x4c414553 spells SEAL).
        kind = note.type if note.type < 0x100 else f"{note.type:#x}"
        return f"{note.name.decode('ascii', 'replace')} type {kind}"

    left, right = _keyed((key(n), n) for n in a), _keyed((key(n), n) for n in b)
    out = [f"{_show(k)}: only in A" for k in left if k not in right]
    out += [f"{_show(k)}: only in B" for k in right if k not in left]
    for k, one in left.items():
        other = right.get(k)
        if other is None or one.desc == other.desc:
            continue
        if max(len(one.desc), len(other.desc)) <= _SHORT_NOTE:
            out.append(f"{_show(k)}: {one.desc.hex()} -> {other.desc.hex()}")
        else:
            out.append(_bytes_text(_show(k), one.desc, other.desc))
    return out


def json_diff(a: object, b: object, path: str = "") -> list[str]:
    """Differences between two JSON values, as ``path: A -> B`` lines.

    Lists of records that name themselves (components by label, sections by
    name, seal regions by kind, inputs by file and member) are paired by that name, so one added
    section reads as one line rather than as every later one shifting.
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in list(dict.fromkeys((*a, *b))):
            where = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(f"{where}: only in A")
            elif key not in a:
                out.append(f"{where}: only in B")
            else:
                out += json_diff(a[key], b[key], where)
        return out
    if isinstance(a, list) and isinstance(b, list):
        left, right = _named(a), _named(b)
        if left is None or right is None:
            left = {str(i): x for i, x in enumerate(a)}
            right = {str(i): y for i, y in enumerate(b)}
        out = []
        for key in list(dict.fromkeys((*left, *right))):
            where = f"{path}[{key}]"
            if key not in right:
                out.append(f"{where}: only in A")
            elif key not in left:
                out.append(f"{where}: only in B")
            else:
                out += json_diff(left[key], right[key], where)
        return out
    if a != b or type(a) is not type(b):
        return [f"{path or '(top)'}: {_json(a)} -> {_json(b)}"]
    return []


_IDENTITY = ("label", "name", "kind", "file", "member")


def _named(items: list[object]) -> dict[str, object] | None:
    """``items`` keyed by their identifying fields, or None if they have none or repeat one."""
    named = {}
    for item in items:
        if not isinstance(item, Mapping):
            return None
        key = ":".join(str(item[k]) for k in _IDENTITY if isinstance(item.get(k), str))
        if not key or key in named:
            return None
        named[key] = item
    return named


def _json(value: object) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
