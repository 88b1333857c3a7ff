"""Reading a zone file in master-file syntax (RFC 1035 section 5) into records.

What is read: $ORIGIN, $TTL, `@`, relative and absolute names, parentheses
across lines, `;` comments, quoted strings, TTLs with units (1h30m), class IN
only, and the record types A, AAAA, CNAME, MX, NS, SOA, TXT, SRV. Everything
else stops with a `ZoneError` naming the file, the line and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
CLASSES_NOT_SERVED = {"CH", "CS", "HS", "ANY", "NONE"}
MAX_TTL = 0x7FFFFFFF
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ZoneError(Exception):
    """A bad zone: the message is one line, `file:line: problem (fix)`."""


@dataclass(frozen=True)
class Name:
    """A domain name as labels (original case), root = ()."""

    labels: tuple[bytes, ...]

    @property
    def key(self) -> tuple[bytes, ...]:
        """The case-insensitive identity of the name."""
        return tuple(label.lower() for label in self.labels)

    def wire(self) -> bytes:
        return b"".join(bytes([len(label)]) + label for label in self.labels) + b"\0"

    def is_under(self, other: Name) -> bool:
        """True if self is other or below it."""
        n = len(other.labels)
        return len(self.labels) >= n and self.key[len(self.labels) - n :] == other.key

    def __str__(self) -> str:
        if not self.labels:
            return "."
        out = []
        for label in self.labels:
            text = ""
            for b in label:
                c = chr(b)
                if c in '.\\();"$@ ' or not 0x21 <= b <= 0x7E:
                    text += "\\." if c == "." else (f"\\{c}" if 0x21 <= b <= 0x7E else f"\\{b:03d}")
                else:
                    text += c
            out.append(text)
        return ".".join(out) + "."


@dataclass(frozen=True)
class Record:
    owner: Name
    ttl: int
    rtype: int
    rdata: tuple  # A/AAAA: (bytes,); names: (Name,); MX: (pref, Name); SOA: (Name, Name, 5 ints); TXT: (bytes, ...); SRV: (prio, weight, port, Name)
    line: int


@dataclass
class Zone:
    path: str
    apex: Name
    records: list[Record] = field(default_factory=list)


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool
    line: int


@dataclass(frozen=True)
class _Entry:
    """One logical line: its tokens, and whether it began with blank space (same owner)."""

    tokens: list[_Token]
    indented: bool
    line: int


def _lex(text: str, path: str) -> list[_Entry]:
    """Splits the file into logical lines, joining what parentheses span."""
    entries: list[_Entry] = []
    tokens: list[_Token] = []
    depth = 0
    start_line = 1
    indented = False
    line = 1
    i = 0
    at_line_start = True
    n = len(text)
    while i < n:
        c = text[i]
        if at_line_start and depth == 0:
            tokens, start_line, indented = [], line, c in " \t"
            at_line_start = False
        if c == "\n":
            if depth == 0:
                if tokens:
                    entries.append(_Entry(tokens, indented, start_line))
                tokens = []
                at_line_start = True
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "(":
            depth += 1
            i += 1
        elif c == ")":
            if depth == 0:
                raise ZoneError(f"{path}:{line}: ')' without '(' (remove it or open the group)")
            depth -= 1
            i += 1
        elif c == '"':
            j = i + 1
            out = ""
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    out += text[j : j + 2]
                    j += 2
                    continue
                if text[j] == "\n":
                    raise ZoneError(
                        f"{path}:{line}: a quoted string runs past the end of the line (close it with '\"')"
                    )
                out += text[j]
                j += 1
            if j >= n:
                raise ZoneError(f"{path}:{line}: a quoted string is not closed (add '\"')")
            tokens.append(_Token(out, True, line))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n;()"':
                j += 2 if text[j] == "\\" and j + 1 < n else 1
            tokens.append(_Token(text[i:j], False, line))
            i = j
    if depth:
        raise ZoneError(f"{path}:{start_line}: '(' is never closed (add ')')")
    if tokens:
        entries.append(_Entry(tokens, indented, start_line))
    return entries


def _unescape(tok: _Token, path: str) -> bytes:
    """Master-file escapes: \\X is X, \\DDD is the byte DDD."""
    out = bytearray()
    s = tok.text
    i = 0
    while i < len(s):
        if s[i] == "\\":
            if re.fullmatch(r"\d{3}", s[i + 1 : i + 4]):
                v = int(s[i + 1 : i + 4])
                if v > 255:
                    raise ZoneError(
                        f"{path}:{tok.line}: escape \\{s[i + 1 : i + 4]} is not a byte (use \\000 to \\255)"
                    )
                out.append(v)
                i += 4
                continue
            if i + 1 >= len(s):
                raise ZoneError(f"{path}:{tok.line}: a lone '\\' ends {tok.text!r} (escape it as \\\\)")
            out += s[i + 1].encode("utf-8")
            i += 2
        else:
            out += s[i].encode("utf-8")
            i += 1
    return bytes(out)


def parse_name(tok: _Token, origin: Name | None, path: str) -> Name:
    """An absolute or relative name ('@' is the origin), within the limits of RFC 1035."""
    text = tok.text
    if text == "@":
        if origin is None:
            raise ZoneError(f"{path}:{tok.line}: '@' before any origin (set $ORIGIN or the rule's origin)")
        return origin
    if text == ".":
        return Name(())
    labels: list[bytes] = []
    cur = ""
    i = 0
    absolute = False
    while i < len(text):
        c = text[i]
        if c == "\\":
            step = 4 if re.fullmatch(r"\d{3}", text[i + 1 : i + 4]) else 2
            cur += text[i : i + step]
            i += step
        elif c == ".":
            if i == len(text) - 1:
                absolute = True
            elif not cur:
                raise ZoneError(f"{path}:{tok.line}: name {text!r} has an empty label (remove the extra '.')")
            labels.append(_unescape(_Token(cur, False, tok.line), path))
            cur = ""
            i += 1
        else:
            cur += c
            i += 1
    if cur:
        labels.append(_unescape(_Token(cur, False, tok.line), path))
    for label in labels:
        if not label:
            raise ZoneError(f"{path}:{tok.line}: name {text!r} has an empty label (remove the extra '.')")
        if len(label) > 63:
            raise ZoneError(
                f"{path}:{tok.line}: label {label[:20].decode(errors='replace')!r}... of {text!r} is {len(label)} bytes "
                "(a label is at most 63: shorten it)"
            )
    if not absolute:
        if origin is None:
            raise ZoneError(
                f"{path}:{tok.line}: relative name {text!r} before any origin (end it with '.' or set $ORIGIN)"
            )
        labels += list(origin.labels)
    name = Name(tuple(labels))
    if len(name.wire()) > 255:
        raise ZoneError(
            f"{path}:{tok.line}: name {text!r} is {len(name.wire())} bytes in wire form (at most 255: shorten it)"
        )
    return name


def parse_ttl(tok: _Token, path: str) -> int:
    if not re.fullmatch(r"(\d+[smhdwSMHDW]?)+", tok.text):
        raise ZoneError(f"{path}:{tok.line}: TTL {tok.text!r} is not a number of seconds or like 1h30m")
    if tok.text.isdigit():
        v = int(tok.text)
    else:
        v = sum(
            int(num) * _TTL_UNITS[unit.lower() or "s"]
            for num, unit in re.findall(r"(\d+)([smhdwSMHDW]?)", tok.text)
        )
    if v > MAX_TTL:
        raise ZoneError(
            f"{path}:{tok.line}: TTL {tok.text} is above 2147483647 (RFC 2181: use a smaller one)"
        )
    return v


def _is_ttl(text: str) -> bool:
    return re.fullmatch(r"(\d+[smhdwSMHDW]?)+", text) is not None


def _uint(tok: _Token, bits: int, what: str, path: str) -> int:
    if not tok.text.isdigit() or int(tok.text) >= 1 << bits:
        raise ZoneError(f"{path}:{tok.line}: {what} {tok.text!r} is not a number from 0 to {(1 << bits) - 1}")
    return int(tok.text)


def _rdata(rtype: int, toks: list[_Token], origin: Name, line: int, path: str) -> tuple:
    tname = TYPE_NAMES[rtype]
    counts = {1: 1, 28: 1, 2: 1, 5: 1, 15: 2, 6: 7, 33: 4}
    if rtype in counts and len(toks) != counts[rtype]:
        raise ZoneError(
            f"{path}:{line}: {tname} takes {counts[rtype]} field(s) after the type, not {len(toks)}"
        )
    if rtype == 1:
        try:
            return (ipaddress.IPv4Address(toks[0].text).packed,)
        except ValueError:
            raise ZoneError(
                f"{path}:{line}: A {toks[0].text!r} is not an IPv4 address (write A.B.C.D)"
            ) from None
    if rtype == 28:
        try:
            return (ipaddress.IPv6Address(toks[0].text).packed,)
        except ValueError:
            raise ZoneError(
                f"{path}:{line}: AAAA {toks[0].text!r} is not an IPv6 address (write e.g. 2001:db8::1)"
            ) from None
    if rtype in (2, 5):
        return (parse_name(toks[0], origin, path),)
    if rtype == 15:
        return (_uint(toks[0], 16, "MX preference", path), parse_name(toks[1], origin, path))
    if rtype == 6:
        times = tuple(
            _uint(t, 32, "SOA serial", path) if k == 0 else parse_ttl(t, path) for k, t in enumerate(toks[2:])
        )
        return (parse_name(toks[0], origin, path), parse_name(toks[1], origin, path), *times)
    if rtype == 16:
        if not toks:
            raise ZoneError(f'{path}:{line}: TXT needs at least one string (write TXT "text")')
        strings = tuple(_unescape(t, path) for t in toks)
        for s in strings:
            if len(s) > 255:
                raise ZoneError(
                    f'{path}:{line}: a TXT string is {len(s)} bytes (at most 255 each: split it into several "..." "...")'
                )
        return strings
    assert rtype == 33
    return (
        _uint(toks[0], 16, "SRV priority", path),
        _uint(toks[1], 16, "SRV weight", path),
        _uint(toks[2], 16, "SRV port", path),
        parse_name(toks[3], origin, path),
    )


def parse(text: str, path: str, origin: str) -> Zone:
    """Reads a zone whose apex is `origin` (absolute, e.g. "example.test.")."""
    if not origin.endswith("."):
        raise ZoneError(f"{path}: origin {origin!r} must be absolute (end it with '.')")
    apex = parse_name(_Token(origin, False, 0), None, path)
    zone = Zone(path, apex)
    cur_origin = apex
    default_ttl: int | None = None
    last_ttl: int | None = None
    last_owner: Name | None = None
    for entry in _lex(text, path):
        toks = entry.tokens
        head = toks[0]
        if not entry.indented and not head.quoted and head.text.startswith("$"):
            directive = head.text.upper()
            if directive == "$ORIGIN" and len(toks) == 2:
                cur_origin = parse_name(toks[1], cur_origin, path)
            elif directive == "$TTL" and len(toks) == 2:
                default_ttl = parse_ttl(toks[1], path)
            elif directive in ("$ORIGIN", "$TTL"):
                raise ZoneError(
                    f"{path}:{entry.line}: {directive} takes one value (write {directive} <value>)"
                )
            else:
                raise ZoneError(
                    f"{path}:{entry.line}: {head.text} is not supported (only $ORIGIN and $TTL; inline the records)"
                )
            continue
        if entry.indented:
            if last_owner is None:
                raise ZoneError(
                    f"{path}:{entry.line}: a record without an owner and none before it (start the line with a name)"
                )
            owner = last_owner
        else:
            owner = parse_name(head, cur_origin, path)
            toks = toks[1:]
        ttl: int | None = None
        rtype: int | None = None
        while toks:
            t = toks[0]
            upper = t.text.upper()
            if not t.quoted and ttl is None and _is_ttl(t.text):
                ttl = parse_ttl(t, path)
            elif not t.quoted and upper == "IN":
                pass
            elif not t.quoted and upper in CLASSES_NOT_SERVED:
                raise ZoneError(
                    f"{path}:{t.line}: class {t.text} is not served (only IN: write IN or nothing)"
                )
            elif not t.quoted and upper in TYPES:
                rtype = TYPES[upper]
                toks = toks[1:]
                break
            else:
                raise ZoneError(
                    f"{path}:{t.line}: {t.text!r} is not a supported record type "
                    f"(use one of {', '.join(TYPES)})"
                )
            toks = toks[1:]
        if rtype is None:
            raise ZoneError(f"{path}:{entry.line}: no record type (write e.g. '{owner} 3600 IN A 192.0.2.1')")
        if ttl is None:
            ttl = default_ttl if default_ttl is not None else last_ttl
        if ttl is None:
            raise ZoneError(
                f"{path}:{entry.line}: the record has no TTL and there is no $TTL (add '$TTL 3600' at the top)"
            )
        last_ttl = ttl
        last_owner = owner
        zone.records.append(
            Record(owner, ttl, rtype, _rdata(rtype, toks, cur_origin, entry.line, path), entry.line)
        )
    validate(zone)
    return zone


def validate(zone: Zone) -> None:
    """The rules a zone must follow to be served; the first broken one is raised."""
    path = zone.path
    soas = [r for r in zone.records if r.rtype == TYPES["SOA"]]
    for r in zone.records:
        if not r.owner.is_under(zone.apex):
            raise ZoneError(
                f"{path}:{r.line}: {r.owner} is outside the zone {zone.apex} (remove it or fix $ORIGIN / the name)"
            )
        if any(label == b"*" for label in r.owner.labels):
            raise ZoneError(
                f"{path}:{r.line}: wildcard {r.owner} is not supported (list the names it should match)"
            )
    if not soas:
        raise ZoneError(f"{path}:1: the zone {zone.apex} has no SOA (add one at '@')")
    for r in soas:
        if r.owner.key != zone.apex.key:
            raise ZoneError(
                f"{path}:{r.line}: SOA at {r.owner}, not at the apex {zone.apex} (move it to '@')"
            )
    if len(soas) > 1:
        raise ZoneError(f"{path}:{soas[1].line}: a second SOA (line {soas[0].line} has one; keep one)")
    if not any(r.rtype == TYPES["NS"] and r.owner.key == zone.apex.key for r in zone.records):
        raise ZoneError(f"{path}:{soas[0].line}: no NS record at the apex {zone.apex} (add '@ NS <server>')")
    for r in zone.records:
        if r.rtype == TYPES["NS"] and r.owner.key != zone.apex.key:
            raise ZoneError(
                f"{path}:{r.line}: NS at {r.owner} would delegate a child zone, which is not supported (serve it as its own zone)"
            )
    by_owner: dict[tuple[bytes, ...], list[Record]] = {}
    for r in zone.records:
        by_owner.setdefault(r.owner.key, []).append(r)
    for recs in by_owner.values():
        cnames = [r for r in recs if r.rtype == TYPES["CNAME"]]
        if cnames:
            other = [r for r in recs if r.rtype != TYPES["CNAME"]]
            if other:
                c = cnames[0]
                raise ZoneError(
                    f"{path}:{other[0].line}: {other[0].owner} has a CNAME (line {c.line}) and other data "
                    "(a CNAME stands alone: move the other records to the CNAME's target)"
                )
            distinct = {r.rdata for r in cnames}
            if len(distinct) > 1:
                raise ZoneError(
                    f"{path}:{cnames[1].line}: a second CNAME at {cnames[0].owner} (line {cnames[0].line}; keep one)"
                )
        ttls: dict[int, Record] = {}
        for r in recs:
            first = ttls.setdefault(r.rtype, r)
            if first.ttl != r.ttl:
                raise ZoneError(
                    f"{path}:{r.line}: TTL {r.ttl} differs from {first.ttl} (line {first.line}) in the same RRset "
                    "(RFC 2181: give them one TTL)"
                )


def read(path: Path, origin: str, display: str | None = None) -> Zone:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ZoneError(
            f"{display or path}: not UTF-8 text ({e.reason} at byte {e.start}); write non-ASCII bytes as \\DDD"
        ) from None
    return parse(text, display or str(path), origin)
