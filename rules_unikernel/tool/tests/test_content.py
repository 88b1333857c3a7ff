"""unikernel_content's generator: byte-reproducible tables and one-line errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from unikernel.content import ContentError, collect, main, render_c

SITE = {
    "index.html": b"<h1>hello</h1>\n",
    "css/site.css": b"h1 { color: teal; }\n",
    "img/dot.png": bytes(range(256)),
    "empty": b"",
    "caf\u00e9/men\u00fc.txt": "cr\u00e8me\n".encode(),
}


def _write(root: Path, files: dict[str, bytes]) -> list[tuple[str, Path]]:
    entries = []
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        entries.append(("/" + rel, p))
    return entries


def test_same_files_same_bytes_whatever_the_order_times_and_place(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", SITE)
    b = _write(tmp_path / "elsewhere" / "b", SITE)
    for i, (_, p) in enumerate(b):
        os.utime(p, (1_000_000 + i, 2_000_000 + i))
    first = render_c(collect(a))
    second = render_c(collect(list(reversed(b))))
    assert first == second
    # No build path and no time leaks into the source.
    assert str(tmp_path) not in first
    # A golden digest: the format itself is stable across runs and Python versions.
    assert hashlib.sha256(first.encode()).hexdigest() == GOLDEN_SHA256


GOLDEN_SHA256 = "a500691ffd5ad0bcede0d0f6dfcf07401eb809a031f465ce68a646ea4184f915"


def test_table_fields(tmp_path: Path) -> None:
    files = collect(_write(tmp_path, SITE))
    assert [f.path for f in files] == sorted(("/" + k for k in SITE), key=lambda s: s.encode())
    by = {f.path: f for f in files}
    assert by["/index.html"].content_type == "text/html; charset=utf-8"
    assert by["/img/dot.png"].content_type == "image/png"
    assert by["/empty"].content_type == "application/octet-stream"
    assert by["/index.html"].etag == f'"{hashlib.sha256(SITE["index.html"]).hexdigest()[:16]}"'
    source = render_c(files)
    # Every byte of every file is in the table, in order.
    assert "0x00,0x01,0x02,0x03,0x04,0x05,0x06,0x07,0x08,0x09,0x0a,0x0b,0x0c,0x0d,0x0e,0x0f," in source
    # Non-ASCII paths are written as their UTF-8 bytes, escaped.
    assert '"/caf\\303\\251/men\\303\\274.txt"' in source
    assert "static const unsigned char" in source and "const struct content_table content_table" in source


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/a b?.html", "holds '?'"),
        ("/a#b", "holds '#'"),
        ("/100%.txt", "holds '%'"),
        ("/back\\slash", "holds '\\\\'"),
        ("/new\nline", "holds '\\n'"),
        ("/a/../b", "'..' segment"),
        ("/a//b", "empty"),
        ("relative", "must be '/' followed by a file name"),
        ("/dir/", "must be '/' followed by a file name"),
        ("/bad-\udcff.txt", "not valid UTF-8"),
        ("/" + "x" * 600, "keep it within 512 bytes"),
    ],
)
def test_unsafe_names(tmp_path: Path, path: str, message: str) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x")
    with pytest.raises(
        ContentError, match=message.replace("\\", "\\\\").replace("?", "\\?").replace("(", "\\(")
    ):
        collect([(path, f)])


def test_collisions(tmp_path: Path) -> None:
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    with pytest.raises(
        ContentError, match=r"a\.html and .*b\.html are both served at '/x\.html'; rename one"
    ):
        collect([("/x.html", a), ("/x.html", b)])
    with pytest.raises(
        ContentError,
        match=r"a\.html and .*b\.html are both served at '/X\.html' and '/x\.html' \(names that differ",
    ):
        collect([("/X.html", a), ("/x.html", b)])
    with pytest.raises(ContentError, match="the same file listed twice"):
        collect([("/x.html", a), ("/x.html", a)])
    with pytest.raises(ContentError, match="no files given"):
        collect([])


def test_main_errors_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "table.c"
    missing = tmp_path / "missing.html"
    assert main(["--output", str(out), "--file", "/m.html", str(missing)]) == 1
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and err.startswith("unikernel_content: ")
        and "missing.html: cannot be read" in err
    )
    assert not out.exists() and not list(tmp_path.iterdir())


def test_main_writes_the_table(tmp_path: Path) -> None:
    entries = _write(tmp_path / "site", SITE)
    params = tmp_path / "params"
    params.write_text(
        "\n".join(
            ["--output", str(tmp_path / "t.c")] + [x for p, s in entries for x in ("--file", p, str(s))]
        )
        + "\n"
    )
    assert main([f"@{params}"]) == 0
    assert (tmp_path / "t.c").read_text() == render_c(collect(entries))
