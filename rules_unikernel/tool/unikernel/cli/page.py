"""A picture of an image, or of two: one self-contained HTML page (``inspect --html``, ``diff --html``).

The page is data and a renderer. This module turns the ELF file (what is
loaded, with which permissions, and the seal note) and the manifest (where
the bytes came from, what specialisation removed, the entropy figures) into
one JSON document; page.js draws it: the layout to scale, a treemap of the
kept bytes, the removed code, the ASLR figures, or two images side by side.

Everything taken from the image is untrusted (symbol names are whatever the
objects said): the JSON is embedded with ``<``, ``>`` and ``&`` escaped, so
it cannot end its script element, and page.js writes every value with DOM
text calls, never as markup. A Content-Security-Policy allows only the
page's own script and style (by hash) and no fetch of any kind.

The bytes depend only on the image's file name, its contents and its
manifest: no time, no path, no host, so a release bundle can carry the page
and rebuild it byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .diff import Difference
from .elf import ElfImage, ProgramHeader
from .errors import CliError
from .inspect import GROUPS, XEN_ELFNOTE_GUEST_VERSION, _mapping, _records, _secrecy
from .seal import SEAL_NAME, SEAL_TYPE, parse_seal
from .verify import XEN_NAME

PAGE_SCHEMA = 1
# A diff page lists at most this many differences per area (the text report has them all).
DIFFERENCES_PER_AREA = 200
PAGE = 4096

# U+2028/2029 end a line in older JavaScript parsers; the rest could close or open markup.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass(frozen=True)
class PageImage:
    """One image as the page needs it: its ELF file, its manifest (if any), the name to show."""

    image: ElfImage
    manifest: Mapping[str, object] | None
    name: str


def image_view(page: PageImage) -> dict[str, object]:
    """The data the page draws for one image (plain JSON values)."""
    image = page.image
    manifest = page.manifest if isinstance(page.manifest, Mapping) else {}
    entry = _mapping(manifest.get("entry"))
    guest = image.note(XEN_NAME, XEN_ELFNOTE_GUEST_VERSION)
    return {
        "file": page.name,
        "bytes": len(image.data),
        "sha256": image.sha256,
        "build_id": image.build_id or "",
        "entry": _hex(image.entry),
        "entry_symbol": _str(entry.get("symbol")),
        "guest": guest.text() if guest else "",
        "has_manifest": isinstance(page.manifest, Mapping),
        "segments": [_segment(image, s) for s in image.segments],
        "seal": _seal(image),
        "components": [_component(c) for c in _records(manifest.get("components"))],
        "layout": _layout(manifest),
        "boot": _boot(manifest),
        "gc": {k: v for k, v in _mapping(manifest.get("gc")).items() if _scalar(v)},
    }


def render_inspect(page: PageImage) -> bytes:
    view = image_view(page)
    return _document(f"{page.name}: a picture of the image", {"kind": "image", "image": view})


def render_diff(a: PageImage, b: PageImage, differences: Sequence[Difference]) -> bytes:
    areas: dict[str, list[str]] = {}
    for difference in differences:
        areas.setdefault(difference.area, []).append(difference.text)
    data = {
        "kind": "diff",
        "a": image_view(a),
        "b": image_view(b),
        "identical": not differences,
        "differences": [
            {"area": area, "count": len(texts), "lines": texts[:DIFFERENCES_PER_AREA]}
            for area, texts in areas.items()
        ],
    }
    return _document(f"{a.name} and {b.name}: two images compared", data)


def write_page(path: Path, shown: str, data: bytes) -> None:
    """Write the page whole or not at all; a bad destination is one line naming it."""
    if path.is_dir():
        raise CliError(f"--html {shown}: is a directory; name the page's file, e.g. {shown}/image.html")
    if not path.parent.is_dir():
        raise CliError(f"--html {shown}: the directory {path.parent} does not exist; create it first")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise CliError(f"--html {shown}: cannot write it: {error.strerror or error}") from None


def embed_json(value: object) -> str:
    """JSON that is safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text)


def _document(title: str, data: Mapping[str, object]) -> bytes:
    assets = resources.files(__package__)
    style = assets.joinpath("page.css").read_text(encoding="utf-8")
    script = assets.joinpath("page.js").read_text(encoding="utf-8")
    policy = "; ".join(
        (
            "default-src 'none'",
            f"style-src '{_csp_hash(style)}'",
            f"script-src '{_csp_hash(script)}'",
            "img-src 'none'",
            "connect-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
        )
    )
    payload = embed_json({"schema": PAGE_SCHEMA, **data})
    # The title is the only value outside the JSON; it is escaped for HTML text.
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_html_text(title)}</title>",
        f"<style>{style}</style>",
        "</head>",
        "<body>",
        '<main id="page"><noscript>This page draws the image with JavaScript; '
        "run `unikernel inspect IMAGE` for the same facts as text.</noscript></main>",
        f'<script type="application/json" id="data">{payload}</script>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts).encode("utf-8")


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _segment(image: ElfImage, segment: ProgramHeader) -> dict[str, object]:
    return {
        "index": segment.index,
        "type": segment.type,
        "perm": segment.permissions,
        "start": segment.vaddr,
        "start_hex": _hex(segment.vaddr),
        "end": segment.vaddr + segment.memsz,
        "end_hex": _hex(segment.vaddr + segment.memsz),
        "file_size": segment.filesz,
        "memory_size": segment.memsz,
        "sections": list(image.sections_in(segment)),
    }


def _seal(image: ElfImage) -> dict[str, object] | None:
    note = image.note(SEAL_NAME, SEAL_TYPE)
    if note is None:
        return None
    try:
        seal = parse_seal(note.desc)
    except ValueError as error:
        return {"problem": str(error), "version": 0, "regions": []}
    return {
        "problem": "",
        "version": seal.version,
        "regions": [
            {
                "kind": r.name,
                "perm": _perm(r.flags),
                "start": r.start,
                "end": r.end,
                "start_hex": _hex(r.start),
                "end_hex": _hex(r.end),
            }
            for r in seal.regions
        ],
    }


def _perm(flags: int) -> str:
    # The seal's flags are R=4 W=2 X=1, as a program header's.
    return "".join(letter if flags & bit else "-" for letter, bit in (("r", 4), ("w", 2), ("x", 1)))


def _component(component: Mapping[str, object]) -> dict[str, object]:
    counts = _mapping(component.get("bytes"))
    kept = _groups(counts.get("kept"))
    if not kept["total"] and isinstance(component.get("size"), int):
        # Manifests before per-component accounting: the kept size only.
        kept["total"] = int(component["size"])  # type: ignore[call-overload]
    items = []
    removed_data = []
    for item in _records(component.get("inputs")):
        file = _input_name(item)
        for section in _records(item.get("sections")):
            size = _int(section.get("size"))
            if size:
                name = _str(section.get("name"))
                items.append(
                    {
                        "name": _function_name(name),
                        "section": name,
                        "file": file,
                        "group": _group_of(_str(section.get("output"))),
                        "size": size,
                    }
                )
        for section in _records(item.get("removed_sections")):
            size = _int(section.get("size"))
            if size and section.get("group") != "text":
                removed_data.append(
                    {
                        "name": _str(section.get("name")),
                        "file": file,
                        "group": _str(section.get("group")),
                        "size": size,
                    }
                )
    removed_functions = [
        {"name": _str(f.get("name")), "file": _str(f.get("file")), "size": _int(f.get("size"))}
        for f in _records(component.get("removed_functions"))
    ]
    return {
        "label": _str(component.get("label")) or "?",
        "in": _groups(counts.get("in")),
        "kept": kept,
        "removed": _groups(counts.get("removed")),
        "items": sorted(items, key=_largest_first),
        "removed_functions": sorted(removed_functions, key=_largest_first),
        "removed_data": sorted(removed_data, key=_largest_first),
    }


def _largest_first(record: Mapping[str, object]) -> tuple[int, str, str]:
    return (-_int(record["size"]), _str(record["name"]), _str(record["file"]))


def _groups(value: object) -> dict[str, int]:
    counts = _mapping(value)
    return {group: _int(counts.get(group)) for group in (*GROUPS, "total")}


def _function_name(section: str) -> str:
    """``.text.name`` is function ``name`` (one section per function); other sections keep their name."""
    return section.removeprefix(".text.") if section.startswith(".text.") and len(section) > 6 else section


def _group_of(output: str) -> str:
    for group in ("text", "data", "bss"):
        if output == f".{group}" or output.startswith(f".{group}."):
            return group
    return "rodata"


def _layout(manifest: Mapping[str, object]) -> dict[str, object] | None:
    layout = _mapping(manifest.get("layout"))
    if not layout:
        return None
    entropy = _mapping(layout.get("entropy"))
    window = _mapping(layout.get("window"))
    method = _mapping(entropy.get("method"))
    return {
        "secrecy": _secrecy(layout),
        "seed": _str(layout.get("seed")),
        "seed_kind": _str(layout.get("seed_kind")),
        "randomised": layout.get("randomised") is True,
        "base": _address(layout.get("base")),
        "window_start": _address(window.get("start")),
        "window_end": _address(window.get("end")),
        "size_bound": _int(layout.get("size_bound")),
        "bases": _int(layout.get("bases")),
        "shuffled_functions": _int(layout.get("shuffled_functions")),
        "padding_max": _int(layout.get("padding_max")),
        "entropy": [
            {"name": key, "bits": float(value)}
            for key, value in sorted(entropy.items())
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ],
        "method": [{"name": k, "text": _str(v)} for k, v in sorted(method.items())],
    }


def _boot(manifest: Mapping[str, object]) -> list[dict[str, object]]:
    rows = []
    for name, value in sorted(_mapping(manifest.get("boot_randomisation")).items()):
        part = _mapping(value)
        if not part:
            rows.append({"name": name, "randomised": None, "bits": "", "terms": _str(value)})
            continue
        terms = "; ".join(
            f"{k} = {_str(v)}" for k, v in sorted(part.items()) if k not in ("randomised", "bits")
        )
        rows.append(
            {
                "name": name,
                "randomised": part.get("randomised") is True,
                "bits": _str(part.get("bits")),
                "terms": terms,
            }
        )
    return rows


def _input_name(item: Mapping[str, object]) -> str:
    member = item.get("member")
    return f"{_str(item.get('file'))}:{_str(member)}" if member else _str(item.get("file"))


def _address(value: object) -> int | None:
    """A manifest address ("0x..." text) as a number, or None if it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


def _hex(value: int) -> str:
    return f"{value:#x}"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | bool) or (isinstance(value, float) and math.isfinite(value))
