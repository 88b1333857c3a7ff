"""Splitting ar archives: GNU and BSD dialects, long names, damage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unikernel.link.archive import MAGIC, split_archive
from unikernel.link.errors import LinkError


def _header(name: str, size: int) -> bytes:
    return name.encode().ljust(16) + f"{0:<12}{0:<6}{0:<6}{644:<8}{size:<10}".encode() + b"`\n"


def _entry(name: str, data: bytes) -> bytes:
    return _header(name, len(data)) + data + (b"\n" if len(data) % 2 else b"")


def gnu_archive(members: list[tuple[str, bytes]], index: bool = True) -> bytes:
    """A GNU archive with a symbol index and a long-name table, as GNU ar writes it."""
    table = b""
    entries = []
    for name, data in members:
        if len(name.encode()) < 16:
            entries.append(_entry(f"{name}/", data))
        else:
            entries.append(_entry(f"/{len(table)}", data))
            table += name.encode() + b"/\n"
    prefix = _entry("/", b"\0\0\0\0") if index else b""
    names = _entry("//", table) if table else b""
    return MAGIC + prefix + names + b"".join(entries)


def bsd_archive(members: list[tuple[str, bytes]]) -> bytes:
    """A BSD archive: long names stored in front of the data, ``__.SYMDEF`` index."""
    out = [MAGIC, _entry("__.SYMDEF", b"\0" * 8)]
    for name, data in members:
        if len(name.encode()) <= 16 and " " not in name:
            out.append(_entry(name, data))
        else:
            encoded = name.encode()
            out.append(_entry(f"#1/{len(encoded)}", encoded + data))
    return b"".join(out)


def test_splits_zig_ar_archive_with_long_names(build):
    short = build.c("a.o", "int a(void) { return 1; }")
    long = build.c("a_member_with_a_rather_long_name.o", "int b(void) { return 2; }")
    archive = build.archive("lib.a", [short, long])

    members = split_archive(archive.read_bytes(), "lib.a")

    assert [m.name for m in members] == ["a.o", "a_member_with_a_rather_long_name.o"]
    assert members[0].data == short.read_bytes()
    assert members[1].data == long.read_bytes()


def test_symbol_index_and_name_table_are_not_members():
    data = gnu_archive([("x.o", b"XX"), ("y" * 20 + ".o", b"YYY")])

    members = split_archive(data, "lib.a")

    assert [(m.name, m.data) for m in members] == [("x.o", b"XX"), ("y" * 20 + ".o", b"YYY")]


def test_bsd_archive_with_long_name_and_symdef():
    data = bsd_archive([("short.o", b"1"), ("a long name with spaces.o", b"22")])

    members = split_archive(data, "lib.a")

    assert [(m.name, m.data) for m in members] == [("short.o", b"1"), ("a long name with spaces.o", b"22")]


# Any name a linker script can quote: printable ASCII with its metacharacters
# (but "/", the GNU terminator, and '"', which no quoted token can hold) and
# text that is not ASCII.
_names = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters='/"', min_codepoint=0x21
    ),
    min_size=1,
    max_size=40,
)
_members = st.lists(st.tuples(_names, st.binary(max_size=64)), max_size=8)


def test_gnu_member_named_like_a_bsd_prefix():
    # GNU writes a member named "#1" as "#1/": not a BSD "#1/<length>" name.
    members = [("#1", b"x"), ("#12", b"")]
    assert [(m.name, m.data) for m in split_archive(gnu_archive(members), "x.a")] == members


@given(_members)
def test_gnu_round_trip(members):
    assert [(m.name, m.data) for m in split_archive(gnu_archive(members), "x.a")] == members


@given(
    _members.filter(lambda ms: all(not n.startswith("#1/") and not n.startswith("__.SYMDEF") for n, _ in ms))
)
def test_bsd_round_trip(members):
    assert [(m.name, m.data) for m in split_archive(bsd_archive(members), "x.a")] == members


@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_magic_never_crash(tail):
    try:
        split_archive(MAGIC + tail, "x.a")
    except LinkError as error:
        assert error.message.startswith("x.a: ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an archive", "x.a: not an ar archive"),
        (b"!<thin>\n", "x.a: thin archives are not supported"),
        (MAGIC + _header("a.o/", 4)[:30], "x.a: truncated archive: member header at offset 8 is cut short"),
        (
            MAGIC + _header("a.o/", 10) + b"abc",
            "x.a: truncated archive: member at offset 8 needs 10 bytes, 3 left",
        ),
        (
            MAGIC + _header("a.o/", 2)[:58] + b"XX" + b"ab",
            "x.a: corrupt archive: bad member header at offset 8",
        ),
        (
            MAGIC + _entry("/0", b"ab"),
            "x.a: corrupt archive: long member name at offset 8 but no '//' name table",
        ),
        (MAGIC + _entry("//", b"a/\n") + _entry("/9", b"ab"), "is outside the name table"),
    ],
)
def test_damaged_archives_are_reported(data, message):
    with pytest.raises(LinkError) as caught:
        split_archive(data, "x.a")
    assert message in caught.value.message


def test_truncated_real_archive(build):
    archive = build.archive("lib.a", [build.c("m.o", "int m(void) { return 0; }")])
    data = archive.read_bytes()

    with pytest.raises(LinkError, match="truncated archive"):
        split_archive(data[: len(data) - 7], "lib.a")
