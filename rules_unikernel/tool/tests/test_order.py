"""A randomised layout written as one ordered line per output section (link.order).

lld matches every script line against every input section: a shuffled
layout of one line per function is quadratic. These tests check, without
timing anything, that the script of a randomised layout does not grow with
the number of functions, that lld's symbol ordering gives exactly the
layout one line per unit gives, and what happens to the units that cannot
be ordered by a symbol.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tests.test_aslr import kernel_source
from unikernel.link import aslr, driver, script
from unikernel.link.driver import main


def prepared(zig, *inputs: Path, seed: str = "alpha") -> driver.Prepared:
    options = driver.parse_args(
        [
            "--ld",
            str(zig.ld),
            *(f"--input=//t:{path.stem}={path}" for path in inputs),
            "--output=unused.elf",
            f"--seed={seed}",
        ]
    )
    return driver.prepare(options)


def test_random_layout_script_does_not_grow_with_functions(module_build, zig):
    plans = {n: prepared(zig, module_build.asm(f"k{n}.o", kernel_source(n))).plan for n in (8, 400)}

    assert len(script.render(plans[8]).splitlines()) == len(script.render(plans[400]).splitlines())
    # The ordering file grows instead: 400 functions and their 400 objects, the boot code and its stack.
    assert [len(plans[n].symbol_order) for n in (8, 400)] == [2 * 8 + 2, 2 * 400 + 2]


def test_ordered_lines_give_the_image_one_line_per_unit_gives(module_build, zig, tmp_path, monkeypatch):
    kernel = module_build.asm("k.o", kernel_source(64))

    def link(directory: Path) -> bytes:
        directory.mkdir()
        args = ["--ld", str(zig.ld), "--input", f"//t:k={kernel}", "--seed", "beta"]
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
