"""``unikernel diff``: identical for two links of the same inputs, and names what differs."""

from __future__ import annotations

import shutil

import pytest

from tests.test_cli_images import APP_C, Image, link_image, run
from unikernel.cli.diff import json_diff

# Same length, other bytes: only .rodata changes, so the diff must find it there.
OTHER_GREETING = APP_C.replace("hello from the cli tests", "HELLO FROM THE CLI TESTS")
# One more function, called (an unused one would be garbage-collected): code moves, symbols appear.
MORE_CODE = """
extern void console_write(const char *text);
static const char greeting[] = "hello from the cli tests";
int boots = 1;
__attribute__((noinline)) int extra_function(int x) { return x * boots + 3; }
void kmain(void) { console_write(greeting + extra_function(boots)); }
"""


@pytest.fixture(scope="module")
def image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("image"))


@pytest.fixture(scope="module")
def variant(module_build, tmp_path_factory):
    def link(source: str) -> Image:
        return link_image(module_build, tmp_path_factory.mktemp("variant"), app_source=source)

    return link


def areas(out: str) -> list[str]:
    """The headings of the diff: lines that do not start with a space or 'diff:'."""
    return [line for line in out.splitlines() if line and not line.startswith((" ", "diff:"))]


def test_two_links_of_the_same_inputs_are_identical(image, variant, capsys):
    again = variant(APP_C)

    result = run("diff", image.elf, again.elf, capsys=capsys)

    assert result.code == 0, result.out
    assert result.out == f"diff: identical: {image.elf} and {again.elf} and their manifests\n"


def test_other_bytes_are_traced_to_their_section(image, variant, capsys):
    other = variant(OTHER_GREETING)

    result = run("diff", image.elf, other.elf, capsys=capsys)

    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith(f"diff: {image.elf} (A) and {other.elf} (B) and their manifests differ in: ")
    assert areas(result.out) == ["section contents", "notes", "manifest"]
    contents = {line.split(":")[0].strip(): line for line in lines if line.startswith("  .")}
    assert sorted(contents) == [".note.gnu.build-id", ".rodata"]
    # 20 letters of the greeting changed case; the four spaces did not.
    assert contents[".rodata"].startswith("  .rodata: 20 of ")
    assert "  GNU type 3: " in result.out  # the build-id note follows the contents
    assert "  image.sha256: " in result.out and "  image.build_id: " in result.out


def test_moved_code_shows_in_headers_and_symbols(image, variant, capsys):
    other = variant(MORE_CODE)

    result = run("diff", image.debug, other.debug, capsys=capsys)

    assert result.code == 1
    assert {"program headers", "section headers", "section contents", "symbols"} <= set(areas(result.out))
    assert "  added: extra_function" in result.out
    assert "  moved: console_write 0x" in result.out  # placed after the longer kmain
    assert "  .text: size " in result.out


def test_a_seed_is_reproducible_and_two_seeds_differ(module_build, tmp_path_factory, capsys):
    def seeded(seed: str) -> Image:
        return link_image(module_build, tmp_path_factory.mktemp("seeded"), extra=("--seed", seed))

    first, again, other = seeded("alpha"), seeded("alpha"), seeded("beta")

    assert run("diff", first.elf, again.elf, capsys=capsys).code == 0
    result = run("diff", first.elf, other.elf, capsys=capsys)
    assert result.code == 1
    assert "  e_entry: " in result.out
    assert '  layout.seed: "alpha" -> "beta"' in result.out


def test_a_stripped_image_against_its_debug_twin(image, capsys):
    result = run("diff", image.elf, image.debug, capsys=capsys)

    assert result.code == 1
    assert "  only B has a symbol table" in result.out
    assert "  .debug_info: only in B" in result.out
    # Same loaded bytes: nothing in the loaded sections differs.
    assert "  .text:" not in result.out and "  .rodata:" not in result.out


def test_without_both_manifests_only_the_files_are_compared(image, tmp_path, capsys):
    alone = tmp_path / "alone.elf"
    shutil.copyfile(image.elf, alone)

    result = run("diff", image.elf, alone, capsys=capsys)

    assert result.code == 0
    assert result.out == f"diff: identical: {image.elf} and {alone}\n"


def test_a_missing_file_is_an_error(image, tmp_path, capsys):
    result = run("diff", image.elf, tmp_path / "gone.elf", capsys=capsys)

    assert result.code == 2
    assert result.out == ""
    assert result.err == f"unikernel: error: cannot read {tmp_path / 'gone.elf'}: No such file or directory\n"


def test_json_diff_names_paths():
    a = {"format": "v1", "components": [{"label": "//a", "size": 4}], "gone": 1, "ids": [1, 2]}
    b = {"format": "v1", "components": [{"label": "//b"}, {"label": "//a", "size": 8}], "ids": [1]}
    b["new"] = True

    assert json_diff(a, b) == [
        "components[//a].size: 4 -> 8",
        "components[//b]: only in B",
        "gone: only in A",
        "ids[1]: only in A",
        "new: only in B",
    ]
    assert json_diff(a, a) == []
