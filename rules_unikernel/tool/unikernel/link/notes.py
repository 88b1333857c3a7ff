"""ELF notes as data, and the Xen notes a PVH image carries.

A note is ``namesz, descsz, type`` (three 32-bit words), the name, then the
descriptor, each padded to 4 bytes. The linker script writes notes as
``LONG`` words, so this module turns a note into 32-bit words: integers, or
the name of a symbol whose (32-bit) address lld fills in.

Numbers from Xen's public header ``xen/include/public/elfnote.h``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LinkError

XEN_ELFNOTE_XEN_VERSION = 5
XEN_ELFNOTE_GUEST_OS = 6
XEN_ELFNOTE_GUEST_VERSION = 7
XEN_ELFNOTE_LOADER = 8
XEN_ELFNOTE_PHYS32_ENTRY = 18

XEN_NAME = b"Xen"
GUEST_OS = "rules_unikernel"
XEN_VERSION = "xen-3.0"
LOADER = "generic"
MAX_GUEST_NAME = 128


@dataclass(frozen=True)
class SymbolAddress:
    """A 4-byte descriptor holding the address of ``symbol`` (below 4 GiB)."""

    symbol: str


@dataclass(frozen=True)
class Note:
    name: bytes
    type: int
    desc: bytes | SymbolAddress


Word = int | str
"""A 32-bit word of a note: a value, or a symbol whose address goes there."""


def xen_notes(guest_name: str, entry: str) -> tuple[Note, ...]:
    """The notes a Xen PVH loader (and QEMU's ``-kernel``) reads."""
    check_guest_name(guest_name)
    return (
        Note(XEN_NAME, XEN_ELFNOTE_XEN_VERSION, _c_string(XEN_VERSION)),
        Note(XEN_NAME, XEN_ELFNOTE_GUEST_OS, _c_string(GUEST_OS)),
        Note(XEN_NAME, XEN_ELFNOTE_GUEST_VERSION, _c_string(guest_name)),
        Note(XEN_NAME, XEN_ELFNOTE_LOADER, _c_string(LOADER)),
        Note(XEN_NAME, XEN_ELFNOTE_PHYS32_ENTRY, SymbolAddress(entry)),
    )


def check_guest_name(guest_name: str) -> None:
    if not guest_name or len(guest_name) > MAX_GUEST_NAME:
        raise LinkError(f"--guest-name must be 1 to {MAX_GUEST_NAME} characters long")
    if not all(0x20 < ord(char) < 0x7F for char in guest_name):
        raise LinkError(f"--guest-name {guest_name!r} must be printable ASCII without spaces")


def encode(note: Note) -> tuple[Word, ...]:
    """The note as 32-bit little-endian words, ready for ``LONG(...)``."""
    name = note.name + b"\0"
    if isinstance(note.desc, SymbolAddress):
        desc_size = 4
        desc_words: tuple[Word, ...] = (note.desc.symbol,)
    else:
        desc_size = len(note.desc)
        desc_words = _words(note.desc)
    return (len(name), desc_size, note.type, *_words(name), *desc_words)


def _c_string(text: str) -> bytes:
    return text.encode("ascii") + b"\0"


def _words(data: bytes) -> tuple[int, ...]:
    padded = data + b"\0" * (-len(data) % 4)
    return tuple(int.from_bytes(padded[i : i + 4], "little") for i in range(0, len(padded), 4))
