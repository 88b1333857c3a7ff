"""Name the code addresses a guest prints, from the image's .debug.elf.

The guest has no symbol table (the shipped image is stripped), so its fault
reports print raw addresses; the debug twin has the same layout, so its
symbols name them exactly.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

# Lines of the boot code's reports that carry code addresses.
_CODE_LINE = re.compile(r"rip 0x|backtrace:|returning to 0x")
_ADDRESS = re.compile(r"0x[0-9a-f]+")


@dataclass(frozen=True)
class Symbols:
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    names: tuple[str, ...]

    def name(self, address: int) -> str | None:
        """``function+0xoff`` for an address inside a function, else None."""
        i = bisect.bisect_right(self.starts, address) - 1
        if i < 0 or address >= self.ends[i]:
            return None
        offset = address - self.starts[i]
        return self.names[i] + (f"+{offset:#x}" if offset else "")


def load_symbols(debug_elf: Path) -> Symbols:
    with debug_elf.open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        funcs = sorted(
            (s["st_value"], s["st_value"] + max(s["st_size"], 1), s.name)
            for s in (symtab.iter_symbols() if symtab else ())
            if s["st_info"]["type"] == "STT_FUNC" and s.name
        )
    return Symbols(tuple(f[0] for f in funcs), tuple(f[1] for f in funcs), tuple(f[2] for f in funcs))


def annotate(text: str, symbols: Symbols) -> str:
    """Appends ``<function+off>`` to the code addresses in report lines."""

    def one(m: re.Match[str]) -> str:
        name = symbols.name(int(m.group(0), 16))
        return f"{m.group(0)} <{name}>" if name else m.group(0)

    return "\n".join(
        _ADDRESS.sub(one, line) if _CODE_LINE.search(line) else line for line in text.split("\n")
    )
