"""Read a linked image into plain data with pyelftools.

The linker reads its inputs with lief; checking its outputs with another
library keeps a bug in one reader from hiding itself. Everything is read
eagerly, bounds-checked, into frozen dataclasses: a damaged file fails here,
once, with one line, and the commands never hold a pyelftools object.
Notes are parsed from the raw bytes of PT_NOTE segments, the way a loader
finds them (pyelftools names note types after GNU's, whatever the owner).
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.construct import ConstructError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Section

from .errors import CliError

PF_X = 1
PF_W = 2
PF_R = 4
SHF_ALLOC = 0x2

_MAGIC = b"\x7fELF"
_NHDR = struct.Struct("<III")
# What pyelftools raises on damaged input besides its own ELFError: its
# construct parser, and plain Python errors from values it does not check.
_PARSE_ERRORS = (ELFError, ConstructError, struct.error, ValueError, IndexError, KeyError, OverflowError)


@dataclass(frozen=True)
class ProgramHeader:
    index: int
    type: str
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def permissions(self) -> str:
        return permissions(self.flags)

    def contains(self, address: int) -> bool:
        return self.vaddr <= address < self.vaddr + self.memsz


@dataclass(frozen=True)
class SectionHeader:
    index: int
    name: str
    type: str
    flags: int
    address: int
    offset: int
    size: int

    @property
    def is_alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def has_contents(self) -> bool:
        return self.type not in ("SHT_NOBITS", "SHT_NULL")


@dataclass(frozen=True)
class Note:
    name: bytes
    type: int
    desc: bytes
    offset: int

    def text(self) -> str:
        """The descriptor as a C string (Xen's string notes)."""
        return self.desc.split(b"\0", 1)[0].decode("ascii", "replace")


@dataclass(frozen=True)
class ElfSymbol:
    name: str
    value: int
    size: int
    type: str
    binding: str
    section: str


@dataclass(frozen=True)
class ElfImage:
    """An ELF file as data; ``name`` is how messages refer to it."""

    name: str
    data: bytes
    header: Mapping[str, int | str]
    segments: tuple[ProgramHeader, ...]
    sections: tuple[SectionHeader, ...]
    notes: tuple[Note, ...]
    symbols: tuple[ElfSymbol, ...] | None

    @property
    def entry(self) -> int:
        return int(self.header["e_entry"])

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def build_id(self) -> str | None:
        note = self.note(b"GNU", 3)
        return note.desc.hex() if note else None

    def loads(self) -> tuple[ProgramHeader, ...]:
        return tuple(s for s in self.segments if s.type == "PT_LOAD")

    def note(self, name: bytes, note_type: int) -> Note | None:
        return next((n for n in self.notes if n.name == name and n.type == note_type), None)

    def contents(self, section: SectionHeader) -> bytes:
        if not section.has_contents:
            return b""
        return self.data[section.offset : section.offset + section.size]

    def sections_in(self, segment: ProgramHeader) -> tuple[str, ...]:
        """Names of the loaded sections that lie inside ``segment``'s memory."""
        return tuple(
            s.name
            for s in self.sections
            if s.is_alloc
            and segment.vaddr <= s.address < segment.vaddr + segment.memsz
            and s.address + s.size <= segment.vaddr + segment.memsz
        )


def permissions(flags: int) -> str:
    """``r-x`` style text for program header flags, as the manifest writes it."""
    return "".join(letter if flags & bit else "-" for letter, bit in (("r", PF_R), ("w", PF_W), ("x", PF_X)))


def read_elf(path: Path, name: str | None = None) -> ElfImage:
    """Read the ELF file at ``path``, or raise a CliError in one line."""
    shown = name or str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {shown}: {error.strerror}") from error
    return parse_elf(data, shown)


def parse_elf(data: bytes, name: str) -> ElfImage:
    if not data.startswith(_MAGIC):
        raise CliError(f"{name}: not an ELF file")
    try:
        elf = ELFFile(io.BytesIO(data))
        header = _flat_header(elf)
        _check_tables(elf, len(data), name)
        segments = tuple(_program_header(i, elf.get_segment(i).header) for i in range(elf.num_segments()))
        sections = tuple(_section_header(i, section) for i, section in enumerate(elf.iter_sections()))
        _check_extents(segments, sections, len(data), name)
        symbols = _symbols(elf, sections)
    except CliError:
        raise
    except _PARSE_ERRORS as error:
        raise CliError(f"{name}: corrupt ELF file: {error}") from error
    notes = tuple(
        note for segment in segments if segment.type == "PT_NOTE" for note in _notes(data, segment, name)
    )
    return ElfImage(name, data, header, segments, sections, notes, symbols)


def _flat_header(elf: ELFFile) -> dict[str, int | str]:
    """The ELF header as one flat mapping, ``e_ident`` fields included."""
    fields: dict[str, int | str] = {}
    for key, value in elf.header.items():
        if key == "e_ident":
            fields.update((k, v) for k, v in value.items() if k != "EI_MAG")
        else:
            fields[key] = value
    return fields


def _check_tables(elf: ELFFile, size: int, name: str) -> None:
    """Header tables must lie inside the file: pyelftools reads past the end silently."""
    tables = (
        ("program headers", elf["e_phoff"], elf.num_segments(), elf["e_phentsize"]),
        ("section headers", elf["e_shoff"], elf.num_sections(), elf["e_shentsize"]),
    )
    for what, offset, count, entry_size in tables:
        if count and offset + count * entry_size > size:
            raise CliError(
                f"{name}: truncated ELF file: {count} {what} at offset {offset} do not fit in {size} bytes"
            )


def _check_extents(
    segments: tuple[ProgramHeader, ...], sections: tuple[SectionHeader, ...], size: int, name: str
) -> None:
    for segment in segments:
        if segment.offset + segment.filesz > size:
            raise CliError(
                f"{name}: truncated ELF file: program header {segment.index} ({segment.type}) "
                f"ends at {segment.offset + segment.filesz}, the file has {size} bytes"
            )
    for section in sections:
        if section.has_contents and section.offset + section.size > size:
            raise CliError(
                f"{name}: truncated ELF file: section {section.index} ({section.name}) "
                f"ends at {section.offset + section.size}, the file has {size} bytes"
            )


def _program_header(index: int, header: Mapping[str, object]) -> ProgramHeader:
    return ProgramHeader(
        index=index,
        type=str(header["p_type"]),
        flags=int(header["p_flags"]),
        offset=int(header["p_offset"]),
        vaddr=int(header["p_vaddr"]),
        paddr=int(header["p_paddr"]),
        filesz=int(header["p_filesz"]),
        memsz=int(header["p_memsz"]),
        align=int(header["p_align"]),
    )


def _section_header(index: int, section: Section) -> SectionHeader:
    return SectionHeader(
        index=index,
        name=section.name,
        type=str(section["sh_type"]),
        flags=int(section["sh_flags"]),
        address=int(section["sh_addr"]),
        offset=int(section["sh_offset"]),
        size=int(section["sh_size"]),
    )


def _symbols(elf: ELFFile, sections: tuple[SectionHeader, ...]) -> tuple[ElfSymbol, ...] | None:
    table = elf.get_section_by_name(".symtab")
    if table is None or not hasattr(table, "iter_symbols"):
        return None
    symbols = []
    for symbol in table.iter_symbols():
        shndx = symbol["st_shndx"]
        if isinstance(shndx, int):
            section = sections[shndx].name if shndx < len(sections) else str(shndx)
        else:
            section = str(shndx).removeprefix("SHN_")
        info = symbol["st_info"]
        symbols.append(
            ElfSymbol(
                name=symbol.name,
                value=int(symbol["st_value"]),
                size=int(symbol["st_size"]),
                type=str(info["type"]).removeprefix("STT_"),
                binding=str(info["bind"]).removeprefix("STB_"),
                section=section,
            )
        )
    return tuple(symbols)


def _notes(data: bytes, segment: ProgramHeader, name: str) -> list[Note]:
    """The notes of one PT_NOTE segment, padded to 4 bytes (8 in a segment aligned to 8)."""
    pad = 8 if segment.align == 8 else 4
    body = data[segment.offset : segment.offset + segment.filesz]
    notes = []
    at = 0
    while at + _NHDR.size <= len(body):
        namesz, descsz, note_type = _NHDR.unpack_from(body, at)
        name_at = at + _NHDR.size
        # As readelf does: the descriptor and the next note start at multiples of the alignment.
        desc_at = at + _align(_NHDR.size + namesz, pad)
        end = desc_at + _align(descsz, pad)
        if desc_at + descsz > len(body):
            raise CliError(
                f"{name}: corrupt note at offset {segment.offset + at}: "
                f"it runs past the end of program header {segment.index}"
            )
        owner = body[name_at : name_at + namesz].rstrip(b"\0")
        notes.append(Note(owner, note_type, body[desc_at : desc_at + descsz], segment.offset + at))
        at = end
    return notes


def _align(size: int, pad: int) -> int:
    return (size + pad - 1) & -pad
