"""The seal note: the image's permission map, for the boot code's page tables.

The boot code maps each region with exactly the permissions listed here
(text R-X, notes and rodata R, data and bss RW, nothing writable and
executable). The note is written as data in the linker script from the
group boundary symbols, so lld fills in the final addresses; ``verify``
checks after the link that it matches the program headers exactly.

Binary layout (little-endian; docs/manifest.md is the reference):

    note header   u32 namesz = 10, u32 descsz = 8 + 24 * count, u32 type = 0x4c414553
    name          "Unikernel\\0" + 2 bytes of padding
    descriptor    u32 version = 1, u32 count = 5, then count entries of
                  u64 start, u64 end, u32 flags (R=4, W=2, X=1), u32 kind

The note is the first thing in the rodata group, so it starts on a page and
the descriptor (24 bytes into the note) is 8-byte aligned; the symbol
``__unikernel_seal`` points at it. Entries are in address order, do not
overlap, and cover every loaded byte: [start, end) with start page aligned
for text, notes, data and bss.

Loaders ignore the note: Xen reads only notes named "Xen"; QEMU matches
notes by type alone, so the type is a value no Xen note uses (it spells
"SEAL" in a hex dump), and the PT_NOTE keeps 4-byte alignment because QEMU
steps from note to note by the segment's alignment.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from .notes import Datum, Note

SEAL_NAME = b"Unikernel"
SEAL_TYPE = 0x4C414553
SEAL_VERSION = 1
SEAL_SYMBOL = "__unikernel_seal"
SEAL_SECTION = ".note.unikernel"

PERM_R = 4
PERM_W = 2
PERM_X = 1

NOTES_START = "__notes_start"
NOTES_END = "__notes_end"

_HEADER = struct.Struct("<II")
_ENTRY = struct.Struct("<QQII")


class Kind(IntEnum):
    """What a region holds; the value is the entry's ``kind`` field."""

    TEXT = 1
    NOTES = 2
    RODATA = 3
    DATA = 4
    BSS = 5


@dataclass(frozen=True)
class RegionSpec:
    """A region as the linker script spells it: two symbols and permissions."""

    kind: Kind
    start: str
    end: str
    flags: int


REGIONS = (
    RegionSpec(Kind.TEXT, "__text_start", "__text_end", PERM_R | PERM_X),
    RegionSpec(Kind.NOTES, NOTES_START, NOTES_END, PERM_R),
    RegionSpec(Kind.RODATA, NOTES_END, "__rodata_end", PERM_R),
    RegionSpec(Kind.DATA, "__data_start", "__data_end", PERM_R | PERM_W),
    RegionSpec(Kind.BSS, "__bss_start", "__bss_end", PERM_R | PERM_W),
)


@dataclass(frozen=True)
class Region:
    """A region as read back from an image."""

    kind: int
    start: int
    end: int
    flags: int


@dataclass(frozen=True)
class Seal:
    version: int
    regions: tuple[Region, ...]


def seal_note() -> Note:
    """The note, with the region bounds as symbol addresses lld fills in."""
    desc = [Datum(4, SEAL_VERSION), Datum(4, len(REGIONS))]
    for region in REGIONS:
        desc += [Datum(8, region.start), Datum(8, region.end), Datum(4, region.flags), Datum(4, region.kind)]
    return Note(SEAL_NAME, SEAL_TYPE, tuple(desc), desc_symbol=SEAL_SYMBOL)


def parse(desc: bytes) -> Seal:
    """Decode a seal descriptor; raise ValueError if its size does not match its count."""
    if len(desc) < _HEADER.size:
        raise ValueError(f"descriptor of {len(desc)} bytes is shorter than its header")
    version, count = _HEADER.unpack_from(desc)
    if len(desc) != _HEADER.size + count * _ENTRY.size:
        raise ValueError(f"descriptor of {len(desc)} bytes does not hold {count} entries")
    regions = tuple(
        Region(kind, start, end, flags)
        for start, end, flags, kind in _ENTRY.iter_unpack(desc[_HEADER.size :])
    )
    return Seal(version, regions)


def describe_flags(flags: int) -> str:
    """``r-x`` style text, the way the manifest writes permissions."""
    return "".join(
        (
            "r" if flags & PERM_R else "-",
            "w" if flags & PERM_W else "-",
            "x" if flags & PERM_X else "-",
        )
    )
