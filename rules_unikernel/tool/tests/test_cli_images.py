"""Real images for the command-line tests, and the CLI's own ELF reader on them.

The other test_cli_* modules import ``link_image``, ``run`` and the sources
from here (as ``tests.test_cli_images``: Bazel makes tests/ a package, plain
pytest a namespace package, and both put the tool's directory on the path):
one way to build a small three-component image, linked by the real linker
with the zig toolchain from conftest.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from unikernel.cli import main
from unikernel.cli import verify as cli_verify
from unikernel.cli.elf import parse_elf, read_elf
from unikernel.cli.errors import CliError
from unikernel.cli.files import default_manifest, find_manifest, resolve
from unikernel.link import driver

BOOT_C = """
extern void kmain(void);
__attribute__((section(".text.boot"))) void _start_pvh(void) { kmain(); for (;;) {} }
"""
APP_C = """
extern void console_write(const char *text);
static const char greeting[] = "hello from the cli tests";
int boots = 1;
void kmain(void) { console_write(greeting + boots); }
/* Linked (its object is) but never used: specialisation removes them. */
int app_unused(int x) { return x * 41 + boots; }
const char app_unused_banner[] = "never printed";
"""
CONSOLE_C = """
volatile const char *last_line;
void console_write(const char *text) { last_line = text; }
"""
UNUSED_C = """
int never_called(int x) { return x * 7; }
"""
LABELS = {"boot": "//libos/boot:boot", "app": "//app:main", "console": "//drivers/console:console"}


@dataclass(frozen=True)
class Image:
    """A linked image and its side outputs, named the way unikernel_image names them."""

    elf: Path
    debug: Path
    manifest: Path


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def link_image(build, directory: Path, app_source: str = APP_C, extra: tuple[str, ...] = ()) -> Image:
    """Compile the three components in ``directory``/src and link them into ``directory``/out.

    ``extra``: more linker arguments (``--seed``).
    """
    src, out = directory / "src", directory / "out"
    src.mkdir(parents=True)
    out.mkdir()
    builder = type(build)(build.zig, src)
    boot = builder.archive("libboot.a", [builder.c("start.o", BOOT_C)])
    app = builder.c("app.o", app_source)
    console = builder.archive(
        "libconsole.a", [builder.c("console.o", CONSOLE_C), builder.c("unused.o", UNUSED_C)]
    )
    image = Image(out / "tiny.elf", out / "tiny.debug.elf", out / "tiny.manifest.json")
    args = ["--ld", str(build.zig.ld), "--guest-name", "tiny", "--output", str(image.elf)]
    args += ["--debug-output", str(image.debug), "--manifest", str(image.manifest)]
    for key, path in (("boot", boot), ("app", app), ("console", console)):
        args += ["--input", f"{LABELS[key]}={path}"]
    assert driver.main([*args, *extra]) == 0
    return image


def run(*args: str, terminal: bool = False, capsys) -> Run:
    """Run the CLI in-process; stdout goes to a console that is a terminal or not."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=terminal, width=160, color_system=None if not terminal else "standard"
    )
    capsys.readouterr()
    code = main([str(a) for a in args], console=console)
    return Run(code, buffer.getvalue(), capsys.readouterr().err)


@pytest.fixture(scope="module")
def image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("image"))


def test_reader_sees_segments_sections_and_notes(image):
    elf = read_elf(image.elf)

    assert elf.header["e_type"] == "ET_EXEC" and elf.entry == 0x100000
    assert [(s.type, s.permissions) for s in elf.loads()] == [
        ("PT_LOAD", "r-x"),
        ("PT_LOAD", "r--"),
        ("PT_LOAD", "rw-"),
    ]
    assert elf.sections_in(elf.loads()[0]) == (".text",)
    assert elf.note(b"Xen", 18).desc == (0x100000).to_bytes(4, "little")
    assert elf.note(b"Xen", 7).text() == "tiny"
    assert elf.build_id and len(elf.build_id) == 40
    assert elf.symbols is None
    assert {"kmain", "console_write", "_start_pvh"} <= {s.name for s in read_elf(image.debug).symbols}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an ELF file"),
        (b"#!/bin/sh\necho hi\n", "not an ELF file"),
        (b"\x7fELF\x02\x01\x01", "corrupt ELF file"),
    ],
)
def test_reader_refuses_non_elf_input_in_one_line(data, message):
    with pytest.raises(CliError) as caught:
        parse_elf(data, "x.elf")
    assert caught.value.message.startswith(f"x.elf: {message}")


def test_reader_refuses_every_truncation_in_one_line(image):
    data = image.elf.read_bytes()
    for cut in (10, 63, 64, 200, 0x1000, len(data) // 2, len(data) - 1):
        with pytest.raises(CliError) as caught:
            parse_elf(data[:cut], "cut.elf")
        assert caught.value.message.startswith("cut.elf: "), cut
        assert "\n" not in caught.value.message


def test_reader_refuses_a_section_that_runs_past_the_end(image):
    data = bytearray(image.elf.read_bytes())
    elf = read_elf(image.elf)
    rodata = next(s for s in elf.sections if s.name == ".rodata")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    struct.pack_into("<Q", data, shoff + rodata.index * 64 + 32, 1 << 20)  # sh_size

    with pytest.raises(CliError) as caught:
        parse_elf(bytes(data), "long.elf")
    assert caught.value.message.startswith(
        f"long.elf: truncated ELF file: section {rodata.index} (.rodata) ends at {rodata.offset + (1 << 20)}"
    )


def test_xen_note_numbers_match_xens_header():
    header = Path("/usr/include/xen/elfnote.h")
    if not header.is_file():
        pytest.skip("Xen's headers (libxen-dev) are not installed")
    defined = dict(re.findall(r"#define (XEN_ELFNOTE_\w+)\s+(\d+)\b", header.read_text()))

    for name in (
        "XEN_ELFNOTE_ENTRY",
        "XEN_ELFNOTE_HYPERCALL_PAGE",
        "XEN_ELFNOTE_VIRT_BASE",
        "XEN_ELFNOTE_PADDR_OFFSET",
        "XEN_ELFNOTE_XEN_VERSION",
        "XEN_ELFNOTE_GUEST_OS",
        "XEN_ELFNOTE_LOADER",
        "XEN_ELFNOTE_PHYS32_ENTRY",
    ):
        assert getattr(cli_verify, name) == int(defined[name]), name


def test_manifest_is_found_next_to_the_image_or_its_debug_twin(image, tmp_path):
    assert default_manifest(image.elf) == image.manifest
    assert default_manifest(image.debug) == image.manifest
    assert find_manifest(image.elf, None) == image.manifest
    assert find_manifest(tmp_path / "alone.elf", None) is None
    assert find_manifest(tmp_path / "alone.elf", tmp_path / "given.json") == tmp_path / "given.json"


def test_relative_paths_are_resolved_where_bazel_run_was_started():
    assert resolve("out/x.elf", {"BUILD_WORKING_DIRECTORY": "/home/me/ws"}) == Path("/home/me/ws/out/x.elf")
    assert resolve("/abs/x.elf", {"BUILD_WORKING_DIRECTORY": "/home/me/ws"}) == Path("/abs/x.elf")
    assert resolve("out/x.elf", {}) == Path("out/x.elf")
