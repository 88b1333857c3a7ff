"""A randomised layout written as one ordered line per output section (link.order).

lld matches every script line against every input section: a shuffled
layout of one line per function is quadratic. These tests check, without
timing anything, that the script of a randomised layout does not grow with
the number of functions, that lld's symbol ordering gives exactly the
layout one line per unit gives, and what happens to the units that cannot
be ordered by a symbol.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tests.test_aslr import kernel_source
from unikernel.link import aslr, driver, order, pads, script
from unikernel.link.driver import main
from unikernel.link.model import Binding, InputSpec, Origin
from unikernel.link.reader import read_object


def prepared(zig, *inputs: Path, seed: str = "alpha", padding: int = 0) -> driver.Prepared:
    options = driver.parse_args(
        [
            "--ld",
            str(zig.ld),
            *(f"--input=//t:{path.stem}={path}" for path in inputs),
            "--output=unused.elf",
            f"--seed={seed}",
            f"--aslr-padding={padding}",
        ]
    )
    return driver.prepare(options)


@pytest.mark.parametrize("padding", [0, 64])
def test_random_layout_script_does_not_grow_with_functions(module_build, zig, padding):
    kernels = {n: module_build.asm(f"k{n}.o", kernel_source(n)) for n in (8, 400)}
    plans = {n: prepared(zig, kernel, padding=padding).plan for n, kernel in kernels.items()}

    assert len(script.render(plans[8]).splitlines()) == len(script.render(plans[400]).splitlines())
    # The ordering file grows instead: 400 functions and their 400 objects, the boot code
    # and its stack, and with padding the symbol of each function's pad (when it drew one).
    drawn = {n: len(plans[n].pads) for n in (8, 400)}
    assert [len(plans[n].symbol_order) for n in (8, 400)] == [2 * 8 + 2 + drawn[8], 2 * 400 + 2 + drawn[400]]
    # With 64 bytes, 0 of (0, 16, 32, 48, 64) is drawn 1 time in 5.
    assert drawn[400] == 0 if not padding else 280 <= drawn[400] <= 360


def per_line_plan(zig, kernel: Path, monkeypatch, *options: str) -> driver.Prepared:
    """The plan with one line per unit: randomise without the link's files (padding as ``. += N``)."""
    with monkeypatch.context() as patch:
        per_line = aslr.randomise
        patch.setattr(aslr, "randomise", lambda plan, options, loaded=None: per_line(plan, options))
        return driver.prepare(
            driver.parse_args(["--ld", str(zig.ld), f"--input=//t:k={kernel}", "--output=u.elf", *options])
        )


def test_pads_come_right_before_their_functions_with_the_drawn_sizes(
    module_build, zig, tmp_path, monkeypatch
):
    kernel = module_build.asm("k.o", kernel_source(64))
    options = ("--seed=alpha", "--aslr-padding=256")
    plan = prepared(zig, kernel, padding=256).plan
    # What the seed drew, as the line-per-unit layout writes it: (function, pad) in shuffled order.
    drawn = [
        (p.sections[0].removeprefix(".text."), p.pad)
        for p in per_line_plan(zig, kernel, monkeypatch, *options).plan.output_section(".text").placements
        if p.movable
    ]
    order = plan.symbol_order
    sizes = {pad.symbol: pad.size for pad in plan.pads}
    for function, pad in drawn:
        before = order[order.index(function) - 1]
        assert (sizes.get(before), before.startswith(pads.SYMBOL_PREFIX)) == (
            (pad, True) if pad else (None, False)
        )
    assert len(plan.pads) == sum(1 for _, pad in drawn if pad) > 32
    assert {pad.size for pad in plan.pads} <= set(range(16, 257, 16))

    # In the image each pad ends where its function starts.
    out, debug = tmp_path / "k.elf", tmp_path / "k.debug.elf"
    args = ["--ld", str(zig.ld), f"--input=//t:k={kernel}", *options]
    assert main([*args, f"--output={out}", f"--debug-output={debug}"]) == 0
    with debug.open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        address = {s.name: (s["st_value"], s["st_size"]) for s in table.iter_symbols()}
    for function, pad in drawn:
        if pad:
            symbol = order[order.index(function) - 1]
            assert address[symbol][0] + pad == address[function][0] and address[symbol][1] == pad


@pytest.mark.parametrize("padding", [0, 64])
def test_ordered_lines_give_the_image_one_line_per_unit_gives(
    module_build, zig, tmp_path, monkeypatch, padding
):
    kernel = module_build.asm("k.o", kernel_source(64))

    def link(directory: Path) -> bytes:
        directory.mkdir()
        args = [
            "--ld",
            str(zig.ld),
            "--input",
            f"//t:k={kernel}",
            "--seed",
            "beta",
            f"--aslr-padding={padding}",
        ]
        assert main([*args, "--output", str(directory / "k.elf"), "--map", str(directory / "k.map")]) == 0
        return (directory / "k.elf").read_bytes()

    scripts: list[str] = []
    render = script.render
    monkeypatch.setattr(script, "render", lambda plan: scripts.append(render(plan)) or scripts[-1])
    ordered = link(tmp_path / "ordered")
    per_line = aslr.randomise
    # Without the files of the link, randomise writes one line per unit, as before.
    monkeypatch.setattr(aslr, "randomise", lambda plan, options, loaded=None: per_line(plan, options))
    lines = link(tmp_path / "lines")

    assert "*(.text .text.*)" in scripts[0] and "*(.text .text.*)" not in scripts[1]
    # The padding: sections of the pads' object in the ordered line, or a gap before a line.
    assert ("KEEP(*(.text.unikernel_pad.*))" in scripts[0]) == bool(padding)
    assert (". += 0x" in scripts[1]) == bool(padding) and ". += 0x" not in scripts[0]
    # Only the boot code's KEEP line names the file; with a line per unit (joined where
    # neighbours follow input order) dozens do.
    assert scripts[0].count(str(kernel)) == 1 and scripts[1].count(str(kernel)) > 32
    assert ordered == lines


# Two files with a static function of one name each, a section without any
# symbol, boot code that nothing calls (kept by KEEP alone), and ordinary
# functions with names of their own.
def shared_name_source(tag: str, functions: int) -> str:
    lines = [
        '    .section .text.helper,"ax",@progbits',
        "helper:",
        "    ret",
        '    .section .text.anon,"ax",@progbits',
        ".Lanon:",
        "    ret",
        f'    .section .text.boot.{tag},"ax",@progbits',
        f"    .globl boot_{tag}",
        f"boot_{tag}:",
        "    hlt",
    ]
    for index in range(functions):
        lines += [
            f'    .section .text.{tag}{index},"ax",@progbits',
            f"    .globl {tag}{index}",
            f"{tag}{index}:",
            "    call helper",
            *([f"    call {tag}{index + 1}"] if index + 1 < functions else []),
            # A .L label is no symbol: the call refers to .text.anon's section.
            "    call .Lanon",
            "    ret",
        ]
    return "\n".join(lines) + "\n"


START = """
    .section .text.boot,"ax",@progbits
    .globl _start_pvh
_start_pvh:
    call a0
    call b0
    hlt
"""


def test_units_without_a_unique_symbol_keep_named_lines(module_build, zig, tmp_path):
    start = module_build.asm("start.o", START)
    a = module_build.asm("a.o", shared_name_source("a", 20))
    b = module_build.asm("b.o", shared_name_source("b", 20))
    plan = prepared(zig, start, a, b).plan
    text = script.render(plan)
    a, b = str(a), str(b)

    body = text.split("  .text :\n", 1)[1].split("} :text", 1)[0].splitlines()
    named = {
        (file, section)
        for file, sections in (line.strip()[:-1].split("(") for line in body if line.strip().startswith("/"))
        for section in sections.split()
    }
    # Each file's helper (a name both files use) and its symbol-less section,
    # before the ordered line; the boot code's KEEP lines after it.
    assert named == {(file, section) for file in (a, b) for section in (".text.helper", ".text.anon")}
    wildcard = body.index("    *(.text .text.*)")
    # Four named units on 2 to 4 lines (one file's may be joined), after the "{".
    assert 3 <= wildcard <= 5 and all(line.strip().startswith("/") for line in body[1:wildcard])
    assert all(line.startswith("    KEEP(") for line in body[wildcard + 1 : -1])
    assert "helper" not in plan.symbol_order
    # The boot code (three files' .text.boot*) is ordered, and kept.
    assert {"_start_pvh", "boot_a", "boot_b"} <= set(plan.symbol_order)
    assert "KEEP(" in text

    out = tmp_path / "k.elf"
    debug = tmp_path / "k.debug.elf"
    manifest = tmp_path / "k.json"
    args = [f"--input=//t:{Path(p).stem}={p}" for p in (start, a, b)]
    assert (
        main(["--ld", str(zig.ld), *args, "--seed=alpha", f"--output={out}", f"--debug-output={debug}"]) == 0
    )
    with debug.open("rb") as stream:
        names = {s.name for s in ELFFile(stream).get_section_by_name(".symtab").iter_symbols()}
    # Nothing calls boot_a or boot_b: KEEP alone keeps them, as mark-live expects.
    assert {"boot_a", "boot_b", "a19", "b19"} <= names

    assert (
        main(
            [
                "--ld",
                str(zig.ld),
                *args,
                "--seed=alpha",
                f"--output={tmp_path / 'm.elf'}",
                f"--manifest={manifest}",
            ]
        )
        == 0
    )
    layout = json.loads(manifest.read_text())["layout"]
    assert layout["named_units"]["text"] == 4
    functions = layout["shuffled_functions"]
    ordered = functions - 4
    bits = (math.lgamma(ordered + 1) + math.lgamma(4 + 1)) / math.log(2)
    assert layout["entropy"]["order_bits"] == pytest.approx(bits, abs=1e-4)
    # The boot code takes one of the gaps of the ordered line.
    assert layout["entropy"]["entry_position_bits"] == pytest.approx(math.log2(ordered + 1), abs=1e-4)


def per_line_text(randomise):
    """``randomise`` with .text written one line per unit, its padding as gaps (``. += N``),
    in the order the ordered line gives: named units first, then the others (both in their
    shuffled order). The per-line twin of the padded link, for tests only."""

    def twin(plan, options, loaded=None):
        new, layout = randomise(plan, options, loaded)
        lines, _ = randomise(plan, options)
        placements = new.output_section(".text").placements
        wildcard = next(i for i, p in enumerate(placements) if p.ordered)
        named = {(p.files, p.sections) for p in placements[:wildcard]}
        text = lines.output_section(".text")
        units = [p for p in text.placements if (p.files, p.sections) in named]
        units += [p for p in text.placements if (p.files, p.sections) not in named]
        symbols = order.unique_symbols(loaded)
        in_text = {symbols.get(a.placed.key) for a in new.assignments if a.output == ".text"}
        in_text |= {pad.symbol for pad in new.pads}
        twin = new.replace_section(replace(text, placements=tuple(units)))
        kept = tuple(name for name in new.symbol_order if name not in in_text)
        return replace(twin, symbol_order=kept, pads=()), layout

    return twin


def test_padded_named_units_give_the_image_their_lines_give(module_build, zig, tmp_path, monkeypatch):
    start = module_build.asm("start.o", START)
    a = module_build.asm("a.o", shared_name_source("a", 20))
    b = module_build.asm("b.o", shared_name_source("b", 20))
    args = ["--ld", str(zig.ld), *(f"--input=//t:{p.stem}={p}" for p in (start, a, b)), "--seed=delta"]
    args.append("--aslr-padding=128")
    scripts: list[str] = []
    render = script.render
    monkeypatch.setattr(script, "render", lambda plan: scripts.append(render(plan)) or scripts[-1])
    assert main([*args, f"--output={tmp_path / 'ordered.elf'}", f"--manifest={tmp_path / 'k.json'}"]) == 0
    monkeypatch.setattr(aslr, "randomise", per_line_text(aslr.randomise))
    assert main([*args, f"--output={tmp_path / 'lines.elf'}"]) == 0

    assert json.loads((tmp_path / "k.json").read_text())["layout"]["named_units"]["text"] == 4
    # The named units keep their gaps on their lines; the others' are pads.
    assert ". += 0x" in scripts[0] and "KEEP(*(.text.unikernel_pad.*))" in scripts[0]
    assert "*(.text .text.*)" not in scripts[1]
    assert (tmp_path / "ordered.elf").read_bytes() == (tmp_path / "lines.elf").read_bytes()


def test_the_pads_object_reads_back_as_written():
    drawn = [pads.Pad(0, 16), pads.Pad(1, 4096), pads.Pad(7, 48)]
    data = pads.object_bytes(drawn)
    assert pads.object_bytes(drawn) == data  # the same pads, the same bytes
    origin = Origin(InputSpec("//t:pads", "pads.o", 0))
    file = read_object(data, origin)
    sections = {s.name: s for s in file.sections}
    for pad in drawn:
        section = sections[pad.section]
        assert (section.size, section.align, section.is_alloc, section.is_exec) == (pad.size, 1, True, True)
        (symbol,) = [s for s in file.symbols if s.name == pad.symbol]
        assert (symbol.binding, symbol.section_index, symbol.value, symbol.size) == (
            Binding.LOCAL,
            section.index,
            0,
            pad.size,
        )
    with ELFFile(io.BytesIO(data)) as elf:
        assert elf.get_section_by_name(".text.unikernel_pad.1").data() == b"\xcc" * 4096
    with pytest.raises(ValueError):
        pads.object_bytes([pads.Pad(0, 0)])


def test_many_pads_are_split_over_objects_with_the_same_image(module_build, zig, tmp_path, monkeypatch):
    kernel = module_build.asm("k.o", kernel_source(64))
    args = ["--ld", str(zig.ld), f"--input=//t:k={kernel}", "--seed=gamma", "--aslr-padding=128"]
    written: list[int] = []
    write = pads.write_objects
    monkeypatch.setattr(
        pads,
        "write_objects",
        lambda drawn, directory: written.append(len(write(drawn, directory))) or write(drawn, directory),
    )
    assert main([*args, f"--output={tmp_path / 'one.elf'}"]) == 0
    # At most 5 pads an object: the same sections in several files, the same order and bytes.
    monkeypatch.setattr(pads, "PER_OBJECT", 5)
    assert main([*args, f"--output={tmp_path / 'many.elf'}"]) == 0
    assert written[0] == 1 and written[1] >= 8
    assert (tmp_path / "one.elf").read_bytes() == (tmp_path / "many.elf").read_bytes()


RESERVED = """
    .section .text.boot,"ax",@progbits
    .globl _start_pvh
_start_pvh:
    call f0
    call f1
    hlt
    .section .text.f0,"ax",@progbits
    .globl f0
f0:
    ret
    .section .text.f1,"ax",@progbits
    .globl f1
f1:
    ret
"""


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('    .section .text.unikernel_pad.0,"ax",@progbits\n    ret\n', "section '.text.unikernel_pad.0'"),
        ("    .globl __unikernel_pad_0\n__unikernel_pad_0:\n    ret\n", "symbol '__unikernel_pad_0'"),
    ],
)
def test_inputs_may_not_use_the_pads_names(build, zig, capsys, extra, named):
    kernel = build.asm("k.o", RESERVED + extra)
    args = [
        "--ld",
        str(zig.ld),
        f"--input=//t:k={kernel}",
        f"--output={build.directory / 'k.elf'}",
        "--seed=a",
    ]
    assert main([*args, "--aslr-padding=4096"]) == 1
    error = capsys.readouterr().err
    assert named in error and "reserves" in error and "Traceback" not in error
    # Without padding the names mean nothing to the tool.
    assert main(args) == 0
