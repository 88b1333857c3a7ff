"""The seal note, decoded on its own: the permission map the boot code maps pages from.

Decoded here rather than with ``unikernel.link.seal`` so that an encoder
and decoder that agree with each other but not with the documented layout
(docs/manifest.md) still fail ``verify``:

    name "Unikernel", type 0x4c414553 ("SEAL")
    descriptor: u32 version, u32 count, then count x
                (u64 start, u64 end, u32 flags R=4 W=2 X=1, u32 kind)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SEAL_NAME = b"Unikernel"
SEAL_TYPE = 0x4C414553
SEAL_VERSION = 1
KINDS = {1: "text", 2: "notes", 3: "rodata", 4: "data", 5: "bss"}

_HEADER = struct.Struct("<II")
_ENTRY = struct.Struct("<QQII")


@dataclass(frozen=True)
class SealRegion:
    start: int
    end: int
    flags: int
    kind: int

    @property
    def name(self) -> str:
        return KINDS.get(self.kind, f"kind {self.kind}")


@dataclass(frozen=True)
class SealNote:
    version: int
    regions: tuple[SealRegion, ...]


def parse_seal(desc: bytes) -> SealNote:
    """Decode a seal descriptor; ValueError if its size does not hold its count."""
    if len(desc) < _HEADER.size:
        raise ValueError(f"descriptor of {len(desc)} bytes is shorter than its header")
    version, count = _HEADER.unpack_from(desc)
    if len(desc) != _HEADER.size + count * _ENTRY.size:
        raise ValueError(f"descriptor of {len(desc)} bytes does not hold {count} regions")
    regions = tuple(SealRegion(*entry) for entry in _ENTRY.iter_unpack(desc[_HEADER.size :]))
    return SealNote(version, regions)
