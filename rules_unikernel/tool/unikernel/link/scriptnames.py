"""What a name must look like to be written into the generated linker script.

Names come from inputs (section names, archive member names) and from the
command line (input paths, the entry symbol). A name that reached the
script unchecked could end a token early and add directives of its own
(``.debug_x) } INCLUDE /etc/hostname``), so every such name passes here.

lld's script lexer has two kinds of token. A bare word is a run of letters,
digits and ``_.$/\\~=+[]*?-!^:``; ``/*`` inside one still starts a comment
and ``*?[]`` make it a glob. A quoted token runs from ``"`` to the next
``"``, with no escapes, and is matched literally in file and section
patterns. So:

* section names (inputs' and output sections') must be plain words from a
  small alphabet: no glob characters, no comment opener, nothing to quote;
* file names (``path`` or ``archive.a:member.o``) are quoted when they are
  not plain words; a quoted token cannot hold ``"``, and control characters
  (newline, NUL) are refused too: they have no business in a file name and
  would break the one-line messages that quote them.
"""

from __future__ import annotations

import re

from .errors import LinkError

SECTION_NAME = re.compile(r"[A-Za-z0-9_.$-]+")
# A file name lld reads as one bare, literal word (no glob characters).
PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9_.$/:+-]+")
SYMBOL_NAME = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*")
_UNQUOTABLE = re.compile(r'["\x00-\x1f\x7f]')


def shown(name: str) -> str:
    """``name`` for a one-line message: quoted, with control characters escaped."""
    return repr(name)


def section_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a section name in the script, or None if it can."""
    if SECTION_NAME.fullmatch(name):
        return None
    bad = next(char for char in name if not SECTION_NAME.fullmatch(char)) if name else None
    if bad is None:
        return "it is empty"
    return f"it contains {bad!r}; only letters, digits and _.$- can be written"


def file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a (quoted) file name in the script, or None if it can."""
    if not name:
        return "it is empty"
    found = _UNQUOTABLE.search(name)
    if found is not None:
        return f"it contains {found.group()!r}, which a linker script cannot quote"
    return None


def script_file_name(name: str) -> str:
    """``name`` as a literal file pattern: bare if it is a plain word, else quoted.

    Callers check ``file_name_problem`` first (with the input to blame);
    this refuses again rather than write a broken script.
    """
    if PLAIN_FILE_NAME.fullmatch(name):
        return name
    problem = file_name_problem(name)
    if problem is not None:
        raise LinkError(f"file name {shown(name)} cannot be written into a linker script: {problem}")
    return f'"{name}"'


def script_section_name(name: str) -> str:
    """``name`` as a section name in the script; refused (LinkError) unless it is a plain word."""
    problem = section_name_problem(name)
    if problem is not None:
        raise LinkError(f"section name {shown(name)} cannot be written into a linker script: {problem}")
    return name
