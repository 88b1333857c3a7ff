"""Files as a read-only C table: the tool behind `unikernel_content`.

Each file is given with the path it is served at ("/index.html") and the
file it is read from. The table (<content/content.h>) holds, sorted by the
path's UTF-8 bytes, each file's path, bytes, size, content type (by
extension) and ETag (the first 16 hex digits of the SHA-256 of the bytes,
quoted). The C source depends on nothing but those: no timestamps, no
input order, no build paths, so the same files give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Content types by extension (lower-cased); text types say their charset.
_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xml": "application/xml",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "ico": "image/vnd.microsoft.icon",
    "pdf": "application/pdf",
    "wasm": "application/wasm",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "map": "application/json",
}
DEFAULT_TYPE = "application/octet-stream"

# Bytes a served path may not hold: they would need escaping in a URL or
# mean something else there (query, fragment, escapes), or are invisible.
_UNSAFE = set('\\"?#%<>^`{|}') | {chr(c) for c in range(0x20)} | {"\x7f"}

ETAG_HEX_DIGITS = 16


class ContentError(Exception):
    """Bad input: the message names the file, the problem and the fix."""


@dataclass(frozen=True)
class ContentFile:
    path: str  # the served path, "/" + its path under strip_prefix
    source: Path
    data: bytes

    @property
    def content_type(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return _TYPES.get(ext, DEFAULT_TYPE)

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.data).hexdigest()[:ETAG_HEX_DIGITS]}"'


def check_path(path: str, source: Path) -> None:
    """Raises ContentError unless `path` is a safe served path."""
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise ContentError(
            f"{source}: its name is not valid UTF-8; rename the file with a UTF-8 name"
        ) from None
    if not path.startswith("/") or path == "/" or path.endswith("/"):
        raise ContentError(f"{source}: served path {path!r} must be '/' followed by a file name")
    bad = sorted({c for c in path if c in _UNSAFE})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise ContentError(f"{source}: served path {path!r} holds {shown}; rename the file without them")
    segments = path[1:].split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise ContentError(
            f"{source}: served path {path!r} has an empty, '.' or '..' segment; rename the file"
        )
    if len(encoded) > 512:
        raise ContentError(f"{source}: served path is {len(encoded)} bytes long; keep it within 512 bytes")


def collect(entries: Sequence[tuple[str, Path]]) -> list[ContentFile]:
    """The files, read and checked, sorted by their paths' UTF-8 bytes."""
    if not entries:
        raise ContentError("no files given; list at least one file in srcs")
    seen: dict[str, tuple[str, Path]] = {}
    files = []
    for path, source in entries:
        check_path(path, source)
        # Two names that differ only in case would be one file on a
        # case-insensitive checkout, and are confusing to serve.
        key = path.casefold()
        if key in seen:
            first_path, first = seen[key]
            if first.as_posix() == source.as_posix():
                why = " (the same file listed twice)"
            elif first_path != path:
                why = f" and {path!r} (names that differ only in case)"
            else:
                why = ""
            raise ContentError(
                f"{first} and {source} are both served at {first_path!r}{why}; "
                "rename one or change strip_prefix"
            )
        seen[key] = (path, source)
        try:
            data = source.read_bytes()
        except OSError as e:
            raise ContentError(f"{source}: cannot be read ({e.strerror})") from None
        files.append(ContentFile(path, source, data))
    return sorted(files, key=lambda f: f.path.encode("utf-8"))


def _c_string(s: str) -> str:
    """A C string literal of s's UTF-8 bytes, escaped so any compiler reads them alike."""
    out = []
    for b in s.encode("utf-8"):
        ch = chr(b)
        if 0x20 <= b < 0x7F and ch not in '\\"?':
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _c_bytes(data: bytes) -> str:
    lines = []
    for i in range(0, len(data), 16):
        lines.append("    " + ",".join(f"0x{b:02x}" for b in data[i : i + 16]) + ",")
    return "\n".join(lines)


def render_c(files: Sequence[ContentFile]) -> str:
    """The C source of the table: a pure function of the files' paths and bytes."""
    parts = [
        "/* Generated by unikernel_content (rules_unikernel/tool/unikernel/content.py). */",
        "#include <content/content.h>",
        "",
    ]
    for i, f in enumerate(files):
        # A zero-length array is not C11: an empty file gets one unused byte.
        body = _c_bytes(f.data) if f.data else "    0x00,"
        parts.append(f"/* {i}: {f.path.encode('utf-8').hex()} */")
        parts.append(f"static const unsigned char data_{i}[] = {{\n{body}\n}};")
    parts.append("")
    parts.append("static const struct content_file files[] = {")
    for i, f in enumerate(files):
        parts.append(
            f"    {{{_c_string(f.path)}, {len(f.path.encode('utf-8'))}u, data_{i}, {len(f.data)}u, "
            f"{_c_string(f.content_type)}, {_c_string(f.etag)}}},"
        )
    parts.append("};")
    parts.append("")
    parts.append(f"const struct content_table content_table = {{files, {len(files)}u}};")
    parts.append("")
    return "\n".join(parts)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="unikernel-content", fromfile_prefix_chars="@")
    p.add_argument("--output", type=Path, required=True, help="the C file to write")
    p.add_argument(
        "--file",
        nargs=2,
        action="append",
        default=[],
        metavar=("PATH", "SOURCE"),
        help="serve SOURCE at PATH (repeat)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        files = collect([(path, Path(source)) for path, source in args.file])
    except ContentError as e:
        print(f"unikernel_content: {e}", file=sys.stderr)
        return 1
    out: Path = args.output
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_c(files), encoding="utf-8")
    tmp.replace(out)
    return 0
