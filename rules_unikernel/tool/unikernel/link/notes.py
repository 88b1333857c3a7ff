"""ELF notes as data, and the Xen notes a PVH (and PV) image carries.

A note is ``namesz, descsz, type`` (three 32-bit words), the name, then the
descriptor, each padded to 4 bytes. The linker script writes notes as data,
so this module turns a note into a sequence of ``Datum``: 32-bit (``LONG``)
or 64-bit (``QUAD``) little-endian values, each an integer or the name of a
symbol whose address lld fills in.

Numbers from Xen's public header ``xen/include/public/elfnote.h``.

Every image carries the PVH notes (``PHYS32_ENTRY``, read by Xen for a PVH
guest and by QEMU's ``-kernel``). An image that also defines ``_start_pv``
(//libos/platform/xen does) gets the notes Xen's domain builder (libelf) reads for
a 64-bit PV guest: ``ENTRY`` (the 64-bit virtual address of ``_start_pv``),
``HYPERCALL_PAGE`` (where Xen writes the hypercall stubs), and
``VIRT_BASE``/``PADDR_OFFSET`` 0, so that virtual == pseudo-physical ==
the link address, as the PVH path sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LinkError

XEN_ELFNOTE_ENTRY = 1
XEN_ELFNOTE_HYPERCALL_PAGE = 2
XEN_ELFNOTE_VIRT_BASE = 3
XEN_ELFNOTE_PADDR_OFFSET = 4
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

# The PV entry point, and the page Xen fills with hypercall stubs for a PV
# guest; both defined by //libos/platform/xen.
PV_ENTRY = "_start_pv"
HYPERCALL_PAGE = "boot_hypercall_page"


@dataclass(frozen=True)
class SymbolAddress:
    """A 4-byte descriptor holding the address of ``symbol`` (below 4 GiB)."""

    symbol: str


@dataclass(frozen=True)
class Datum:
    """``width`` bytes (4 or 8), little-endian: a value, or the address of a symbol."""

    width: int
    value: int | str


@dataclass(frozen=True)
class Note:
    """An ELF note; ``desc_symbol``, if set, is defined at the descriptor's first byte."""

    name: bytes
    type: int
    desc: bytes | SymbolAddress | tuple[Datum, ...]
    desc_symbol: str | None = None

    @property
    def size(self) -> int:
        """Bytes the note takes, header and padding included."""
        return sum(datum.width for datum in encode(self))

    def symbols(self) -> frozenset[str]:
        """Symbols whose addresses the note holds."""
        return frozenset(d.value for d in encode(self) if isinstance(d.value, str))


def xen_notes(guest_name: str, entry: str, pv: bool = False) -> tuple[Note, ...]:
    """The notes a Xen PVH loader (and QEMU's ``-kernel``) reads; with ``pv``, a PV loader's too."""
    check_guest_name(guest_name)
    notes = (
        Note(XEN_NAME, XEN_ELFNOTE_XEN_VERSION, _c_string(XEN_VERSION)),
        Note(XEN_NAME, XEN_ELFNOTE_GUEST_OS, _c_string(GUEST_OS)),
        Note(XEN_NAME, XEN_ELFNOTE_GUEST_VERSION, _c_string(guest_name)),
        Note(XEN_NAME, XEN_ELFNOTE_LOADER, _c_string(LOADER)),
        Note(XEN_NAME, XEN_ELFNOTE_PHYS32_ENTRY, SymbolAddress(entry)),
    )
    if not pv:
        return notes
    return (
        *notes,
        # 64-bit values: libelf reads these notes as 8 bytes for an ELF64 image.
        Note(XEN_NAME, XEN_ELFNOTE_VIRT_BASE, (Datum(8, 0),)),
        Note(XEN_NAME, XEN_ELFNOTE_PADDR_OFFSET, (Datum(8, 0),)),
        Note(XEN_NAME, XEN_ELFNOTE_ENTRY, (Datum(8, PV_ENTRY),)),
        Note(XEN_NAME, XEN_ELFNOTE_HYPERCALL_PAGE, (Datum(8, HYPERCALL_PAGE),)),
    )


def check_guest_name(guest_name: str) -> None:
    if not guest_name or len(guest_name) > MAX_GUEST_NAME:
        raise LinkError(f"--guest-name must be 1 to {MAX_GUEST_NAME} characters long")
    if not all(0x20 < ord(char) < 0x7F for char in guest_name):
        raise LinkError(f"--guest-name {guest_name!r} must be printable ASCII without spaces")


def encode(note: Note) -> tuple[Datum, ...]:
    """The note as data, header first, ready for ``LONG(...)``/``QUAD(...)``."""
    return (*header(note), *descriptor(note))


def header(note: Note) -> tuple[Datum, ...]:
    """``namesz, descsz, type`` and the padded name."""
    name = note.name + b"\0"
    if isinstance(note.desc, bytes):
        desc_size = len(note.desc)  # the padding is not part of the descriptor
    else:
        desc_size = sum(datum.width for datum in descriptor(note))
    return tuple(Datum(4, word) for word in (len(name), desc_size, note.type, *_words(name)))


def descriptor(note: Note) -> tuple[Datum, ...]:
    if isinstance(note.desc, SymbolAddress):
        return (Datum(4, note.desc.symbol),)
    if isinstance(note.desc, tuple):
        if sum(datum.width for datum in note.desc) % 4:
            raise ValueError("a note descriptor of values must be a multiple of 4 bytes")
        return note.desc
    return tuple(Datum(4, word) for word in _words(note.desc))


def _c_string(text: str) -> bytes:
    return text.encode("ascii") + b"\0"


def _words(data: bytes) -> tuple[int, ...]:
    padded = data + b"\0" * (-len(data) % 4)
    return tuple(int.from_bytes(padded[i : i + 4], "little") for i in range(0, len(padded), 4))
