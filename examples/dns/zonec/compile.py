"""Precomputing every response of a zone in wire form, emitted as C tables (<dns/zone.h>).

For each name of the zone (empty non-terminals included) and each question
type whose answer differs from the name's default, the body of the response
(answer, authority and additional sections) is built once here, with name
compression against the question name, which the server always places at
offset 12. README.md gives the design; the output is a pure function of the
zone, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zone import TYPES, Name, Record, Zone, ZoneError

T_A, T_NS, T_CNAME, T_SOA, T_MX, T_TXT, T_AAAA, T_SRV = (
    TYPES[t] for t in ("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "SRV")
)
T_ANY = 255
CLASS_IN = 1
HEADER = 12
MAX_CHAIN = 8  # CNAMEs followed inside the zone
# The largest body that still fits a 65535-byte TCP message with the
# header, the longest question (255 + 4) and an OPT record (11).
MAX_BODY = 65535 - HEADER - 259 - 11
NX_PLACEHOLDER = -1  # "the apex inside the question", known only at run time


@dataclass(frozen=True)
class RRset:
    owner: Name
    rtype: int
    ttl: int
    rdatas: tuple[tuple, ...]
    line: int


@dataclass
class Body:
    data: bytearray = field(default_factory=bytearray)
    ancount: int = 0
    nscount: int = 0
    arcount: int = 0
    len_noadd: int = 0
    rcode: int = 0
    patches: list[int] = field(default_factory=list)


class _Writer:
    """Writes RRs after a question name, compressing names against what is already in the message."""

    def __init__(self, qname: Name | None, apex: Name) -> None:
        self.body = Body()
        self.offsets: dict[tuple[bytes, ...], int] = {}
        self.base = 0
        self.nx = qname is None
        if qname is None:
            # NXDOMAIN: only the apex inside the question is a known target.
            self.offsets[apex.key] = NX_PLACEHOLDER
        else:
            pos = HEADER
            for i in range(len(qname.labels)):
                self.offsets.setdefault(qname.key[i:], pos)
                pos += 1 + len(qname.labels[i])
            self.base = pos + 1 + 4  # the root label, qtype, qclass

    def name(self, name: Name, compress: bool) -> None:
        key = name.key
        out = self.body.data
        for i in range(len(key) + 1):
            if i == len(key):
                out.append(0)
                return
            target = self.offsets.get(key[i:])
            if compress and target is not None:
                if target == NX_PLACEHOLDER:
                    self.body.patches.append(len(out))
                    target = 0
                out += (0xC000 | target).to_bytes(2, "big")
                return
            where = self.base + len(out)
            if not self.nx and where < 0x4000:
                self.offsets.setdefault(key[i:], where)
            label = name.labels[i]
            out.append(len(label))
            out += label

    def rr(self, owner: Name, rtype: int, ttl: int, rdata: tuple) -> None:
        out = self.body.data
        self.name(owner, True)
        out += rtype.to_bytes(2, "big") + CLASS_IN.to_bytes(2, "big") + ttl.to_bytes(4, "big")
        at = len(out)
        out += b"\0\0"
        if rtype in (T_A, T_AAAA):
            out += rdata[0]
        elif rtype in (T_NS, T_CNAME):
            self.name(rdata[0], True)
        elif rtype == T_MX:
            out += rdata[0].to_bytes(2, "big")
            self.name(rdata[1], True)
        elif rtype == T_SOA:
            self.name(rdata[0], True)
            self.name(rdata[1], True)
            for v in rdata[2:]:
                out += v.to_bytes(4, "big")
        elif rtype == T_TXT:
            for s in rdata:
                out += bytes([len(s)]) + s
        elif rtype == T_SRV:
            for v in rdata[:3]:
                out += v.to_bytes(2, "big")
            self.name(rdata[3], False)  # RFC 2782: the target is never compressed
        else:
            raise AssertionError(rtype)
        out[at : at + 2] = (len(out) - at - 2).to_bytes(2, "big")

    def rrset(self, s: RRset) -> int:
        for rdata in s.rdatas:
            self.rr(s.owner, s.rtype, s.ttl, rdata)
        return len(s.rdatas)


@dataclass
class Compiled:
    zone: Zone
    nodes: list[tuple[Name, list[tuple[int, Body]], Body]]  # name, (qtype, body) by qtype, default body
    nxdomain: Body


class _Compiler:
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.sets: dict[tuple[bytes, ...], dict[int, RRset]] = {}
        self.names: dict[tuple[bytes, ...], Name] = {}
        for r in zone.records:
            self._add(r)
        # Empty non-terminals: names between the apex and a name with data.
        apex_len = len(zone.apex.labels)
        for key, name in list(self.names.items()):
            for i in range(1, len(key) - apex_len + 1):
                self.names.setdefault(key[i:], Name(name.labels[i:]))
                self.sets.setdefault(key[i:], {})
        (soa,) = [s for s in self.sets[zone.apex.key].values() if s.rtype == T_SOA]
        self.soa = soa
        self.soa_line = soa.line

    def _add(self, r: Record) -> None:
        key = r.owner.key
        self.names.setdefault(key, r.owner)
        sets = self.sets.setdefault(key, {})
        old = sets.get(r.rtype)
        if old is None:
            sets[r.rtype] = RRset(r.owner, r.rtype, r.ttl, (r.rdata,), r.line)
        elif r.rdata not in old.rdatas:  # RFC 2181 5: duplicates are one record
            sets[r.rtype] = RRset(old.owner, old.rtype, old.ttl, (*old.rdatas, r.rdata), old.line)

    def _in_zone(self, name: Name) -> bool:
        return name.is_under(self.zone.apex)

    def _negative_soa(self) -> RRset:
        # RFC 2308 3: the SOA's TTL in a negative answer is min(TTL, MINIMUM).
        s = self.soa
        return RRset(s.owner, T_SOA, min(s.ttl, s.rdatas[0][6]), s.rdatas, s.line)

    def _additional(self, answer: list[RRset]) -> list[RRset]:
        """A and AAAA of in-zone MX, NS and SRV targets (RFC 1035 3.3, RFC 2782)."""
        out: list[RRset] = []
        seen: set[tuple[bytes, ...]] = set()
        for s in answer:
            for rdata in s.rdatas:
                target = {T_NS: lambda d: d[0], T_MX: lambda d: d[1], T_SRV: lambda d: d[3]}.get(s.rtype)
                if target is None:
                    continue
                name = target(rdata)
                if name.key in seen or name.key not in self.sets:
                    continue
                seen.add(name.key)
                for t in (T_A, T_AAAA):
                    if t in self.sets[name.key]:
                        out.append(self.sets[name.key][t])
        return out

    def _resolve(self, key: tuple[bytes, ...], qtype: int) -> tuple[list[RRset], int, bool]:
        """Answer RRsets for (name, qtype), following CNAMEs: (answers, rcode, nodata)."""
        chain: list[RRset] = []
        seen = {key}
        while True:
            sets = self.sets[key]
            if qtype == T_ANY:
                if sets:
                    return chain + [sets[t] for t in sorted(sets)], 0, False
                return chain, 0, True
            if qtype in sets:
                return [*chain, sets[qtype]], 0, False
            if T_CNAME not in sets:
                return chain, 0, True
            cname = sets[T_CNAME]
            chain.append(cname)
            target: Name = cname.rdatas[0][0]
            if not self._in_zone(target):
                return chain, 0, False
            if target.key not in self.sets:
                return chain, 3, True
            if target.key in seen or len(chain) >= MAX_CHAIN:
                raise ZoneError(
                    f"{self.zone.path}:{cname.line}: the CNAME chain from {cname.owner} loops or is longer than "
                    f"{MAX_CHAIN} (point it at a name with data)"
                )
            seen.add(target.key)
            key = target.key

    def body(self, qname: Name, qtype: int) -> Body:
        answers, rcode, negative = self._resolve(qname.key, qtype)
        w = _Writer(qname, self.zone.apex)
        for s in answers:
            w.body.ancount += w.rrset(s)
        if negative:
            w.body.nscount += w.rrset(self._negative_soa())
        w.body.len_noadd = len(w.body.data)
        for s in self._additional(answers):
            w.body.arcount += w.rrset(s)
        w.body.rcode = rcode
        if len(w.body.data) > MAX_BODY:
            line = answers[0].line if answers else self.soa_line
            raise ZoneError(
                f"{self.zone.path}:{line}: the answer for {qname} type {qtype} is {len(w.body.data)} bytes "
                f"(more than a DNS message holds: split the RRset)"
            )
        return w.body

    def nxdomain(self) -> Body:
        w = _Writer(None, self.zone.apex)
        w.body.nscount = w.rrset(self._negative_soa())
        w.body.len_noadd = len(w.body.data)
        w.body.rcode = 3
        return w.body

    def run(self) -> Compiled:
        nodes = []
        for key in sorted(self.sets, key=lambda k: Name(k).wire()):
            name = self.names[key]
            sets = self.sets[key]
            # Question types whose answer differs from the default (type 0:
            # a type no name has): those present here or at the chain's end.
            qtypes = set(sets) | {T_ANY}
            if T_CNAME in sets:
                for other in self.sets.values():
                    qtypes |= set(other)
            default = self.body(name, 0)
            specific = []
            for qt in sorted(qtypes):
                b = self.body(name, qt)
                if (bytes(b.data), b.ancount, b.nscount, b.arcount, b.rcode) != (
                    bytes(default.data),
                    default.ancount,
                    default.nscount,
                    default.arcount,
                    default.rcode,
                ):
                    specific.append((qt, b))
            nodes.append((name, specific, default))
        return Compiled(self.zone, nodes, self.nxdomain())


def compile_zone(zone: Zone) -> Compiled:
    return _Compiler(zone).run()


def _c_bytes(data: bytes, indent: str = "    ") -> str:
    lines = []
    for i in range(0, len(data), 12):
        lines.append(indent + ", ".join(f"0x{b:02x}" for b in data[i : i + 12]) + ",")
    return "\n".join(lines) if lines else indent + "0,"


def _answer(off: int, qtype: int, b: Body) -> str:
    return (
        f"{{.off = {off}, .qtype = {qtype}, .len = {len(b.data)}, .len_noadd = {b.len_noadd}, "
        f".ancount = {b.ancount}, .nscount = {b.nscount}, .arcount = {b.arcount}, .rcode = {b.rcode}}}"
    )


def emit_c(c: Compiled, source: str) -> str:
    """The C file: names, bodies, answers, nodes and `dns_zone` (<dns/zone.h>)."""
    names = bytearray()
    data = bytearray()
    bodies: dict[bytes, int] = {}  # identical bodies are stored once

    def place(b: Body) -> int:
        blob = bytes(b.data)
        if blob not in bodies:
            bodies[blob] = len(data)
            data.extend(blob)
        return bodies[blob]

    answers: list[str] = []
    nodes: list[str] = []
    for name, specific, default in c.nodes:
        wire = name.wire().lower()
        name_off = len(names)
        names.extend(wire)
        other = len(answers)
        answers.append(_answer(place(default), 0, default))
        first = len(answers)
        for qt, b in specific:
            answers.append(_answer(place(b), qt, b))
        nodes.append(
            f"{{.name_off = {name_off}, .first = {first}, .other = {other}, .count = {len(specific)}, .name_len = {len(wire)}}}"
        )
        if first + len(specific) > 0xFFFFFFFF or len(data) > 0xFFFFFFFF:
            raise ZoneError(f"{c.zone.path}: the zone is too large for one image's tables")
    nx = c.nxdomain
    if len(nx.patches) > 4:
        raise AssertionError("an SOA has at most 3 names")
    nx_off = place(nx)
    apex = c.zone.apex.wire().lower()
    patches = ", ".join(str(p) for p in nx.patches) or "0"
    return f"""/* Generated by examples/dns/zonec from {source} (zone {c.zone.apex}): do not edit. */
#include <dns/zone.h>

static const uint8_t names[] = {{
{_c_bytes(bytes(names))}
}};

static const uint8_t data[] = {{
{_c_bytes(bytes(data))}
}};

static const uint8_t apex[] = {{
{_c_bytes(apex)}
}};

static const struct dns_answer answers[] = {{
{chr(10).join("    " + a + "," for a in answers)}
}};

static const struct dns_node nodes[] = {{
{chr(10).join("    " + n + "," for n in nodes)}
}};

const struct dns_zone dns_zone = {{
    .apex = apex,
    .apex_len = {len(apex)},
    .node_count = {len(nodes)},
    .nodes = nodes,
    .answers = answers,
    .names = names,
    .data = data,
    .nxdomain = {_answer(nx_off, 0, nx)},
    .nx_patch_count = {len(nx.patches)},
    .nx_patch = {{{patches}}},
}};
"""
