"""Names from the inputs never change what the generated linker script says.

A section or archive member name is data; written into the script it must
stay one token (bare, or quoted as lld's lexer reads quotes), or the link
is refused with one line naming the file and the name. A model of lld's
lexer (bare words, quoted tokens, comments, punctuation) checks that the
script with a hostile name has the token structure of the script with a
harmless one.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unikernel.link.archive import split_archive
from unikernel.link.classify import classify
from unikernel.link.driver import main
from unikernel.link.errors import LinkError
from unikernel.link.model import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHT_PROGBITS,
    InputFile,
    InputSpec,
    Origin,
    Section,
)
from unikernel.link.plan import build_plan
from unikernel.link.script import render

from .test_archive import bsd_archive, gnu_archive

A, X = SHF_ALLOC, SHF_EXECINSTR
INJECTION = ".debug_x) } INCLUDE /etc/hostname /DISCARD/ : { *(.text"
# Characters that mean something to lld's lexer or to a shell, and text
# that is not ASCII: what a hostile or merely unusual name is made of.
METACHARACTERS = list("(){};:,*?[]/\\\"'#!=+-<>&|~^ \t\n\r\0")
NON_ASCII = ["é", "²", "€", "\u2028", "\u00a0", "🙂", "\ufffd"]
NAME_ALPHABET = st.sampled_from([*METACHARACTERS, *NON_ASCII, *"abz09_.$"])

_BARE = re.compile(r"[A-Za-z0-9_.$/\\~=+\[\]*?\-!^:]+")


def lld_tokens(script: str) -> list[str]:
    """Tokens as lld's ELF ScriptLexer splits them (without expression splitting)."""
    tokens = []
    at = 0
    while at < len(script):
        if script.startswith("/*", at):
            end = script.find("*/", at + 2)
            assert end != -1, "unclosed comment"
            at = end + 2
        elif script[at] == "#":
            end = script.find("\n", at)
            at = len(script) if end == -1 else end + 1
        elif script[at].isspace():
            at += 1
        elif script[at] == '"':
            end = script.find('"', at + 1)
            assert end != -1, "unclosed quote"
            tokens.append(script[at : end + 1])
            at = end + 1
        elif script.startswith(("<<", "<=", ">>", ">="), at):
            tokens.append(script[at : at + 2])
            at += 2
        else:
            word = _BARE.match(script, at)
            size = word.end() - at if word else 1
            tokens.append(script[at : at + size])
            at += size
    return tokens


def shape(script: str, name: str) -> list[str]:
    """The script's tokens with ``name`` (bare or quoted, alone or as ``file:name``) abstracted."""
    out = []
    for token in lld_tokens(script):
        bare = token[1:-1] if len(token) > 1 and token[0] == token[-1] == '"' else token
        if bare == name:
            out.append("<name>")
        elif bare.endswith(f":{name}"):
            out.append(f"{bare[: -len(name)]}<name>")
        else:
            out.append(token)
    return out


def script_with_section(name: str, flags: int) -> str:
    sections = (Section(0, "", 0, 0, 0, 0), Section(1, name, SHT_PROGBITS, flags, 8, 8))
    file = InputFile(Origin(InputSpec("//pkg:lib", "obj.o", 0)), sections, ())
    placed = tuple(classify(file, section) for section in file.sections)
    return render(build_plan(placed, None, "_start_pvh", "demo"))


def script_with_member(member: str) -> str:
    sections = (Section(0, "", 0, 0, 0, 0), Section(1, ".text.f", SHT_PROGBITS, A | X, 8, 8))
    file = InputFile(Origin(InputSpec("//pkg:lib", "lib.a", 0), member), sections, ())
    placed = tuple(classify(file, section) for section in file.sections)
    return render(build_plan(placed, None, "_start_pvh", "demo"))


def assert_refused_in_one_line(error: LinkError, *parts: str) -> None:
    assert "\n" not in error.message
    for part in parts:
        assert part in error.message, error.message


def test_section_name_cannot_inject_directives():
    # The weakness: a debug section's name was written as is after the loaded groups.
    with pytest.raises(LinkError) as caught:
        script_with_section(INJECTION, 0)

    assert_refused_in_one_line(
        caught.value, f"section {INJECTION!r} in //pkg:lib (obj.o): the name cannot be used", "rename"
    )


@given(st.sampled_from([(".debug_", 0), (".text.", A | X), ("", A)]), st.text(NAME_ALPHABET, max_size=12))
def test_section_names_stay_one_token_or_are_refused(kind, tail):
    prefix, flags = kind
    # "Zq" keeps the name apart from the script's own tokens ("0", "text").
    name = prefix + "Zq" + tail
    try:
        hostile = script_with_section(name, flags)
    except LinkError as error:
        assert_refused_in_one_line(error, "//pkg:lib (obj.o)", repr(name))
        return
    # A harmless name that the classifier treats the same way (a C identifier is a linker set).
    plain = prefix + ("Zq" if re.fullmatch(r"[A-Za-z_]\w*", name, re.ASCII) else "Zq.")
    harmless = script_with_section(plain, flags)

    assert shape(hostile, name) == shape(harmless, plain)


@given(st.text(NAME_ALPHABET, max_size=12))
def test_member_names_stay_one_token_or_are_refused(tail):
    member = "Zq" + tail
    try:
        hostile = script_with_member(member)
    except LinkError as error:
        assert_refused_in_one_line(error, repr(member)[1:-1])
        return
    harmless = script_with_member("plain.o")

    assert shape(hostile, member) == shape(harmless, "plain.o")


@given(st.text(NAME_ALPHABET, max_size=12).filter(lambda n: "/" not in n))
def test_archive_members_are_split_or_refused_in_one_line(tail):
    name = "Zq" + tail
    for archive in (gnu_archive([(name, b"x")]), bsd_archive([(name, b"x")])):
        try:
            members = split_archive(archive, "//pkg:lib (lib.a)")
        except LinkError as error:
            assert_refused_in_one_line(error, "//pkg:lib (lib.a): ")
            continue
        # What the splitter hands on, the script can hold.
        assert shape(script_with_member(members[0].name), members[0].name) == shape(
            script_with_member("plain.o"), "plain.o"
        )


@pytest.mark.parametrize(
    ("header_name", "message"),
    [
        # "²" is a digit to str.isdigit but not to int(): these crashed.
        ("/²", "corrupt archive: member name '/²' at offset 8 is neither a name nor a reference"),
        ("#1/²", "corrupt archive: bad BSD member name '#1/²' at offset 8"),
        (
            'a"b.o/',
            "archive member 'a\"b.o' at offset 8 cannot be named in a linker script: it contains '\"'",
        ),
    ],
)
def test_hostile_member_headers_are_refused(header_name, message):
    fields = header_name.encode().ljust(16) + b"0".ljust(12) + b"0".ljust(6) * 2 + b"644".ljust(8)
    data = b"!<arch>\n" + fields + b"2".ljust(10) + b"`\n" + b"xx"

    with pytest.raises(LinkError) as caught:
        split_archive(data, "//pkg:lib (lib.a)")
    assert_refused_in_one_line(caught.value, f"//pkg:lib (lib.a): {message}")


@pytest.mark.parametrize(
    ("member", "shown"),
    [('a"b.o', "'a\"b.o'"), ("line\nbreak.o", "'line\\nbreak.o'"), ("nul\0.o", "'nul\\x00.o'")],
)
def test_unquotable_bsd_member_names_are_refused(member, shown):
    with pytest.raises(LinkError) as caught:
        split_archive(bsd_archive([(member, b"x")]), "//pkg:lib (lib.a)")
    assert_refused_in_one_line(caught.value, "//pkg:lib (lib.a): archive member ", shown, "rename the member")


def test_member_name_that_is_not_utf8_is_refused():
    data = b"!<arch>\n" + b"\xb2.o/".ljust(16) + b"0".ljust(32) + b"2".ljust(10) + b"`\n" + b"xx"

    with pytest.raises(LinkError) as caught:
        split_archive(data, "//pkg:lib (lib.a)")
    assert_refused_in_one_line(
        caught.value, "//pkg:lib (lib.a): the name of the member at offset 8 is not UTF-8"
    )


def test_entry_option_is_a_symbol_name(capsys):
    status = main(["--ld", "ld.lld", "--input", "//a:a=a.o", "--output", "k.elf", "--entry", "x) INCLUDE y"])

    assert status == 1
    assert capsys.readouterr().err == "unikernel-link: error: --entry 'x) INCLUDE y' is not a symbol name\n"


# End to end: real objects and archives, the real lld.

HOSTILE_DEBUG_S = """
    .section .text.boot,"ax"
    .globl _start_pvh
_start_pvh: hlt
    .section ".debug_x) } INCLUDE /etc/hostname /*", ""
    .byte 1
"""
ENTRY_CALLS_F_S = """
    .section .text.boot,"ax"
    .globl _start_pvh
_start_pvh: call f
    hlt
"""


def test_link_refuses_injected_debug_section(build, tmp_path, capsys):
    obj = build.asm("evil.o", HOSTILE_DEBUG_S)
    out = tmp_path / "out"
    out.mkdir()

    status = main(["--ld", "ld.lld", "--input", f"//app:evil={obj}", "--output", str(out / "k.elf")])

    assert status == 1
    assert capsys.readouterr().err == (
        "unikernel-link: error: section '.debug_x) } INCLUDE /etc/hostname /*' in //app:evil (evil.o): "
        "the name cannot be used in a linker script (it contains ')'; only letters, digits and _.$- "
        "can be written); rename the section\n"
    )
    assert list(out.iterdir()) == []


def test_link_quotes_unusual_member_names(build, zig, tmp_path):
    # Spaces, parentheses, a comment opener and non-ASCII: quoted, and lld
    # matches the quoted name literally, so the member is placed.
    entry = build.asm("entry.o", ENTRY_CALLS_F_S)
    member = build.c("f.o", "int f(void) { return 7; }")
    name = "mé (1) /*x*/ [f].o"
    archive = tmp_path / "libodd.a"
    archive.write_bytes(bsd_archive([(name, member.read_bytes())]))
    out = tmp_path / "k.elf"

    status = main(
        [
            "--ld",
            str(zig.ld),
            "--input",
            f"//boot:e={entry}",
            "--input",
            f"//lib:odd={archive}",
            "--output",
            str(out),
        ]
    )

    assert status == 0
    assert out.stat().st_size > 0


def test_link_refuses_member_name_with_a_quote(build, zig, tmp_path, capsys):
    entry = build.asm("entry.o", ENTRY_CALLS_F_S)
    member = build.c("f.o", "int f(void) { return 7; }")
    archive = tmp_path / "libq.a"
    archive.write_bytes(bsd_archive([('f".o', member.read_bytes())]))
    out = tmp_path / "out"
    out.mkdir()

    status = main(
        [
            "--ld",
            str(zig.ld),
            "--input",
            f"//boot:e={entry}",
            "--input",
            f"//lib:q={archive}",
            "--output",
            str(out / "k.elf"),
        ]
    )

    assert status == 1
    assert capsys.readouterr().err == (
        "unikernel-link: error: //lib:q (libq.a): archive member 'f\".o' at offset 76 cannot be named in a "
        "linker script: it contains '\"', which a linker script cannot quote; rename the member\n"
    )
    assert list(out.iterdir()) == []
