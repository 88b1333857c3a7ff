"""The ``--aslr-padding`` gaps as input sections of a generated object.

A padded function used to get a script line of its own (``. += N;`` then
its ``file(section)``), so a padded .text kept one line per function and
lld's quadratic matching (order). Instead each non-zero gap is a section
of its own, ``.text.unikernel_pad.N``, in a relocatable object the link
tool writes: N bytes of int3 (0xcc, what lld fills gaps of executable
sections with), alignment 1, and a local symbol ``__unikernel_pad_N`` at
its start. The ordering file lists that symbol right before the function's
own, so lld puts the gap there; the .text wildcard line takes the pads with
everything else, and a ``KEEP(*(.text.unikernel_pad.*))`` line after it
keeps them (nothing refers to them). With alignment 1 a pad starts where
the previous section ends and the function aligns after it, exactly as
after ``. += N``: the image is the one the line per function gave.

The object is ELF64 little-endian x86-64 ET_REL, written here byte by byte
(deterministic: the same pads give the same bytes): the pads' contents,
then ``.shstrtab``, ``.strtab``, ``.symtab`` and the section headers. An
object holds at most ``PER_OBJECT`` pads, so that section indexes stay
below SHN_LORESERVE (no extended numbering); more pads make more objects.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import LinkError
from .model import InputFile

SECTION_PREFIX = ".text.unikernel_pad."
SYMBOL_PREFIX = "__unikernel_pad_"
PATTERN = SECTION_PREFIX + "*"
FILL = 0xCC  # int3
# Section indexes 1..n for the pads and three tables stay below 0xff00.
PER_OBJECT = 60000

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_IDENT = b"\x7fELF" + bytes((2, 1, 1, 0)) + bytes(8)  # ELFCLASS64, little-endian, version 1, SysV
_ET_REL = 1
_EM_X86_64 = 62
_SHT_PROGBITS = 1
_SHT_SYMTAB = 2
_SHT_STRTAB = 3
_SHF_ALLOC_EXEC = 0x2 | 0x4
_STB_LOCAL = 0
_STT_NOTYPE = 0


@dataclass(frozen=True)
class Pad:
    """``size`` bytes of gap, the ``index``-th of the link, placed before a function."""

    index: int
    size: int

    @property
    def section(self) -> str:
        return f"{SECTION_PREFIX}{self.index}"

    @property
    def symbol(self) -> str:
        return f"{SYMBOL_PREFIX}{self.index}"


def object_bytes(pads: Sequence[Pad]) -> bytes:
    """One relocatable object holding ``pads`` (1 to PER_OBJECT of them, none of 0 bytes), in order."""
    if not 0 < len(pads) <= PER_OBJECT:
        raise ValueError(f"an object holds 1 to {PER_OBJECT} pads, not {len(pads)}")
    if any(pad.size <= 0 for pad in pads):
        raise ValueError("a pad of 0 bytes needs no section")
    section_names, symbol_names = _Strings(), _Strings()
    headers = [bytes(_SHDR.size)]
    symbols = [bytes(_SYM.size)]
    offset = _EHDR.size
    for pad in pads:
        symbols.append(
            _SYM.pack(
                symbol_names.add(pad.symbol), _STB_LOCAL << 4 | _STT_NOTYPE, 0, len(headers), 0, pad.size
            )
        )
        headers.append(
            _header(section_names.add(pad.section), _SHT_PROGBITS, offset, pad.size, _SHF_ALLOC_EXEC)
        )
        offset += pad.size
    body = b"".join(bytes((FILL,)) * pad.size for pad in pads)
    symtab = len(headers)
    strtab_data = symbol_names.data()
    symtab_at = _align8(offset + len(strtab_data))
    symtab_data = b"".join(symbols)
    shstrtab_at = symtab_at + len(symtab_data)
    # The symbol table links its string table (the next section); sh_info is the
    # index of its first non-local symbol (none here, so one past the last).
    name, link, info = section_names.add(".symtab"), symtab + 1, len(symbols)
    headers.append(_SHDR.pack(name, _SHT_SYMTAB, 0, 0, symtab_at, len(symtab_data), link, info, 8, _SYM.size))
    headers.append(_header(section_names.add(".strtab"), _SHT_STRTAB, offset, len(strtab_data)))
    shstrtab_name = section_names.add(".shstrtab")
    shstrtab_data = section_names.data()
    headers.append(_header(shstrtab_name, _SHT_STRTAB, shstrtab_at, len(shstrtab_data)))
    headers_at = _align8(shstrtab_at + len(shstrtab_data))
    shnum, shstrndx = len(headers), len(headers) - 1
    ehdr = _EHDR.pack(
        _IDENT, _ET_REL, _EM_X86_64, 1, 0, 0, headers_at, 0, _EHDR.size, 0, 0, _SHDR.size, shnum, shstrndx
    )
    out = bytearray(ehdr + body + strtab_data)
    out += bytes(symtab_at - len(out)) + symtab_data + shstrtab_data
    out += bytes(headers_at - len(out)) + b"".join(headers)
    return bytes(out)


def write_objects(pads: Sequence[Pad], directory: Path) -> tuple[Path, ...]:
    """The objects holding ``pads`` (PER_OBJECT each), written into ``directory``."""
    paths = []
    for number, first in enumerate(range(0, len(pads), PER_OBJECT)):
        path = directory / f"unikernel_pads{number}.o"
        path.write_bytes(object_bytes(pads[first : first + PER_OBJECT]))
        paths.append(path)
    return tuple(paths)


def check_reserved(loaded: Iterable[InputFile]) -> None:
    """Padding's names are the tool's: an input that uses them would be placed or ordered as a pad."""
    for file in loaded:
        for section in file.sections:
            if section.name.startswith(SECTION_PREFIX):
                raise LinkError(
                    f"{file.describe()}: section '{section.name}' uses the prefix '{SECTION_PREFIX}' that "
                    "--aslr-padding reserves for its gaps; rename the section or drop --aslr-padding"
                )
        for symbol in file.symbols:
            if symbol.name.startswith(SYMBOL_PREFIX) and not symbol.is_undefined:
                raise LinkError(
                    f"{file.describe()}: symbol '{symbol.name}' uses the prefix '{SYMBOL_PREFIX}' that "
                    "--aslr-padding reserves for its gaps; rename the symbol or drop --aslr-padding"
                )


class _Strings:
    """An ELF string table: a NUL first, then each name once, NUL-terminated."""

    def __init__(self) -> None:
        self._data = bytearray(b"\0")

    def add(self, name: str) -> int:
        at = len(self._data)
        self._data += name.encode("ascii") + b"\0"
        return at

    def data(self) -> bytes:
        return bytes(self._data)


def _header(name: int, kind: int, offset: int, size: int, flags: int = 0) -> bytes:
    """A section header of byte-aligned contents (no address, link, info or entries)."""
    return _SHDR.pack(name, kind, flags, 0, offset, size, 0, 0, 1, 0)


def _align8(value: int) -> int:
    return (value + 7) & ~7
