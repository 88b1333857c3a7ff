"""apt_sources: deb-src entries and the Debian mirror from apt's own files."""

from __future__ import annotations

from pathlib import Path

import apt_sources
import pytest

DEBIAN = """\
Types: deb
# a comment inside the stanza
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def make_etc(tmp_path: Path, files: dict[str, str], sources_list: str | None = None) -> Path:
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (etc / "sources.list.d" / name).write_text(text)
    if sources_list is not None:
        (etc / "sources.list").write_text(sources_list)
    return etc


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = apt_sources.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_deb_src_copies_every_deb_stanza(tmp_path: Path) -> None:
    etc = make_etc(tmp_path, {"debian.sources": DEBIAN})
    entries = apt_sources.parse_deb822(apt_sources.deb_src_file(apt_sources.read_entries(etc)), "out")
    assert [(e.types, e.uris, e.suites, e.components) for e in entries] == [
        (
            ("deb-src",),
            ("http://mirror.example/debian",),
            ("bookworm", "bookworm-updates"),
            ("main", "contrib"),
        ),
        (("deb-src",), ("http://mirror.example/debian-security",), ("bookworm-security",), ("main",)),
    ]
    assert all(
        e.options == (("Signed-By", "/usr/share/keyrings/debian-archive-keyring.gpg"),) for e in entries
    )


def test_one_line_format_and_options(tmp_path: Path) -> None:
    etc = make_etc(
        tmp_path,
        {},
        sources_list="deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main # trailing\n",
    )
    (entry,) = apt_sources.parse_deb822(apt_sources.deb_src_file(apt_sources.read_entries(etc)), "out")
    assert entry.uris == ("http://m.example/debian",)
    assert entry.suites == ("bookworm",)
    # Architectures say nothing about sources; the key still applies.
    assert entry.options == (("Signed-By", "/k.gpg"),)


def test_existing_deb_src_and_disabled_entries_are_not_copied(tmp_path: Path) -> None:
    etc = make_etc(
        tmp_path,
        {
            "debian.sources": DEBIAN,
            "src.list": "deb-src http://mirror.example/debian-security bookworm-security main\n",
            "off.sources": "Enabled: No\nTypes: deb\nURIs: http://off.example/\nSuites: x\n",
            "farm.sources.disabled": "Types: deb\nURIs: http://ignored.example/\nSuites: y\n",
        },
    )
    text = apt_sources.deb_src_file(apt_sources.read_entries(etc))
    uris = [e.uris for e in apt_sources.parse_deb822(text, "out")]
    assert uris == [("http://mirror.example/debian",)]


def test_rewriting_our_own_file_is_idempotent(tmp_path: Path) -> None:
    etc = make_etc(tmp_path, {"debian.sources": DEBIAN})
    ours = etc / "sources.list.d" / "rules-unikernel-src.sources"
    first = apt_sources.deb_src_file(apt_sources.read_entries(etc, exclude=ours))
    ours.write_text(first)
    assert apt_sources.deb_src_file(apt_sources.read_entries(etc, exclude=ours)) == first
    # Without the exclusion our file counts as covering every entry.
    assert "Types:" not in apt_sources.deb_src_file(apt_sources.read_entries(etc))


def test_mirror_is_the_main_archive_of_the_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    security_first = "\n\n".join(reversed(DEBIAN.strip().split("\n\n"))) + "\n"
    etc = make_etc(tmp_path, {"debian.sources": security_first})
    assert run(capsys, "--etc", str(etc), "mirror", "--suite", "bookworm") == (
        0,
        "http://mirror.example/debian\n",
        "",
    )


def test_no_mirror_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = make_etc(tmp_path, {"debian.sources": DEBIAN})
    code, out, err = run(capsys, "--etc", str(etc), "mirror", "--suite", "trixie")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "'trixie'" in err and "MIRROR=" in err


def test_no_deb_entry_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = make_etc(tmp_path, {})
    code, out, err = run(capsys, "--etc", str(etc), "deb-src")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "no 'deb' entry" in err


def test_broken_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = make_etc(tmp_path, {"bad.list": "deb [signed-by=/k.gpg http://m.example/debian bookworm main\n"})
    code, _, err = run(capsys, "--etc", str(etc), "deb-src")
    assert code == 1
    assert "bad.list:1: unclosed '['" in err and err.count("\n") == 1
