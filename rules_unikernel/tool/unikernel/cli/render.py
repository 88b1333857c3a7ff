"""Print reports: rich tables on a terminal, plain ASCII text otherwise.

Commands build their output as data (tables and blocks of lines); only this
module knows about the terminal. Off a terminal the text is aligned columns
with no colour, no box drawing and no wrapping, so a log or a pipe into
grep and diff sees every value whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = field(default_factory=frozenset)
    """Indices of columns aligned right (numbers)."""


@dataclass(frozen=True)
class Block:
    """A heading and lines under it (``key: value`` facts, or differences)."""

    title: str
    lines: tuple[str, ...]


Item = Table | Block


def show(items: Iterable[Item], console: Console) -> None:
    for index, item in enumerate(items):
        if index:
            _print(console, "")
        if console.is_terminal:
            _rich(item, console)
        else:
            _print(console, plain(item))


def plain(item: Item) -> str:
    if isinstance(item, Block):
        return "\n".join((item.title, *(f"  {line}" for line in item.lines)))
    rows = (item.columns, *item.rows)
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(item.columns))]
    lines = [item.title]
    for row in rows:
        cells = (
            cell.rjust(width) if i in item.right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        )
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def _rich(item: Item, console: Console) -> None:
    if isinstance(item, Block):
        console.print(Text(item.title, style="bold"))
        for line in item.lines:
            console.print(Text(f"  {line}"), soft_wrap=True)
        return
    table = RichTable(title=item.title, title_justify="left", box=box.SIMPLE_HEAD)
    for index, column in enumerate(item.columns):
        table.add_column(column, justify="right" if index in item.right else "left")
    for row in item.rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def _print(console: Console, text: str) -> None:
    # Names come from files: never read them as markup, emoji codes or highlights.
    console.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)


def lines(rows: Sequence[tuple[str, object]]) -> tuple[str, ...]:
    """``key: value`` lines with the values aligned."""
    width = max((len(key) for key, _ in rows), default=0)
    return tuple(f"{key + ':':<{width + 1}} {value}" for key, value in rows)
