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
            console.print(_plain(title, headers, rows), markup=False, highlight=False, soft_wrap=True)


def _tables(manifest: Mapping[str, object]) -> list[tuple[str, list[str], list[list[str]]]]:
    segments = _records(manifest.get("segments"))
    components = _records(manifest.get("components"))
    image = manifest.get("image")
    build_id = image.get("build_id", "") if isinstance(image, Mapping) else ""
    layout = manifest.get("layout")
    layout = layout if isinstance(layout, Mapping) else {}
    entropy = layout.get("entropy")
    entropy = entropy if isinstance(entropy, Mapping) else {}
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
            "components (bytes)",
            ["label", "in", "kept", "removed", "text", "rodata", "data", "bss", "objects"],
            [_component_row(c) for c in components],
        ),
        (
            "layout",
            ["seed", "base", "functions", "base bits", "order bits", "padding bits"],
            [
                [
                    str(layout.get("seed", "")),
                    str(layout.get("base", "")),
                    str(layout.get("shuffled_functions", "")),
                    str(entropy.get("base_bits", "")),
                    str(entropy.get("order_bits", "")),
                    str(entropy.get("padding_bits", "")),
                ]
            ],
        ),
    ]


def _component_row(component: Mapping) -> list[str]:
    numbers = component.get("bytes")
    numbers = numbers if isinstance(numbers, Mapping) else {}
    totals = {
        key: numbers.get(key) if isinstance(numbers.get(key), Mapping) else {}
        for key in ("in", "kept", "removed")
    }
    kept = totals["kept"]
    return [
        str(component["label"]),
        str(totals["in"].get("total", "")),
        str(kept.get("total", "")),
        str(totals["removed"].get("total", "")),
        *(str(kept.get(group, "")) for group in ("text", "rodata", "data", "bss")),
        str(len(component["inputs"])),
    ]


def _records(value: object) -> list[Mapping]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, Sequence) else []


def _plain(title: str, headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [title]
    for row in (headers, *rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines)
