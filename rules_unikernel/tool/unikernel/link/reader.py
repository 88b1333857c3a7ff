"""Read ``--input`` files (objects and archives) into the model.

Section headers are read and bounds-checked here by hand before lief sees the
file: lief accepts truncated and inconsistent files silently, and the user
deserves "truncated" rather than a half-read object. lief then reads symbols
and relocations.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import lief

from . import archive
from .errors import LinkError
from .model import (
    GRP_COMDAT,
    SHN_LORESERVE,
    SHN_XINDEX,
    SHT_GROUP,
    SHT_NOBITS,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    ArchiveInput,
    Binding,
    Input,
    InputFile,
    InputSpec,
    Origin,
    Relocation,
    Section,
    SectionGroup,
    Symbol,
)

_ELF_MAGIC = b"\x7fELF"
_BITCODE_MAGIC = b"BC\xc0\xde"
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM_SIZE = 24
_RELA_SIZE = 24
_REL_SIZE = 16

_ET_REL = 1
_EM_X86_64 = 62
_ELF_TYPES = {2: "executable", 3: "shared object", 4: "core file"}
_MACHINES = {3: "i386", 40: "ARM", 183: "AArch64", 243: "RISC-V"}


@dataclass(frozen=True)
class _RawSection:
    name_offset: int
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    entsize: int


def load_input(spec: InputSpec) -> Input:
    """Read one ``--input``: an object file or an archive of objects."""
    where = f"{spec.label} ({spec.file_name})"
    try:
        data = Path(spec.path).read_bytes()
    except OSError as error:
        raise LinkError(f"{where}: cannot read {spec.path}: {error.strerror}") from error
    if archive.is_archive(data):
        members = archive.split_archive(data, where)
        return ArchiveInput(
            spec,
            tuple(
                read_object(member.data, Origin(spec, member.name, index))
                for index, member in enumerate(members)
            ),
        )
    return read_object(data, Origin(spec))


def read_object(data: bytes, origin: Origin) -> InputFile:
    """Read an ELF64 x86-64 relocatable object, or raise a LinkError naming it."""
    where = origin.describe()
    raw_sections, names_index = _check_headers(data, where)
    names = _section_names(data, raw_sections, names_index, where)
    sections = tuple(
        Section(index, names[index], raw.type, raw.flags, raw.size, raw.align, raw.link)
        for index, raw in enumerate(raw_sections)
    )
    _check_tables(raw_sections, where)

    lief.logging.disable()
    binary = lief.ELF.parse(data)
    if binary is None:
        raise LinkError(f"{where}: corrupt ELF object: lief cannot read it")
    # lief warns (RuntimeWarning) on enum values it has no name for; _raw
    # reads those as numbers and the checks below judge them, so the
    # warning would only add noise to a one-line error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        symbols = _symbols(binary, len(sections), where)
        relocations = _relocations(binary, raw_sections, len(symbols), where)
    groups = _groups(data, raw_sections, symbols, sections, where)
    return InputFile(origin, sections, symbols, relocations, groups)


def _check_headers(data: bytes, where: str) -> tuple[tuple[_RawSection, ...], int]:
    """Check the ELF header and section headers; return them and the name table index."""
    _check_identity(data, where)
    *_, shoff, _, _, _, _, shentsize, shnum, shstrndx = _EHDR.unpack_from(data)
    if shoff == 0:
        raise LinkError(f"{where}: corrupt ELF object: no section header table")
    if shentsize != _SHDR.size:
        raise LinkError(f"{where}: corrupt ELF object: section header size {shentsize}")
    if shoff + _SHDR.size > len(data):
        raise LinkError(f"{where}: truncated ELF file: section headers are past the end of the file")
    first = _raw_section(data, shoff)
    # Extended numbering: counts that do not fit the header live in section 0.
    count = shnum if shnum else first.size
    strndx = first.link if shstrndx == SHN_XINDEX else shstrndx
    if shoff + count * _SHDR.size > len(data):
        raise LinkError(
            f"{where}: truncated ELF file: {count} section headers at offset {shoff} "
            f"do not fit in {len(data)} bytes"
        )
    sections = tuple(_raw_section(data, shoff + i * _SHDR.size) for i in range(count))
    for index, section in enumerate(sections):
        if section.type != SHT_NOBITS and section.offset + section.size > len(data):
            raise LinkError(
                f"{where}: truncated ELF file: section {index} ends at {section.offset + section.size}, "
                f"the file has {len(data)} bytes"
            )
    if not 0 < strndx < count or sections[strndx].type != SHT_STRTAB:
        raise LinkError(f"{where}: corrupt ELF object: bad section name table index {strndx}")
    return sections, strndx


def _check_identity(data: bytes, where: str) -> None:
    """Is this an ELF64 x86-64 relocatable object at all?"""
    if data.startswith(_BITCODE_MAGIC):
        raise LinkError(f"{where}: is LLVM bitcode (LTO), not an ELF x86-64 relocatable object")
    if not data.startswith(_ELF_MAGIC):
        raise LinkError(f"{where}: not an ELF file (expected an ELF x86-64 relocatable object)")
    if len(data) < _EHDR.size:
        raise LinkError(f"{where}: truncated ELF file: {len(data)} bytes, shorter than the ELF header")
    ident, e_type, machine = _EHDR.unpack_from(data)[:3]
    if ident[4] != 2:
        raise LinkError(f"{where}: is a 32-bit ELF object, not ELF64 x86-64")
    if ident[5] != 1:
        raise LinkError(f"{where}: is a big-endian ELF object, not x86-64")
    if e_type != _ET_REL:
        kind = _ELF_TYPES.get(e_type, f"file of type {e_type}")
        raise LinkError(f"{where}: is an ELF {kind}, not a relocatable object (.o)")
    if machine != _EM_X86_64:
        name = _MACHINES.get(machine, f"machine {machine}")
        raise LinkError(f"{where}: is an ELF object for {name}, not x86-64")


def _raw_section(data: bytes, offset: int) -> _RawSection:
    name, type_, flags, _, file_offset, size, link, info, align, entsize = _SHDR.unpack_from(data, offset)
    return _RawSection(name, type_, flags, file_offset, size, link, info, align, entsize)


def _section_names(data: bytes, sections: tuple[_RawSection, ...], names_index: int, where: str) -> list[str]:
    names_section = sections[names_index]
    table = data[names_section.offset : names_section.offset + names_section.size]
    names = []
    for index, section in enumerate(sections):
        if section.name_offset >= max(len(table), 1):
            raise LinkError(f"{where}: corrupt ELF object: section {index} has a bad name offset")
        end = table.find(b"\0", section.name_offset)
        names.append(table[section.name_offset : end if end != -1 else len(table)].decode("utf-8", "replace"))
    return names


def _check_tables(sections: tuple[_RawSection, ...], where: str) -> None:
    symtabs = [i for i, s in enumerate(sections) if s.type == SHT_SYMTAB]
    if len(symtabs) > 1:
        raise LinkError(f"{where}: corrupt ELF object: more than one symbol table")
    for index, section in enumerate(sections):
        if section.type == SHT_SYMTAB:
            _check_entries(section, _SYM_SIZE, index, where)
            if section.link >= len(sections) or sections[section.link].type != SHT_STRTAB:
                raise LinkError(f"{where}: corrupt ELF object: symbol table has no string table")
        elif section.type in (SHT_RELA, SHT_REL):
            _check_entries(section, _RELA_SIZE if section.type == SHT_RELA else _REL_SIZE, index, where)
            if section.info >= len(sections) or section.link not in symtabs:
                raise LinkError(f"{where}: corrupt ELF object: relocation section {index} is inconsistent")


def _check_entries(section: _RawSection, size: int, index: int, where: str) -> None:
    if section.entsize != size or section.size % size:
        raise LinkError(f"{where}: corrupt ELF object: section {index} has bad entry size")


def _symbols(binary: lief.ELF.Binary, section_count: int, where: str) -> tuple[Symbol, ...]:
    symbols = []
    for index, entry in enumerate(binary.symtab_symbols):
        shndx = entry.shndx
        if shndx == SHN_XINDEX:
            raise LinkError(f"{where}: objects with more than 65279 sections are not supported")
        if shndx < SHN_LORESERVE and shndx >= section_count:
            raise LinkError(f"{where}: corrupt ELF object: symbol {index} refers to section {shndx}")
        binding = _raw(entry.binding)
        symbols.append(
            Symbol(
                index=index,
                name=entry.name,
                binding=Binding(binding) if binding in (0, 1, 2) else Binding.GLOBAL,
                type=_raw(entry.type),
                shndx=shndx,
                value=entry.value,
                size=entry.size,
            )
        )
    return tuple(symbols)


def _raw(field: object) -> int:
    """The number behind a lief enum field: lief hands out a plain int for values it has no name for."""
    return int(getattr(field, "value", field))


def _relocations(
    binary: lief.ELF.Binary, sections: tuple[_RawSection, ...], symbol_count: int, where: str
) -> tuple[Relocation, ...]:
    relocations = []
    for entry in binary.object_relocations:
        if entry.info >= max(symbol_count, 1):
            raise LinkError(f"{where}: corrupt ELF object: relocation refers to symbol {entry.info}")
        relocations.append(
            Relocation(
                section=binary.get_section_idx(entry.section) if entry.has_section else 0,
                offset=entry.address,
                # lief tags relocation types with the architecture in the high bits.
                type=_raw(entry.type) & 0xFFFF,
                symbol=entry.info,
                addend=entry.addend,
            )
        )
    expected = sum(
        s.size // (_RELA_SIZE if s.type == SHT_RELA else _REL_SIZE)
        for s in sections
        if s.type in (SHT_RELA, SHT_REL)
    )
    if len(relocations) != expected:
        raise LinkError(
            f"{where}: corrupt ELF object: {expected} relocations in the file, {len(relocations)} readable"
        )
    return tuple(relocations)


def _groups(
    data: bytes,
    raw: tuple[_RawSection, ...],
    symbols: tuple[Symbol, ...],
    sections: tuple[Section, ...],
    where: str,
) -> tuple[SectionGroup, ...]:
    groups = []
    for index, section in enumerate(raw):
        if section.type != SHT_GROUP:
            continue
        body = data[section.offset : section.offset + section.size]
        if len(body) < 4 or len(body) % 4 or section.info >= len(symbols):
            raise LinkError(f"{where}: corrupt ELF object: section group {index} is malformed")
        words = struct.unpack(f"<{len(body) // 4}I", body)
        if any(member >= len(sections) for member in words[1:]):
            raise LinkError(f"{where}: corrupt ELF object: section group {index} names a missing section")
        signature = symbols[section.info]
        name = signature.name
        if not name and signature.section_index is not None:
            name = sections[signature.section_index].name
        groups.append(SectionGroup(name, tuple(words[1:]), bool(words[0] & GRP_COMDAT)))
    return tuple(groups)
