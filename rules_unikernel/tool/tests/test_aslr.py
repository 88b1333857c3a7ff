"""Compile-time layout randomisation: end to end on a kernel of many functions.

The kernel is 32-bit PVH code: ``_start_pvh`` sets up a stack and calls
f0, each fN adds the word in its own ``.rodata.vN`` (1) to %eax and calls
f(N+1), and the entry writes the sum to QEMU's isa-debug-exit port. So in
QEMU it exits with status 2 * FUNCTIONS + 1 exactly when every call and
every data reference was relocated right, in whatever layout.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from unikernel.link import aslr, verify
from unikernel.link.driver import main
from unikernel.link.errors import LinkError

FUNCTIONS = 48
WINDOW_END = 0x4000000


def kernel_source(count: int = FUNCTIONS) -> str:
    lines = [
        '    .section .text.boot,"ax",@progbits',
        "    .code32",
        "    .globl _start_pvh",
        "_start_pvh:",
        "    mov $stack_top, %esp",
        "    xor %eax, %eax",
        "    call f0",
        "    out %al, $0xf4",
        "1:  hlt",
        "    jmp 1b",
        '    .section .bss.stack,"aw",@nobits',
        "    .balign 16",
        "    .skip 4096",
        "stack_top:",
    ]
    for index in range(count):
        lines += [
            f'    .section .text.f{index},"ax",@progbits',
            "    .code32",
            f"    .globl f{index}",
            f"    .type f{index},@function",
            f"f{index}:",
            f"    add v{index}, %eax",
        ]
        if index + 1 < count:
            lines.append(f"    call f{index + 1}")
        lines += ["    ret", f'    .section .rodata.v{index},"a",@progbits', f"v{index}: .long 1"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Image:
    directory: Path

    @property
    def elf(self) -> Path:
        return self.directory / "k.elf"

    def outputs(self) -> list[Path]:
        return [self.directory / name for name in ("k.elf", "k.debug.elf", "k.map", "k.json")]

    def manifest(self) -> dict:
        return json.loads((self.directory / "k.json").read_text())

    def functions(self) -> dict[str, int]:
        with (self.directory / "k.debug.elf").open("rb") as stream:
            table = ELFFile(stream).get_section_by_name(".symtab")
            return {
                s.name: s["st_value"]
                for s in table.iter_symbols()
                if s.name.startswith("f") and s["st_info"]["type"] == "STT_FUNC"
            }

    def symbol(self, name: str) -> int:
        with (self.directory / "k.debug.elf").open("rb") as stream:
            return ELFFile(stream).get_section_by_name(".symtab").get_symbol_by_name(name)[0]["st_value"]

    def loads(self) -> list[tuple[int, int]]:
        with self.elf.open("rb") as stream:
            return [
                (s["p_vaddr"], s["p_memsz"])
                for s in ELFFile(stream).iter_segments()
                if s["p_type"] == "PT_LOAD"
            ]


@pytest.fixture(scope="module")
def kernel(module_build) -> Path:
    return module_build.asm("many.o", kernel_source())


@pytest.fixture(scope="module")
def link(kernel, zig, tmp_path_factory):
    made: dict[tuple[str, ...], Image] = {}

    def linked(*options: str, again: bool = False) -> Image:
        if options in made and not again:
            return made[options]
        directory = tmp_path_factory.mktemp("aslr")
        args = ["--ld", str(zig.ld), "--input", f"//t:many={kernel}", *options]
        for flag, name in (("--output", "k.elf"), ("--debug-output", "k.debug.elf"), ("--map", "k.map")):
            args += [flag, str(directory / name)]
        assert main([*args, "--manifest", str(directory / "k.json")]) == 0
        made.setdefault(options, Image(directory))
        return Image(directory)

    return linked


def test_none_is_the_plain_layout(link):
    default, none = link(), link("--seed", "none")

    for one, other in zip(default.outputs(), none.outputs(), strict=True):
        assert one.read_bytes() == other.read_bytes()
    addresses = none.functions()
    assert sorted(addresses, key=addresses.get) == [f"f{i}" for i in range(FUNCTIONS)]
    assert none.loads()[0][0] == 0x100000
    layout = none.manifest()["layout"]
    assert layout["seed"] == "none" and layout["randomised"] is False and layout["base"] == "0x100000"
    assert layout["shuffled_functions"] == 0
    assert {v for k, v in layout["entropy"].items() if k != "method"} == {0.0}


def test_same_seed_gives_identical_outputs(link):
    first = link("--seed", "alpha")
    second = link("--seed", "alpha", again=True)

    assert first.directory != second.directory
    for one, other in zip(first.outputs(), second.outputs(), strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


@pytest.mark.parametrize("seed", ["alpha", "beta", "gamma"])
def test_every_function_moves_against_none(link, seed):
    none, randomised = link().functions(), link("--seed", seed).functions()

    assert set(none) == set(randomised) == {f"f{i}" for i in range(FUNCTIONS)}
    assert all(none[name] != randomised[name] for name in none)


def test_two_seeds_differ_in_base_order_and_every_address(link):
    alpha, beta = link("--seed", "alpha"), link("--seed", "beta")
    a, b = alpha.functions(), beta.functions()

    assert alpha.manifest()["layout"]["base"] != beta.manifest()["layout"]["base"]
    assert sorted(a, key=a.get) != sorted(b, key=b.get)
    assert all(a[name] != b[name] for name in a)


@pytest.mark.parametrize("seed", ["alpha", "beta", "gamma"])
def test_base_is_page_aligned_inside_the_window_and_above_the_plain_image(link, seed):
    image = link("--seed", seed)
    layout = image.manifest()["layout"]
    loads = image.loads()
    base, bound = int(layout["base"], 16), layout["size_bound"]
    plain_end = max(start + size for start, size in link().loads())

    assert loads[0][0] == base == image.symbol("__text_start")
    assert base <= image.symbol("_start_pvh") < image.symbol("__text_end")
    assert base % 4096 == 0
    assert base >= 0x100000 + bound >= plain_end
    assert max(start + size for start, size in loads) <= base + bound <= WINDOW_END
    assert layout["window"] == {"start": "0x100000", "end": hex(WINDOW_END)}
    assert layout["bases"] == (WINDOW_END - bound - (0x100000 + bound)) // 4096 + 1


def _layout_of(image: Image) -> aslr.Randomisation:
    layout = image.manifest()["layout"]
    return aslr.Randomisation(
        seed=layout["seed"],
        base=int(layout["base"], 16),
        window_start=int(layout["window"]["start"], 16),
        window_end=int(layout["window"]["end"], 16),
        size_bound=layout["size_bound"],
        functions=layout["shuffled_functions"],
        padding_max=layout["padding_max"],
        bases=layout["bases"],
        entropy=aslr.Entropy(0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    )


def test_the_image_is_checked_against_its_bound_and_window(link):
    image = link("--seed", "alpha", "--aslr-padding", "128")
    info = verify.read_image(image.elf)
    layout = _layout_of(image)
    verify.check_window(info, layout, 4096)

    with pytest.raises(LinkError, match="internal consistency error: the image spans"):
        verify.check_window(info, replace(layout, size_bound=4096), 4096)
    with pytest.raises(LinkError, match="is not inside its load window"):
        verify.check_window(info, replace(layout, window_end=layout.base + 4096), 4096)
    with pytest.raises(LinkError, match="not at the chosen base"):
        verify.check_window(info, replace(layout, base=layout.base + 4096), 4096)


def test_entropy_is_reported(link):
    layout = link("--seed", "alpha", "--aslr-padding", "64").manifest()["layout"]
    entropy = layout["entropy"]
    order = math.lgamma(FUNCTIONS + 1) / math.log(2)

    assert layout["shuffled_functions"] == FUNCTIONS and layout["padding_max"] == 64
    assert entropy["order_bits"] == pytest.approx(order, abs=1e-4)
    assert entropy["order_bits_per_function"] == pytest.approx(order / FUNCTIONS, abs=1e-4)
    assert entropy["function_position_bits"] == pytest.approx(math.log2(FUNCTIONS), abs=1e-4)
    assert entropy["base_bits"] == pytest.approx(math.log2(layout["bases"]), abs=1e-4)
    assert entropy["padding_bits_per_function"] == pytest.approx(math.log2(5), abs=1e-4)
    assert entropy["padding_bits"] == pytest.approx(FUNCTIONS * math.log2(5), abs=1e-3)
    assert {"generator", "order", "padding", "base"} <= set(entropy["method"])


def test_padding_is_random_bounded_and_in_steps_of_16(link):
    plain = link("--seed", "alpha").functions()
    padded = link("--seed", "alpha", "--aslr-padding", "256").functions()
    order = sorted(padded, key=padded.get)
    gaps = []
    for first, second in pairwise(order):
        # The sections are byte aligned: without padding, functions abut.
        gaps.append((padded[second] - padded[first]) - (plain[second] - plain[first]))

    assert order == sorted(plain, key=plain.get)  # padding does not change the order
    assert all(gap % 16 == 0 and 0 <= gap <= 256 for gap in gaps)
    assert len(set(gaps)) > 5


def test_boot_code_moves_among_the_functions(link):
    # The entry's offset from the base is drawn too: over a few seeds the
    # boot code is not always first, and it stays one piece (no function
    # inside it).
    offsets = set()
    for seed in ("alpha", "beta", "gamma", "delta"):
        image = link("--seed", seed)
        entry = image.symbol("_start_pvh")
        offsets.add(entry - image.loads()[0][0])
        layout = image.manifest()["layout"]
        assert layout["entropy"]["entry_position_bits"] == pytest.approx(math.log2(FUNCTIONS + 1), abs=1e-4)
        assert image.manifest()["entry"]["address"] == hex(entry)
    assert len(offsets) > 1, offsets


def data_objects(image: Image) -> dict[str, int]:
    """Data object symbol (v0, v1, ... in .rodata.vN) -> address, from the debug twin."""
    with (image.directory / "k.debug.elf").open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in table.iter_symbols() if s.name.startswith("v")}


def test_data_objects_are_shuffled(link):
    plain = data_objects(link())
    alpha, beta = data_objects(link("--seed", "alpha")), data_objects(link("--seed", "beta"))
    plain_base = link().loads()[0][0]
    # Offsets from each image's own base: a shuffle, not only the base moving.
    offsets = [
        {name: address - base for name, address in objects.items()}
        for objects, base in (
            (plain, plain_base),
            (alpha, link("--seed", "alpha").loads()[0][0]),
            (beta, link("--seed", "beta").loads()[0][0]),
        )
    ]

    assert set(plain) == {f"v{i}" for i in range(FUNCTIONS)}
    assert sorted(plain, key=plain.get) == [f"v{i}" for i in range(FUNCTIONS)]
    assert sorted(alpha, key=alpha.get) != sorted(plain, key=plain.get)
    assert sorted(alpha, key=alpha.get) != sorted(beta, key=beta.get)
    assert offsets[1] != offsets[0] and offsets[1] != offsets[2]
    layout = link("--seed", "alpha").manifest()["layout"]
    assert layout["shuffled_objects"]["rodata"] == FUNCTIONS
    order = math.lgamma(FUNCTIONS + 1) / math.log(2)
    assert layout["entropy"]["rodata_order_bits"] == pytest.approx(order, abs=1e-4)


SECRET_A = bytes(range(32))
SECRET_B = bytes(range(1, 33))


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("secrets")
    files = {}
    for name, content in (("a", SECRET_A), ("b", SECRET_B)):
        files[name] = directory / f"{name}.key"
        files[name].write_bytes(content)
    return files


def test_secret_seed_keys_the_layout_and_stays_out_of_the_outputs(link, secrets):
    public = link("--seed", "alpha")
    first = link("--seed", "alpha", "--seed-file", str(secrets["a"]))
    again = link("--seed", "alpha", "--seed-file", str(secrets["a"]), again=True)
    other = link("--seed", "alpha", "--seed-file", str(secrets["b"]))

    for one, two in zip(first.outputs(), again.outputs(), strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name
    a, b, p = first.functions(), other.functions(), public.functions()
    assert sorted(a, key=a.get) != sorted(b, key=b.get)
    assert sorted(a, key=a.get) != sorted(p, key=p.get)
    assert first.manifest()["image"]["sha256"] != other.manifest()["image"]["sha256"]

    layout = first.manifest()["layout"]
    assert layout["seed_kind"] == "secret" and layout["seed"] == "alpha"
    assert len(layout["seed_id"]) == 64
    assert layout["seed_id"] != other.manifest()["layout"]["seed_id"]
    assert public.manifest()["layout"]["seed_kind"] == "public (given)"
    assert "seed_id" not in public.manifest()["layout"]
    for output in first.outputs():
        data = output.read_bytes()
        for form in (SECRET_A, SECRET_A.hex().encode(), SECRET_A.hex().upper().encode()):
            assert form not in data, output.name


def test_seed_origin_label_is_reported(link):
    layout = link("--seed", "//t:image", "--seed-origin", "label").manifest()["layout"]
    assert layout["seed_kind"] == "public (derived from the label)"


@pytest.mark.parametrize(
    "case",
    [
        (["--seed", "two words"], "--seed must be 1 to 1024 printable ASCII characters without spaces"),
        (["--seed", ""], "--seed must be 1 to 1024"),
        (
            ["--seed", "x", "--aslr-padding", "24"],
            "--aslr-padding must be a multiple of 16 between 0 and 4096",
        ),
        (["--aslr-padding", "32"], "--aslr-padding needs a --seed"),
        (
            ["--seed", "x", "--aslr-window-end", "0x100000"],
            "--aslr-window-end must be a multiple of 0x100000",
        ),
        (["--seed", "x", "--aslr-window-end", "0x80000000"], "and at most 0x40000000"),
        (["--seed", "x", "--seed-file", "{missing}"], "missing.key: no such file; make one with `head -c 32"),
        (["--seed", "x", "--seed-file", "{empty}"], "empty.key: the file is empty; make one with"),
        (["--seed", "x", "--seed-file", "{short}"], "short.key: 5 bytes, too few to be a secret"),
        (["--seed", "x", "--seed-file", "{dir}"], "a directory, not a file"),
        (["--seed-file", "{short}"], "short.key: 5 bytes"),
        (["--seed-file", "{good}"], "--seed-file needs a --seed: with --seed none the layout is not"),
        (["--seed", "x", "--seed-origin", "moon"], "argument --seed-origin: invalid choice"),
    ],
)
def test_bad_options(kernel, zig, tmp_path, capsys, case):
    options, message = case
    (tmp_path / "empty.key").write_bytes(b"")
    (tmp_path / "short.key").write_bytes(b"12345")
    (tmp_path / "good.key").write_bytes(SECRET_A)
    (tmp_path / "d").mkdir()
    names = {"missing": "missing.key", "empty": "empty.key", "short": "short.key", "dir": "d"}
    names["good"] = "good.key"
    options = [o.format(**{k: str(tmp_path / v) for k, v in names.items()}) for o in options]
    status = main(
        ["--ld", str(zig.ld), "--input", f"//t:many={kernel}", "--output", str(tmp_path / "k.elf"), *options]
    )

    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("unikernel-link: error: ") and message in err
    assert not (tmp_path / "k.elf").exists()


def test_image_too_large_for_the_window(module_build, zig, tmp_path, capsys):
    big = module_build.asm(
        "big.o", kernel_source(1) + '    .section .bss.big,"awR",@nobits\n    .skip 0x80000\n'
    )
    args = ["--ld", str(zig.ld), "--input", f"//t:big={big}", "--output", str(tmp_path / "k.elf")]

    assert main([*args, "--seed", "x", "--aslr-window-end", "0x200000"]) == 1
    assert "to lie wholly above the unrandomised image it needs a load window up to at least" in (
        capsys.readouterr().err
    )
    assert main([*args, "--seed", "x", "--aslr-window-end", "0x400000"]) == 0


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="QEMU is not installed")
@pytest.mark.parametrize(
    "options",
    [(), ("--seed", "alpha"), ("--seed", "beta", "--aslr-padding", "4096"), ("--seed", "boot-3")],
)
def test_randomised_image_boots_and_computes_the_same(link, options):
    image = link(*options)

    done = subprocess.run(
        [
            "qemu-system-x86_64",
            "-M",
            "microvm",
            "-accel",
            "tcg",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-serial",
            "none",
            "-m",
            "128",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel",
            str(image.elf),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2 * FUNCTIONS + 1, done.stderr
