#!/usr/bin/env python3
"""Reads apt's own source configuration, so the tree names no Debian mirror.

    apt_sources.py deb-src [--etc /etc/apt] [--exclude FILE]
        prints a deb822 file with a `Types: deb-src` copy of every enabled
        `deb` entry that has no deb-src entry yet (tools/setup.sh writes it
        to /etc/apt/sources.list.d/ so `apt-get source` works).
    apt_sources.py mirror --suite bookworm [--etc /etc/apt]
        prints the URI of the first enabled `deb` entry that serves the suite
        with the `main` component (tests/xenlab uses it for debootstrap).

Both read sources.list (one-line format) and sources.list.d/*.list and
*.sources (deb822), the files apt itself reads.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

# One-line options (`deb [signed-by=... arch=...] uri suite comp...`) and
# their deb822 field names (sources.list(5)).
_OPTION_FIELDS = {
    "arch": "Architectures",
    "lang": "Languages",
    "target": "Targets",
    "pdiffs": "PDiffs",
    "by-hash": "By-Hash",
    "allow-insecure": "Allow-Insecure",
    "allow-weak": "Allow-Weak",
    "allow-downgrade-to-insecure": "Allow-Downgrade-To-Insecure",
    "trusted": "Trusted",
    "signed-by": "Signed-By",
    "check-valid-until": "Check-Valid-Until",
    "valid-until-min": "Valid-Until-Min",
    "valid-until-max": "Valid-Until-Max",
    "check-date": "Check-Date",
    "date-max-future": "Date-Max-Future",
    "inrelease-path": "InRelease-Path",
}


class SourcesError(Exception):
    """A source file apt would read cannot be understood."""


@dataclass(frozen=True)
class Entry:
    """One source of apt: types, URIs, suites, components and other fields."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    # Remaining deb822 fields (Signed-By, Architectures...), in file order.
    options: tuple[tuple[str, str], ...] = field(default=())
    origin: str = ""


def parse_deb822(text: str, origin: str) -> list[Entry]:
    """Entries of a deb822 .sources file (stanzas separated by blank lines)."""
    entries = []
    stanzas: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanzas[-1]:
                stanzas.append([])
            continue
        stanzas[-1].append(line)
    for lines in stanzas:
        if not lines:
            continue
        fields: dict[str, str] = {}
        order: list[str] = []
        last = ""
        for line in lines:
            if line[0] in " \t":
                if not last:
                    raise SourcesError(f"{origin}: continuation line before any field: {line.strip()!r}")
                fields[last] += "\n" + line
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise SourcesError(f"{origin}: not a 'Field: value' line: {line!r}")
            last = key.strip()
            fields[last] = value.strip()
            order.append(last)
        if _field_words(fields, "Enabled") == ("no",):
            continue
        known = {"types", "uris", "suites", "components", "enabled"}
        entries.append(
            Entry(
                types=_field_words(fields, "Types"),
                uris=_field_words(fields, "URIs"),
                suites=_field_words(fields, "Suites"),
                components=_field_words(fields, "Components"),
                options=tuple((k, fields[k]) for k in order if k.lower() not in known),
                origin=origin,
            )
        )
    return entries


def _field_words(fields: dict[str, str], name: str) -> tuple[str, ...]:
    """The words of a deb822 field (names are case-insensitive), or ()."""
    for key, value in fields.items():
        if key.lower() == name.lower():
            return tuple(value.lower().split()) if name == "Enabled" else tuple(value.split())
    return ()


def parse_one_line(text: str, origin: str) -> list[Entry]:
    """Entries of a one-line-format .list file."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, rest = line.partition(" ")
        rest = rest.strip()
        options: list[tuple[str, str]] = []
        if rest.startswith("["):
            inside, sep, rest = rest[1:].partition("]")
            if not sep:
                raise SourcesError(f"{origin}:{number}: unclosed '[' in {raw.strip()!r}")
            for option in inside.split():
                key, _, value = option.partition("=")
                name = _OPTION_FIELDS.get(key.rstrip("+-"))
                if name:
                    options.append((name, value.replace(",", " ")))
        words = rest.split()
        if kind not in ("deb", "deb-src") or len(words) < 2:
            raise SourcesError(
                f"{origin}:{number}: not a 'deb URI SUITE [COMPONENT...]' line: {raw.strip()!r}"
            )
        entries.append(
            Entry(
                types=(kind,),
                uris=(words[0],),
                suites=(words[1],),
                components=tuple(words[2:]),
                options=tuple(options),
                origin=f"{origin}:{number}",
            )
        )
    return entries


def read_entries(etc: Path, exclude: Path | None = None) -> list[Entry]:
    """Every entry of the files apt reads under `etc` (e.g. /etc/apt)."""
    files = []
    if (etc / "sources.list").is_file():
        files.append(etc / "sources.list")
    parts = etc / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources") and p.is_file())
    entries = []
    for path in files:
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        entries += (
            parse_deb822(text, str(path)) if path.suffix == ".sources" else parse_one_line(text, str(path))
        )
    return entries


def deb_src_file(entries: list[Entry]) -> str:
    """A deb822 file adding deb-src for each deb entry not already covered."""
    covered = {(u, s) for e in entries if "deb-src" in e.types for u in e.uris for s in e.suites}
    stanzas = []
    for e in entries:
        if "deb" not in e.types:
            continue
        pairs = [(u, s) for u in e.uris for s in e.suites if (u, s) not in covered]
        if not pairs:
            continue
        uris = tuple(dict.fromkeys(u for u, _ in pairs))
        suites = tuple(dict.fromkeys(s for _, s in pairs))
        covered.update(pairs)
        lines = [
            f"# from {e.origin}",
            "Types: deb-src",
            "URIs: " + " ".join(uris),
            "Suites: " + " ".join(suites),
        ]
        if e.components:
            lines.append("Components: " + " ".join(e.components))
        lines += [
            f"{k}: {v}" for k, v in e.options if k.lower() not in ("architectures", "languages", "targets")
        ]
        stanzas.append("\n".join(lines) + "\n")
    header = (
        "# Written by rules_unikernel's tools/setup.sh: source entries derived from\n"
        "# this machine's own apt sources, for `apt-get source` (lwIP). Safe to delete.\n"
    )
    return header + "".join("\n" + s for s in stanzas)


def mirror(entries: list[Entry], suite: str) -> str | None:
    """The first deb URI that serves `suite` with the main component."""
    for e in entries:
        if "deb" in e.types and suite in e.suites and "main" in e.components and e.uris:
            return e.uris[0]
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etc", type=Path, default=Path("/etc/apt"), help="apt's configuration directory")
    sub = parser.add_subparsers(dest="command", required=True)
    src = sub.add_parser("deb-src", help="print deb-src entries derived from the deb entries")
    src.add_argument("--exclude", type=Path, help="a sources file to ignore (the one being rewritten)")
    mir = sub.add_parser("mirror", help="print the Debian mirror URI serving a suite")
    mir.add_argument("--suite", required=True)
    args = parser.parse_args(argv)
    try:
        entries = read_entries(args.etc, getattr(args, "exclude", None))
    except (SourcesError, OSError) as e:
        print(f"apt_sources: {e}", file=sys.stderr)
        return 1
    if args.command == "deb-src":
        if not any("deb" in e.types for e in entries):
            print(
                f"apt_sources: no 'deb' entry in {args.etc}/sources.list or sources.list.d/; "
                "configure apt first",
                file=sys.stderr,
            )
            return 1
        sys.stdout.write(deb_src_file(entries))
        return 0
    uri = mirror(entries, args.suite)
    if uri is None:
        print(
            f"apt_sources: no apt source in {args.etc} serves Debian '{args.suite}' main; "
            f"add one (e.g. in sources.list.d/) or set MIRROR=<Debian mirror URI>",
            file=sys.stderr,
        )
        return 1
    print(uri)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
