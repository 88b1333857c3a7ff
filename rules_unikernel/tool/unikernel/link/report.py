"""A human summary of a link, rendered from its manifest.

Tables on a terminal (rich); plain aligned text otherwise, so build logs
stay readable and diffable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table


def print_summary(manifest: Mapping[str, object], console: Console) -> None:
    for title, headers, rows in _tables(manifest):
        if console.is_terminal:
            table = Table(title=title)
            for header in headers:
                table.add_column(header)
            for row in rows:
                table.add_row(*row)
            console.print(table)
        else:
            console.print(_plain(title, headers, rows), markup=False, highlight=False)


def _tables(manifest: Mapping[str, object]) -> list[tuple[str, list[str], list[list[str]]]]:
    segments = _records(manifest.get("segments"))
    components = _records(manifest.get("components"))
    image = manifest.get("image")
    build_id = image.get("build_id", "") if isinstance(image, Mapping) else ""
    return [
        (
            f"segments (build-id {build_id})",
            ["type", "perm", "address", "file", "memory", "sections"],
            [
                [
                    str(s["type"]),
                    str(s["permissions"]),
                    str(s["address"]),
                    str(s["file_size"]),
                    str(s["memory_size"]),
                    " ".join(s["sections"]),
                ]
                for s in segments
            ],
        ),
        (
            "components",
            ["label", "bytes", "objects"],
            [[str(c["label"]), str(c["size"]), str(len(c["inputs"]))] for c in components],
        ),
    ]


def _records(value: object) -> list[Mapping]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, Sequence) else []


def _plain(title: str, headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [title]
    for row in (headers, *rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines)
