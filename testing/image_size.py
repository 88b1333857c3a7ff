"""Image sizes from link manifests: a ceiling check, and the per-component table.

As a test (image_size_test in //testing:defs.bzl):

    image_size.py --max-bytes N --label //app:image <files of the image target>

fails, naming the image, its size, the ceiling and its largest components,
when the stripped image (`<name>.elf`) is larger than N bytes.

As a report (docs/benchmarks.md):

    image_size.py --table MANIFEST [MANIFEST ...]

prints, for each manifest, the image's file size and, per component, the
bytes kept in the image by kind (text, rodata, data), as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

KINDS = ("text", "rodata", "data")


@dataclass(frozen=True)
class Component:
    label: str
    kept: dict[str, int]  # bytes kept in the image, by kind ("text", "rodata", "data", "bss")

    @property
    def loaded(self) -> int:
        """Bytes this component puts in the image file (bss takes none)."""
        return sum(self.kept.get(k, 0) for k in KINDS)


@dataclass(frozen=True)
class ImageSize:
    name: str
    file_bytes: int  # the stripped image, as the manifest recorded it
    segments: dict[str, int]  # file bytes per PT_LOAD, by permissions ("r-x", "r--", "rw-")
    components: tuple[Component, ...]


class SizeError(Exception):
    """A manifest or image that cannot be measured; the message says why."""


def read_manifest(path: Path) -> ImageSize:
    try:
        m = json.loads(path.read_text())
        return ImageSize(
            # The guest name is the target's name ("image" for most): the
            # package directory tells two apart.
            name=f"{path.parent.name}/{m['guest_name']}",
            file_bytes=int(m["image"]["size"]),
            segments={s["permissions"]: int(s["file_size"]) for s in m["segments"] if s["type"] == "PT_LOAD"},
            components=tuple(Component(c["label"], dict(c["bytes"]["kept"])) for c in m["components"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SizeError(f"{path}: not a readable link manifest ({e!r}); pass the image target's .manifest.json") from e


def largest(size: ImageSize, count: int) -> list[Component]:
    return sorted(size.components, key=lambda c: (-c.loaded, c.label))[:count]


def check(label: str, image: Path, manifest: Path, max_bytes: int) -> str | None:
    """None if the image fits under max_bytes, else the one-paragraph reason."""
    size = read_manifest(manifest)
    actual = image.stat().st_size
    if actual != size.file_bytes:
        raise SizeError(f"{image}: {actual} bytes, but its manifest says {size.file_bytes}; rebuild {label}")
    if actual <= max_bytes:
        return None
    top = ", ".join(f"{c.label} {c.loaded}" for c in largest(size, 5))
    return (
        f"{label} is {actual} bytes, {actual - max_bytes} over its ceiling of {max_bytes} "
        f"(largest components, bytes in the file: {top}); make it smaller again, or raise max_bytes "
        f"where the test is declared and say why in the commit"
    )


def table(sizes: list[ImageSize]) -> str:
    lines = ["| image | file bytes | r-x | r-- | rw- |", "|---|---:|---:|---:|---:|"]
    for s in sizes:
        segs = " | ".join(str(s.segments.get(p, 0)) for p in ("r-x", "r--", "rw-"))
        lines.append(f"| {s.name} | {s.file_bytes} | {segs} |")
    for s in sizes:
        lines += ["", f"{s.name}: bytes kept per component", "", "| component | text | rodata | data |", "|---|---:|---:|---:|"]
        for c in largest(s, len(s.components)):
            if c.loaded:
                lines.append(f"| {c.label} | " + " | ".join(str(c.kept.get(k, 0)) for k in KINDS) + " |")
        totals = [sum(c.kept.get(k, 0) for c in s.components) for k in KINDS]
        lines.append("| total | " + " | ".join(str(t) for t in totals) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-bytes", type=int, help="the ceiling for the stripped image, in bytes")
    parser.add_argument("--label", default="the image", help="the image target, for messages")
    parser.add_argument("--table", action="store_true", help="print the size tables of the manifests given")
    parser.add_argument("files", nargs="+", type=Path, help="the image target's files (or manifests, with --table)")
    args = parser.parse_args(argv)
    try:
        if args.table:
            print(table([read_manifest(p) for p in args.files]))
            return 0
        if args.max_bytes is None:
            parser.error("give --max-bytes (a ceiling) or --table")
        images = [p for p in args.files if p.name.endswith(".elf") and not p.name.endswith(".debug.elf")]
        manifests = [p for p in args.files if p.name.endswith(".manifest.json")]
        if len(images) != 1 or len(manifests) != 1:
            raise SizeError(f"{args.label}: expected one <name>.elf and one <name>.manifest.json among {len(args.files)} files")
        reason = check(args.label, images[0], manifests[0], args.max_bytes)
    except SizeError as e:
        print(f"image_size: {e}", file=sys.stderr)
        return 2
    if reason:
        print(reason, file=sys.stderr)
        return 1
    print(f"{args.label}: {images[0].stat().st_size} bytes, ceiling {args.max_bytes}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
