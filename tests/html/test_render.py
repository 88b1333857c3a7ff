"""``inspect --html`` and ``diff --html`` rendered by headless Chromium: what the page shows.

The pages of //examples/hello:image and //examples/tcp_echo:image are
written by the command line, loaded in Chromium (conftest.py), and read back
from the DOM after the page's script ran: the seal's regions with their
permissions and their widths to scale, the treemap's components with the
manifest's sizes, the removed functions, the entropy figures, and the diff's
two layouts and size deltas. The expected values come from the image (read
with the CLI's ELF reader) and the manifest, not from the page's own data.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from unikernel.cli import main as cli_main
from unikernel.cli.elf import read_elf
from unikernel.cli.seal import SEAL_NAME, SEAL_TYPE, parse_seal

ROOT = (
    Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
    if "TEST_SRCDIR" in os.environ
    else Path.cwd()
)
HELLO = ROOT / "examples/hello/image.elf"
TCP_ECHO = ROOT / "examples/tcp_echo/image.elf"
PERMS = {5: "r-x", 4: "r--", 6: "rw-"}
MARKUP = "</script><script>alert(1)</script>"
LABEL_MARKUP = "<img src=x onerror=alert(2)>"
TILE_MARKUP = "<b>bold</b>"


def fmt(n: int) -> str:
    return f"{n:,}"


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    made = {"hello": out / "hello.html", "diff": out / "diff.html"}
    assert cli_main(["inspect", str(HELLO), "--html", str(made["hello"])]) == 0
    assert cli_main(["diff", str(HELLO), str(TCP_ECHO), "--html", str(made["diff"])]) == 1
    # A manifest is untrusted input too: names that are markup, in every table they reach.
    manifest = json.loads(HELLO.with_name("image.manifest.json").read_text())
    libc = next(c for c in manifest["components"] if c["removed_functions"])
    libc["removed_functions"][0]["name"] = MARKUP
    manifest["components"][0]["label"] = LABEL_MARKUP
    next(i for i in libc["inputs"] if i["sections"])["sections"][0]["name"] = f".text.{TILE_MARKUP}"
    (out / "hostile.manifest.json").write_text(json.dumps(manifest))
    made["hostile"] = out / "hostile.html"
    argv = ["inspect", str(HELLO), "--manifest", str(out / "hostile.manifest.json")]
    assert cli_main([*argv, "--html", str(made["hostile"])]) == 0
    return made


@pytest.fixture(scope="module")
def hello(chromium, pages):
    session, loaded = chromium.load(pages["hello"])
    return chromium, session, loaded


def manifest_of(image: Path) -> dict:
    return json.loads(image.with_name("image.manifest.json").read_text())


def evaluate(view, expression: str):
    chromium, session, _ = view
    return chromium.evaluate(session, expression)


def test_the_page_ran_clean_and_fetched_nothing(hello, pages):
    _, _, loaded = hello
    assert loaded.exceptions == [] and loaded.console_errors == [] and loaded.dialogs == []
    # The one request is the page itself: no script, style, font or image from anywhere.
    assert loaded.requests == [pages["hello"].resolve().as_uri()]
    assert evaluate(hello, "document.documentElement.dataset.rendered") == "image"


def test_a_fetch_would_have_been_seen(chromium, tmp_path):
    """The check above can fail: a page that loads an image over HTTP is caught."""
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><p>hi</p>')
    _, loaded = chromium.load(page)
    assert "http://127.0.0.1:9/x.png" in loaded.requests


def test_the_seals_regions_are_drawn_with_their_permissions_to_scale(hello):
    image = read_elf(HELLO)
    seal = parse_seal(image.note(SEAL_NAME, SEAL_TYPE).desc)
    cards = evaluate(
        hello,
        """[...document.querySelectorAll("svg.layout g.region")].map((g) => ({
            kind: g.querySelector(".kind").textContent,
            perm: g.querySelector(".perm").textContent,
            size: g.querySelector(".size").textContent}))""",
    )
    assert cards == [
        {"kind": r.name, "perm": PERMS[r.flags], "size": f"{fmt(r.end - r.start)} B"} for r in seal.regions
    ]
    # Widths on screen, as laid out by the browser, are proportional to the bytes.
    boxes = evaluate(
        hello,
        """(() => { const line = document.querySelector("svg.layout line").getBoundingClientRect();
            const rects = [...document.querySelectorAll("svg.layout rect.scale")];
            return { full: line.width, rects: rects.map((r) =>
              ({ kind: r.dataset.kind, width: r.getBoundingClientRect().width,
                 fill: getComputedStyle(r).fill })) }; })()""",
    )
    loads = image.loads()
    base = min(s.vaddr for s in loads) & ~0xFFF
    span = max(-(-(s.vaddr + s.memsz) // 4096) * 4096 for s in loads) - base
    pixels_per_byte = boxes["full"] / span
    assert [b["kind"] for b in boxes["rects"]] == [r.name for r in seal.regions]
    for region, box in zip(seal.regions, boxes["rects"], strict=True):
        expected = (region.end - region.start) * pixels_per_byte
        if expected >= 2:
            assert math.isclose(box["width"], expected, abs_tol=0.6), (region.name, box, expected)
        else:  # too narrow to see at scale: drawn as a sliver
            assert box["width"] <= 2, (region.name, box)
    # Executable code is drawn in another colour than data.
    fills = {b["kind"]: b["fill"] for b in boxes["rects"]}
    assert fills["text"] != fills["rodata"] != fills["bss"] and fills["data"] == fills["bss"]


def test_the_treemap_shows_every_component_with_the_manifests_size(hello):
    components = manifest_of(HELLO)["components"]
    kept = {c["label"]: c["bytes"]["kept"]["total"] for c in components}
    rows = evaluate(
        hello,
        """[...document.querySelectorAll("table.components tbody tr")].map((tr) =>
            [...tr.cells].slice(0, 2).map((td) => td.textContent))""",
    )
    assert rows == [[label, fmt(size)] for label, size in kept.items()]
    blocks = evaluate(
        hello,
        """[...document.querySelectorAll("svg.treemap g.component")].map((g) => {
            const r = g.querySelector("rect.component-frame").getBoundingClientRect();
            const name = g.querySelector("text.component-name");
            return { label: g.dataset.label, area: r.width * r.height, name: name ? name.textContent : "",
                     title: g.querySelector("rect.component-frame title").textContent }; })""",
    )
    drawn = {b["label"]: b for b in blocks}
    assert set(drawn) == {label for label, size in kept.items() if size}
    total_area = sum(b["area"] for b in blocks)
    total = sum(kept.values())
    for label, block in drawn.items():
        assert block["title"] == f"{label}: {fmt(kept[label])} B"
        assert math.isclose(block["area"] / total_area, kept[label] / total, abs_tol=0.002), label
    # The largest component is big enough to be named on the picture itself.
    largest = max(kept, key=kept.get)
    assert drawn[largest]["name"] == f"{largest} {fmt(kept[largest])} B"


def test_the_treemap_switches_to_code_only(hello):
    components = manifest_of(HELLO)["components"]
    rows = evaluate(
        hello,
        """(() => { document.querySelector('button[data-metric="text"]').click();
            const rows = [...document.querySelectorAll("table.components tbody tr")].map((tr) =>
              [...tr.cells].slice(0, 2).map((td) => td.textContent));
            document.querySelector('button[data-metric="kept"]').click();
            return rows; })()""",
    )
    assert rows == [[c["label"], fmt(c["bytes"]["kept"]["text"])] for c in components]


def test_the_removed_code_table_is_the_manifests(hello):
    components = manifest_of(HELLO)["components"]
    rows = evaluate(
        hello,
        """[...document.querySelectorAll("table.removed-functions tbody tr")].map((tr) =>
            [...tr.cells].map((td) => td.textContent))""",
    )
    expected = [
        [c["label"], f["name"], f["file"], fmt(f["size"])]
        for c in components
        for f in sorted(c["removed_functions"], key=lambda f: (-f["size"], f["name"], f["file"]))
    ]
    assert rows == expected and len(rows) > 10
    summary = evaluate(
        hello,
        """[...document.querySelectorAll("table.removed tbody tr")].map((tr) =>
            [tr.cells[0].textContent, tr.cells[3].textContent])""",
    )
    assert summary == [
        [c["label"], fmt(c["bytes"]["removed"]["total"])]
        for c in components
        if c["bytes"]["in"]["total"] or c["bytes"]["removed"]["total"] or c["removed_functions"]
    ]


def test_the_entropy_figures_are_the_manifests(hello):
    layout = manifest_of(HELLO)["layout"]
    rows = evaluate(
        hello,
        """[...document.querySelectorAll("table.entropy tbody tr")].map((tr) =>
            [tr.dataset.name, tr.cells[1].textContent])""",
    )
    expected = [
        [name, f"{value:.2f}"]
        for name, value in sorted(layout["entropy"].items())
        if isinstance(value, int | float)
    ]
    assert rows == expected and ["base_bits", f"{layout['entropy']['base_bits']:.2f}"] in rows
    secrecy = evaluate(hello, 'document.querySelector("p.secrecy").textContent')
    assert secrecy.startswith(layout["seed_kind"])


def test_markup_in_names_is_shown_as_text(chromium, pages):
    session, loaded = chromium.load(pages["hostile"])
    assert loaded.dialogs == [] and loaded.exceptions == []
    assert loaded.requests == [pages["hostile"].resolve().as_uri()]
    shown = chromium.evaluate(
        session,
        """({ removed: [...document.querySelectorAll("table.removed-functions td")]
                .map((td) => td.textContent),
              rows: [...document.querySelectorAll("table.components td")].map((td) => td.textContent),
              tiles: [...document.querySelectorAll("svg.treemap title")].map((t) => t.textContent),
              scripts: document.scripts.length,
              markup: document.querySelectorAll("main img, main b, main script").length })""",
    )
    assert MARKUP in shown["removed"] and LABEL_MARKUP in shown["rows"]
    assert any(t.startswith(f"{TILE_MARKUP}: ") for t in shown["tiles"])
    # Only the page's own two script elements; no element was made from a name.
    assert shown["scripts"] == 2 and shown["markup"] == 0


def test_the_diff_page_shows_both_layouts_and_the_size_deltas(chromium, pages):
    session, loaded = chromium.load(pages["diff"])
    assert loaded.exceptions == [] and loaded.dialogs == []
    assert loaded.requests == [pages["diff"].resolve().as_uri()]
    shown = chromium.evaluate(
        session,
        """(() => { const regions = (side) => [...document.querySelectorAll(side + " g.region")]
                .map((g) => g.dataset.kind + " " + g.dataset.perm);
            return { a: regions(".side-a"), b: regions(".side-b"),
              widths: [".side-a", ".side-b"].map((s) =>
                document.querySelector(s + ' rect.scale[data-kind="text"]').getBoundingClientRect().width),
              deltas: [...document.querySelectorAll("table.deltas tbody tr")].map((tr) =>
                [tr.cells[0].textContent, tr.cells[1].textContent, tr.cells[2].textContent,
                 tr.cells[3].textContent]) }; })()""",
    )
    regions = ["text r-x", "notes r--", "rodata r--", "data rw-", "bss rw-"]
    assert shown["a"] == regions and shown["b"] == regions
    a, b = manifest_of(HELLO), manifest_of(TCP_ECHO)
    text = [next(r for r in m["seal"]["regions"] if r["kind"] == "text") for m in (a, b)]
    sizes = [int(r["end"], 16) - int(r["start"], 16) for r in text]
    # One scale for both: the widths' ratio is the sizes' ratio.
    assert math.isclose(shown["widths"][0] / shown["widths"][1], sizes[0] / sizes[1], rel_tol=0.02)
    kept_a = {c["label"]: c["bytes"]["kept"]["total"] for c in a["components"]}
    kept_b = {c["label"]: c["bytes"]["kept"]["total"] for c in b["components"]}
    rows = {row[0]: row[1:] for row in shown["deltas"]}
    assert set(rows) == set(kept_a) | set(kept_b)
    for label, (in_a, in_b, delta) in rows.items():
        x, y = kept_a.get(label), kept_b.get(label)
        assert in_a == (fmt(x) if x is not None else "\u2014") and in_b == (
            fmt(y) if y is not None else "\u2014"
        )
        d = (y or 0) - (x or 0)
        assert delta == (f"+{fmt(d)}" if d > 0 else fmt(d)), label


def test_without_chromium_the_test_fails_naming_the_install(monkeypatch, chromium_finder):
    find, missing = chromium_finder
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(missing, match=r"tools/setup\.sh \(apt-get install chromium\)"):
        find()
