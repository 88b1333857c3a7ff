"""Split ``ar`` archives into their members.

lief does not read archives and the format is small, so it is read here.
Both dialects are understood:

* GNU/System V: names end with ``/``; ``/`` (and ``/SYM64/``) is the symbol
  index, ``//`` holds names longer than 15 bytes, referenced as ``/<offset>``.
* BSD: ``#1/<n>`` means the name is the first ``n`` bytes of the member data;
  ``__.SYMDEF*`` is the symbol index.

The symbol index is skipped: the symbol table reads each member's own
symbols, which says the same thing and cannot be stale.

Member names end up in the linker script (``lib.a:member.o(.text.f)``), so
a name must be UTF-8 (the script is, and lld compares bytes) and hold
nothing a quoted script token cannot (see scriptnames). Numbers in headers
are ASCII digits only: ``str.isdigit`` also accepts ``²``, which ``int``
then refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import LinkError
from .scriptnames import file_name_problem, shown

MAGIC = b"!<arch>\n"
THIN_MAGIC = b"!<thin>\n"
HEADER_SIZE = 60
HEADER_END = b"`\n"

_GNU_INDEXES = frozenset({"/", "/SYM64/"})
_GNU_NAME_TABLE = "//"
_BSD_INDEXES = frozenset({"__.SYMDEF", "__.SYMDEF SORTED", "__.SYMDEF_64", "__.SYMDEF_64 SORTED"})
_DECIMAL = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Member:
    """One archive member: its name, contents and header offset (for messages)."""

    name: str
    data: bytes
    offset: int


@dataclass(frozen=True)
class _Header:
    raw_name: str
    size: int
    data_start: int


def is_archive(data: bytes) -> bool:
    return data.startswith(MAGIC) or data.startswith(THIN_MAGIC)


def split_archive(data: bytes, where: str) -> tuple[Member, ...]:
    """Return the members of the archive ``data``, in file order.

    ``where`` names the archive in error messages.
    """
    if data.startswith(THIN_MAGIC):
        raise LinkError(f"{where}: thin archives are not supported; use 'ar rcs' without T")
    if not data.startswith(MAGIC):
        raise LinkError(f"{where}: not an ar archive")

    members: list[Member] = []
    long_names: bytes | None = None
    offset = len(MAGIC)
    while offset < len(data):
        header = _read_header(data, offset, where)
        body = data[header.data_start : header.data_start + header.size]
        name = header.raw_name
        if name == _GNU_NAME_TABLE:
            long_names = body
        elif name in _GNU_INDEXES:
            pass
        elif name.startswith("#1/") and name != "#1/":
            # BSD "#1/<length>"; a bare "#1/" is GNU's spelling of a member
            # named "#1".
            name, body = _bsd_name(name, body, offset, where)
            if name not in _BSD_INDEXES:
                members.append(Member(_checked(name, offset, where), body, offset))
        elif name in _BSD_INDEXES:
            pass
        else:
            name = _gnu_name(name, long_names, offset, where)
            members.append(Member(_checked(name, offset, where), body, offset))
        # Members start on even offsets; an odd-sized member is followed by "\n".
        offset = header.data_start + header.size + (header.size & 1)
    return tuple(members)


def _read_header(data: bytes, offset: int, where: str) -> _Header:
    raw = data[offset : offset + HEADER_SIZE]
    if len(raw) < HEADER_SIZE:
        raise LinkError(f"{where}: truncated archive: member header at offset {offset} is cut short")
    if raw[58:60] != HEADER_END:
        raise LinkError(f"{where}: corrupt archive: bad member header at offset {offset}")
    size_text = raw[48:58].decode("ascii", errors="replace").strip()
    if not _DECIMAL.fullmatch(size_text):
        raise LinkError(f"{where}: corrupt archive: bad member size {size_text!r} at offset {offset}")
    size = int(size_text)
    data_start = offset + HEADER_SIZE
    if data_start + size > len(data):
        raise LinkError(
            f"{where}: truncated archive: member at offset {offset} needs {size} bytes, "
            f"{len(data) - data_start} left"
        )
    raw_name = raw[0:16].decode("latin-1").rstrip(" ")
    return _Header(raw_name, size, data_start)


def _gnu_name(raw_name: str, long_names: bytes | None, offset: int, where: str) -> str:
    if raw_name.startswith("/") and not _DECIMAL.fullmatch(raw_name[1:]):
        # GNU names end with "/"; one that starts with it is a name-table
        # reference ("/123") or nothing at all.
        raise LinkError(
            f"{where}: corrupt archive: member name {_shown_raw(raw_name)} at offset {offset} is neither "
            "a name nor a reference to the '//' name table"
        )
    if raw_name.startswith("/"):
        if long_names is None:
            raise LinkError(
                f"{where}: corrupt archive: long member name at offset {offset} but no '//' name table"
            )
        start = int(raw_name[1:])
        if start >= len(long_names):
            raise LinkError(
                f"{where}: corrupt archive: long member name at offset {offset} is outside the name table"
            )
        end = len(long_names)
        for terminator in (b"\n", b"\0"):
            found = long_names.find(terminator, start)
            if found != -1:
                end = min(end, found)
        name = _decoded(long_names[start:end], offset, where)
    else:
        # The header was read as Latin-1, which gives back its bytes exactly.
        name = _decoded(raw_name.encode("latin-1"), offset, where)
    name = name.removesuffix("/")
    if not name:
        raise LinkError(f"{where}: corrupt archive: member at offset {offset} has no name")
    return name


def _bsd_name(raw_name: str, body: bytes, offset: int, where: str) -> tuple[str, bytes]:
    length_text = raw_name[3:]
    if not _DECIMAL.fullmatch(length_text) or int(length_text) > len(body):
        raise LinkError(
            f"{where}: corrupt archive: bad BSD member name {_shown_raw(raw_name)} at offset {offset}"
        )
    length = int(length_text)
    name = _decoded(body[:length].rstrip(b"\0"), offset, where)
    if not name:
        raise LinkError(f"{where}: corrupt archive: member at offset {offset} has no name")
    return name, body[length:]


def _decoded(raw: bytes, offset: int, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LinkError(
            f"{where}: the name of the member at offset {offset} is not UTF-8 ({raw!r}); rename the member"
        ) from None


def _checked(name: str, offset: int, where: str) -> str:
    """A member name the linker script can hold, or a LinkError naming it."""
    problem = file_name_problem(name)
    if problem is not None:
        raise LinkError(
            f"{where}: archive member {shown(name)} at offset {offset} cannot be named in a linker "
            f"script: {problem}; rename the member"
        )
    return name


def _shown_raw(raw_name: str) -> str:
    """A header's name field (read as Latin-1) for a message, as the UTF-8 it most likely is."""
    return shown(raw_name.encode("latin-1").decode("utf-8", errors="replace"))
