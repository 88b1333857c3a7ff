"""``inspect --html`` and ``diff --html``: the page's data, its escaping, its determinism, its errors.

What the page shows once Chromium has run its script is checked by
//tests/html:render_test; here the data it draws from and the document
around it, on a small image linked by the real linker.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.test_cli_images import APP_C, Image, link_image, run
from unikernel.cli.elf import read_elf
from unikernel.cli.page import PageImage, embed_json, image_view, render_inspect

# Functions whose symbols are markup. Section names reach the linker script, which allows
# only plain names (the link refuses others), so each has a plain section; the symbol is
# what the manifest records of a removed function.
MARKUP = "</script><script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
HOSTILE_C = (
    APP_C
    + f'__attribute__((section(".text.hidden"))) int hidden(int x) __asm__("{MARKUP}");\n'
    + "int hidden(int x) { return x * 3; }\n"
    + f'__attribute__((section(".text.img"))) int img(int x) __asm__("{IMG}");\n'
    + "int img(int x) { return x * 5; }\n"
)


@pytest.fixture(scope="module")
def image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("image"))


@pytest.fixture(scope="module")
def hostile(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("hostile"), app_source=HOSTILE_C)


def _data(page: bytes) -> dict:
    match = re.search(rb'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def _view(image: Image) -> dict:
    manifest = json.loads(image.manifest.read_text())
    return image_view(PageImage(read_elf(image.elf), manifest, "tiny.elf"))


def test_the_page_draws_the_manifests_components_and_the_elfs_seal(image, tmp_path, capsys):
    out = tmp_path / "tiny.html"
    result = run("inspect", image.elf, "--html", out, capsys=capsys)
    assert result.code == 0, result.err
    assert result.out.startswith(f"inspect: wrote {out} (")
    data = _data(out.read_bytes())
    assert data["kind"] == "image"
    view = data["image"]
    manifest = json.loads(image.manifest.read_text())
    assert [c["label"] for c in view["components"]] == [c["label"] for c in manifest["components"]]
    for drawn, recorded in zip(view["components"], manifest["components"], strict=True):
        assert drawn["kept"] == recorded["bytes"]["kept"] and drawn["removed"] == recorded["bytes"]["removed"]
        # The tiles of a component add up to its kept bytes.
        assert sum(i["size"] for i in drawn["items"]) == recorded["bytes"]["kept"]["total"]
    assert [(r["kind"], r["perm"]) for r in view["seal"]["regions"]] == [
        ("text", "r-x"),
        ("notes", "r--"),
        ("rodata", "r--"),
        ("data", "rw-"),
        ("bss", "rw-"),
    ]
    assert [r["start_hex"] for r in view["seal"]["regions"]] == [
        r["start"] for r in manifest["seal"]["regions"]
    ]
    removed = [f["name"] for c in view["components"] for f in c["removed_functions"]]
    assert removed == ["app_unused"]


def test_the_same_image_gives_the_same_bytes_wherever_it_is(image, tmp_path, capsys):
    elsewhere = tmp_path / "deeper" / "dir"
    elsewhere.mkdir(parents=True)
    for path in (image.elf, image.manifest):
        shutil.copy(path, elsewhere / path.name)
    one, two = tmp_path / "one.html", tmp_path / "two.html"
    assert run("inspect", image.elf, "--html", one, capsys=capsys).code == 0
    assert run("inspect", elsewhere / "tiny.elf", "--html", two, capsys=capsys).code == 0
    assert one.read_bytes() == two.read_bytes()
    assert str(tmp_path).encode() not in one.read_bytes()


def test_the_page_is_self_contained(image):
    page = render_inspect(PageImage(read_elf(image.elf), json.loads(image.manifest.read_text()), "tiny.elf"))
    text = page.decode()
    # No reference to anything outside the page; the policy forbids fetching anyway.
    assert not re.search(r"\b(src|href)\s*=|@import|url\(|https?://(?!www\.w3\.org/2000/svg)", text)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy
    assert "unsafe-inline" not in policy


def test_markup_in_symbol_names_stays_data(hostile, tmp_path, capsys):
    out = tmp_path / "hostile.html"
    assert run("inspect", hostile.elf, "--html", out, capsys=capsys).code == 0
    page = out.read_bytes()
    # The names reach the page...
    view = _data(page)["image"]
    removed = {f["name"] for c in view["components"] for f in c["removed_functions"]}
    assert {MARKUP, IMG} <= removed
    # ...but only escaped: the raw markup appears nowhere in the document.
    assert MARKUP.encode() not in page and b"<img" not in page
    assert page.count(b"</script>") == 2  # the data's and the program's own


def test_embedded_json_cannot_close_its_element():
    text = embed_json({"name": "</script><!-- \u2028 & >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": "</script><!-- \u2028 & >"}


def test_diff_page_pairs_components(image, hostile, tmp_path, capsys):
    out = tmp_path / "diff.html"
    result = run("diff", image.elf, hostile.elf, "--html", out, capsys=capsys)
    assert result.code == 1  # the images differ: the page does not change the verdict
    assert f"diff: wrote {out}" in result.out
    data = _data(out.read_bytes())
    assert data["kind"] == "diff" and data["identical"] is False
    assert data["a"]["sha256"] == read_elf(image.elf).sha256
    assert data["b"]["sha256"] == read_elf(hostile.elf).sha256
    assert "manifest" in [d["area"] for d in data["differences"]]
    same = tmp_path / "same.html"
    assert run("diff", image.elf, image.elf, "--html", same, capsys=capsys).code == 0
    assert _data(same.read_bytes())["identical"] is True


def test_an_image_without_a_manifest_is_drawn_from_the_elf_alone(image, tmp_path, capsys):
    alone = tmp_path / "alone.elf"
    shutil.copy(image.elf, alone)
    out = tmp_path / "alone.html"
    assert run("inspect", alone, "--html", out, capsys=capsys).code == 0
    view = _data(out.read_bytes())["image"]
    assert view["has_manifest"] is False and view["components"] == [] and view["layout"] is None
    assert len(view["seal"]["regions"]) == 5


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/dir/out.html", "the directory {tmp}/missing/dir does not exist; create it first"),
        (".", "is a directory; name the page's file"),
    ],
)
def test_a_bad_destination_is_one_line_and_writes_nothing(image, tmp_path, capsys, where, message):
    target = str(tmp_path / where) if where != "." else str(tmp_path)
    result = run("inspect", image.elf, "--html", target, capsys=capsys)
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith("unikernel: error: --html ") and message.format(tmp=tmp_path) in line
    assert not list(tmp_path.rglob("*.html")) and not list(tmp_path.rglob("*.tmp"))


def test_a_hostile_manifest_is_drawn_not_obeyed(image, tmp_path, capsys):
    manifest = json.loads(image.manifest.read_text())
    manifest["components"][0]["label"] = "<script>alert(3)</script>"
    manifest["layout"]["entropy"]["order_bits"] = float("nan")
    manifest["components"][1]["bytes"] = "not counts"
    bad = tmp_path / "bad.manifest.json"
    bad.write_text(json.dumps(manifest))
    out = tmp_path / "bad.html"
    result = run("inspect", image.elf, "--manifest", bad, "--html", out, capsys=capsys)
    assert result.code == 0, result.err
    page = out.read_bytes()
    assert b"<script>alert(3)" not in page
    view = _data(page)["image"]
    assert view["components"][0]["label"] == "<script>alert(3)</script>"
    assert "order_bits" not in {e["name"] for e in view["layout"]["entropy"]}
    # Counts that are not counts are not drawn; the kept size, as older manifests have it, is.
    assert view["components"][1]["kept"] == {
        "text": 0,
        "rodata": 0,
        "data": 0,
        "bss": 0,
        "total": manifest["components"][1]["size"],
    }
