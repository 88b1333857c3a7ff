"""The zone compiler: master-file syntax, validation errors (file:line and the fix), output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from compile import compile_zone, emit_c
from zone import TYPES, Name, Zone, ZoneError, parse

HEAD = """$TTL 3600
@ SOA ns1 hostmaster 1 7200 900 1209600 300
  NS ns1
ns1 A 192.0.2.53
"""


def _zone(body: str, head: str = HEAD) -> Zone:
    return parse(head + body, "z.zone", "example.test.")


def _names(zone: Zone, rtype: str) -> list[str]:
    return [str(r.owner) for r in zone.records if r.rtype == TYPES[rtype]]


def test_syntax_of_a_master_file() -> None:
    zone = _zone(
        """
www   IN 300 A 192.0.2.1     ; class before TTL
      1h IN AAAA 2001:db8::1 ; same owner as the line before
mail.example.test. MX ( 10   ; parentheses across lines
        mx.other.test. )
txt   TXT "a; b" "quote \\" in" unquoted
$ORIGIN sub.example.test.
@     A 192.0.2.2
deep  A 192.0.2.3
"""
    )
    by = {(str(r.owner), r.rtype): r for r in zone.records}
    assert by[("www.example.test.", 1)].ttl == 300
    assert by[("www.example.test.", 28)].ttl == 3600
    assert by[("mail.example.test.", 15)].rdata == (10, Name((b"mx", b"other", b"test")))
    assert by[("txt.example.test.", 16)].rdata == (b"a; b", b'quote " in', b"unquoted")
    assert by[("txt.example.test.", 16)].line == 10
    assert _names(zone, "A") == [
        "ns1.example.test.",
        "www.example.test.",
        "sub.example.test.",
        "deep.sub.example.test.",
    ]


BAD = [
    ("www CNAME web\nwww A 192.0.2.1\n", "z.zone:6: www.example.test. has a CNAME (line 5) and other data"),
    ("@ SOA ns1 h 2 1 1 1 1\n", "z.zone:5: a second SOA (line 2 has one; keep one)"),
    ("www SOA ns1 h 2 1 1 1 1\n", "z.zone:5: SOA at www.example.test., not at the apex"),
    ("a" * 64 + " A 192.0.2.1\n", "z.zone:5: label 'aaaaaaaaaaaaaaaaaaaa'... of"),
    (".".join(["a" * 63] * 4) + " A 192.0.2.1\n", "bytes in wire form (at most 255"),
    ("www.example.org. A 192.0.2.1\n", "z.zone:5: www.example.org. is outside the zone example.test."),
    ("www CH A 192.0.2.1\n", "z.zone:5: class CH is not served (only IN"),
    ("www PTR host\n", "z.zone:5: 'PTR' is not a supported record type"),
    ("$INCLUDE other.zone\n", "z.zone:5: $INCLUDE is not supported"),
    ("www MX ( 10 mail\n", "z.zone:5: '(' is never closed (add ')')"),
    ('www TXT "open\n', "z.zone:5: a quoted string runs past the end of the line"),
    ("www A 192.0.2.300\n", "z.zone:5: A '192.0.2.300' is not an IPv4 address"),
    ("www AAAA 192.0.2.1\n", "z.zone:5: AAAA '192.0.2.1' is not an IPv6 address"),
    ("www 1x A 192.0.2.1\n", "z.zone:5: '1x' is not a supported record type"),
    ("sub NS ns1\n", "z.zone:5: NS at sub.example.test. would delegate a child zone"),
    ("* A 192.0.2.1\n", "z.zone:5: wildcard *.example.test. is not supported"),
    ("www TXT " + "x" * 256 + "\n", "z.zone:5: a TXT string is 256 bytes"),
    ("a CNAME b\nb CNAME a\n", "the CNAME chain from"),
    (
        "www A 192.0.2.1\nwww 60 A 192.0.2.2\n",
        "z.zone:6: TTL 60 differs from 3600 (line 5) in the same RRset",
    ),
    ("www MX 70000 mail\n", "z.zone:5: MX preference '70000' is not a number from 0 to 65535"),
    ("www A\n", "z.zone:5: A takes 1 field(s) after the type, not 0"),
    ("www\n", "z.zone:5: no record type"),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_a_bad_zone_is_one_line_naming_file_and_line(body: str, message: str) -> None:
    with pytest.raises(ZoneError) as e:
        compile_zone(_zone(body))
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_zone_wide_rules() -> None:
    with pytest.raises(ZoneError, match=r"z.zone:1: the zone example.test. has no SOA"):
        parse("$TTL 1\n@ NS ns1\n", "z.zone", "example.test.")
    with pytest.raises(ZoneError, match=r"z.zone:2: no NS record at the apex"):
        parse("$TTL 1\n@ SOA ns1 h 1 1 1 1 1\n", "z.zone", "example.test.")
    with pytest.raises(ZoneError, match=r"z.zone:1: the record has no TTL and there is no \$TTL"):
        parse("@ SOA ns1 h 1 1 1 1 1\n", "z.zone", "example.test.")
    with pytest.raises(ZoneError, match=r"origin 'example.test' must be absolute"):
        parse(HEAD, "z.zone", "example.test")


def test_duplicates_are_one_record() -> None:
    c = compile_zone(_zone("www A 192.0.2.1\nwww A 192.0.2.1\n"))
    (www,) = [(specific, default) for name, specific, default in c.nodes if str(name) == "www.example.test."]
    (a,) = [b for qt, b in www[0] if qt == 1]
    assert a.ancount == 1


def test_wire_form_of_an_answer() -> None:
    c = compile_zone(_zone("www A 192.0.2.1\n"))
    (specific,) = [s for name, s, _ in c.nodes if str(name) == "www.example.test."]
    (a,) = [b for qt, b in specific if qt == 1]
    # The owner is the question name (offset 12), then IN A, TTL, the address.
    assert bytes(a.data) == bytes.fromhex("c00c 0001 0001 00000e10 0004 c0000201")
    assert (a.ancount, a.nscount, a.arcount) == (1, 0, 0)
    # NXDOMAIN: the SOA owner and its names point at the apex inside the
    # question, placeholders patched at run time.
    nx = c.nxdomain
    assert nx.rcode == 3 and nx.nscount == 1
    assert nx.patches[0] == 0 and bytes(nx.data[:2]) == b"\xc0\x00"
    assert len(nx.patches) == 3  # owner, ns1.<apex>, hostmaster.<apex>


ZONE = Path(__file__).parent.parent / "test.zone"


def test_output_is_reproducible(tmp_path: Path) -> None:
    zonec = Path(__file__).parent / "zonec.py"
    outs = []
    for i in range(2):
        out = tmp_path / f"zone{i}.c"
        subprocess.run(
            [
                sys.executable,
                str(zonec),
                str(ZONE),
                "--origin",
                "example.test.",
                "--out",
                str(out),
                "--name",
                "z",
            ],
            check=True,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] == emit_c(compile_zone(parse(ZONE.read_text(), "z", "example.test.")), "z").encode()


def test_cli_error_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zone"
    bad.write_text(HEAD + "www CNAME web\nwww A 192.0.2.1\n")
    out = tmp_path / "zone.c"
    zonec = Path(__file__).parent / "zonec.py"
    r = subprocess.run(
        [
            sys.executable,
            str(zonec),
            str(bad),
            "--origin",
            "example.test.",
            "--out",
            str(out),
            "--name",
            "app/bad.zone",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1
    assert r.stderr.startswith("zonec: app/bad.zone:6: www.example.test. has a CNAME (line 5)")
    assert r.stderr.count("\n") == 1
    assert not out.exists()
