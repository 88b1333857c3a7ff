"""End to end: link a tiny synthetic kernel and check the image with pyelftools."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.constants import P_FLAGS, SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_NOTE_N_TYPE

from unikernel.link.driver import main

BOOT_C = """
extern void kmain(void);
extern char __bss_start[], __bss_end[];
volatile unsigned long bss_bytes;

__attribute__((section(".text.boot"))) void _start_pvh(void) {
    bss_bytes = (unsigned long)(__bss_end - __bss_start);
    kmain();
    for (;;) {}
}
"""

APP_C = """
struct driver { const char *name; };
extern void console_write(const char *text);
extern const struct driver __start_drivers[], __stop_drivers[];

__attribute__((section("drivers"), used)) static const struct driver console = { "console" };
static const char greeting[] = "hello from the unikernel";
int boots = 1;
static char scratch[256];

/* Calls out of the unit, so the compiler cannot run it at compile time. */
__attribute__((constructor)) static void announce(void) { console_write(greeting); }

void kmain(void) {
    scratch[boots] = (char)(__stop_drivers - __start_drivers);
    console_write(scratch);
}
"""

CONSOLE_C = """
volatile const char *last_line;
void console_write(const char *text) { last_line = text; }
"""

UNUSED_C = """
int never_called(int x) { return x * 7; }
"""

BOOT32_S = """
    .section .text.boot,"ax"
    .code32
    .globl _start_pvh
_start_pvh:
    call report
1:  hlt
    jmp 1b
"""

REPORT32_S = """
    .section .text.report,"ax"
    .code32
    .globl report
report:
    mov $0x21, %al
    out %al, $0xf4      # isa-debug-exit: QEMU exits with (0x21 << 1) | 1
    ret
"""

LABELS = {
    "boot.a": "//libos/boot:boot",
    "app.o": "//app:main",
    "libconsole.a": "//drivers/console:console",
}
# The PV tests' boot archives (other names: the build directory is shared).
INPUT_LABELS = {**LABELS, "pv_boot.a": "//libos/boot:boot", "pv_only_boot.a": "//libos/boot:boot"}
PT_LOAD_FLAGS = [P_FLAGS.PF_R | P_FLAGS.PF_X, P_FLAGS.PF_R, P_FLAGS.PF_R | P_FLAGS.PF_W]


@dataclass(frozen=True)
class Linked:
    directory: Path
    image: Path
    debug: Path
    map: Path
    manifest: Path

    def outputs(self) -> list[Path]:
        return [self.image, self.debug, self.map, self.manifest]


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unikernel.link", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def kernel_inputs(module_build) -> list[Path]:
    start = module_build.c("start.o", BOOT_C)
    app = module_build.c("app.o", APP_C)
    console = module_build.c("console.o", CONSOLE_C)
    unused = module_build.c("unused.o", UNUSED_C)
    return [
        module_build.archive("boot.a", [start]),
        app,
        module_build.archive("libconsole.a", [console, unused]),
    ]


def link_in(
    directory: Path, inputs: list[Path], zig, env, absolute: bool
) -> tuple[Linked, subprocess.CompletedProcess]:
    """Copy the inputs into ``directory``/in and link there, as a Bazel action would."""
    (directory / "in").mkdir(parents=True)
    (directory / "out").mkdir()
    args = ["--ld", str(zig.ld), "--guest-name", "tiny"]
    for path in inputs:
        copy = directory / "in" / path.name
        shutil.copyfile(path, copy)
        shown = str(copy) if absolute else f"in/{path.name}"
        args += ["--input", f"{INPUT_LABELS[path.name]}={shown}"]
    linked = Linked(
        directory,
        directory / "out/tiny.elf",
        directory / "out/tiny.debug.elf",
        directory / "out/tiny.map",
        directory / "out/tiny.json",
    )
    args += ["--output", "out/tiny.elf", "--debug-output", "out/tiny.debug.elf"]
    args += ["--map", "out/tiny.map", "--manifest", "out/tiny.json"]
    return linked, run_cli(args, directory, env)


@pytest.fixture(scope="module")
def linked(kernel_inputs, zig, child_env, tmp_path_factory) -> Linked:
    result, done = link_in(tmp_path_factory.mktemp("first"), kernel_inputs, zig, child_env, absolute=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    return result


def elf(path: Path) -> ELFFile:
    return ELFFile(path.open("rb"))


def symbols(path: Path) -> dict[str, int]:
    table = elf(path).get_section_by_name(".symtab")
    return {s.name: s["st_value"] for s in table.iter_symbols() if s.name}


def xen_notes(path: Path) -> dict[int, bytes]:
    found = {}
    for segment in elf(path).iter_segments():
        if segment["p_type"] != "PT_NOTE":
            continue
        for note in segment.iter_notes():
            if note["n_name"] == "Xen":
                kind = note["n_type"]
                found[ENUM_NOTE_N_TYPE.get(kind, kind)] = note["n_descdata"]
    return found


def build_id(path: Path) -> str:
    section = elf(path).get_section_by_name(".note.gnu.build-id")
    return next(iter(section.iter_notes()))["n_desc"]


def test_segments_have_the_planned_permissions(linked):
    segments = list(elf(linked.image).iter_segments())
    loads = [s for s in segments if s["p_type"] == "PT_LOAD"]

    assert [s["p_flags"] for s in loads] == PT_LOAD_FLAGS
    assert loads[0]["p_vaddr"] == 0x100000
    for load in loads:
        assert load["p_vaddr"] == load["p_paddr"]
        assert load["p_vaddr"] % 4096 == 0
        assert load["p_align"] == 4096
    assert not [s for s in segments if s["p_flags"] & P_FLAGS.PF_W and s["p_flags"] & P_FLAGS.PF_X]
    stack = [s for s in segments if s["p_type"] == "PT_GNU_STACK"]
    assert len(stack) == 1 and stack[0]["p_flags"] == P_FLAGS.PF_R | P_FLAGS.PF_W
    notes = [s for s in segments if s["p_type"] == "PT_NOTE"]
    # The seal note opens the notes, on the first page of the rodata group.
    assert (
        len(notes) == 1
        and notes[0]["p_vaddr"]
        == elf(linked.image).get_section_by_name(".note.unikernel")["sh_addr"]
        == loads[1]["p_vaddr"]
    )
    assert notes[0]["p_align"] == 4


def test_sections_sit_in_segments_of_their_kind(linked):
    image = elf(linked.image)
    loads = [s for s in image.iter_segments() if s["p_type"] == "PT_LOAD"]

    def flags_of(name: str) -> int:
        section = image.get_section_by_name(name)
        return next(s["p_flags"] for s in loads if s.section_in_segment(section))

    rx, r, rw = PT_LOAD_FLAGS
    assert flags_of(".text") == rx
    assert flags_of(".note.Xen") == r
    assert flags_of(".rodata") == r
    assert flags_of("drivers") == r
    assert flags_of(".data") == rw
    assert flags_of(".init_array") == rw
    assert flags_of(".bss") == rw
    for section in image.iter_sections():
        if section["sh_flags"] & SH_FLAGS.SHF_ALLOC:
            assert not (
                section["sh_flags"] & SH_FLAGS.SHF_WRITE and section["sh_flags"] & SH_FLAGS.SHF_EXECINSTR
            )


def test_xen_notes_and_entry(linked):
    notes = xen_notes(linked.image)
    entry = elf(linked.image).header["e_entry"]

    assert notes[6] == b"rules_unikernel\0"
    assert notes[7] == b"tiny\0"
    assert notes[5] == b"xen-3.0\0"
    assert notes[8] == b"generic\0"
    assert int.from_bytes(notes[18], "little") == entry == symbols(linked.debug)["_start_pvh"] == 0x100000
    # No _start_pv among the inputs: a PVH-only image, without the PV notes.
    assert set(notes) == {5, 6, 7, 8, 18}


# The PV entry and the hypercall page in an archive member nothing refers
# to: the linker must pull it, as it pulls the entry.
PV_S = """
    .section .text.pv_entry,"ax"
    .code64
    .globl _start_pv
_start_pv:
    jmp _start_pv
    .section .text.hypercall_page,"ax"
    .balign 4096
    .globl boot_hypercall_page
boot_hypercall_page:
    .skip 4096, 0xcc
"""


def test_pv_notes_when_the_inputs_define_start_pv(module_build, zig, child_env, tmp_path):
    pv = module_build.asm("pv.o", PV_S)
    inputs = [module_build.archive("pv_boot.a", [module_build.c("start.o", BOOT_C), pv])]
    inputs += [
        module_build.c("app.o", APP_C),
        module_build.archive("libconsole.a", [module_build.c("console.o", CONSOLE_C)]),
    ]
    result, done = link_in(tmp_path, inputs, zig, child_env, absolute=False)

    assert done.returncode == 0, done.stderr
    notes, syms = xen_notes(result.image), symbols(result.debug)
    value = {kind: int.from_bytes(notes[kind], "little") for kind in (1, 2, 3, 4)}
    assert all(len(notes[kind]) == 8 for kind in (1, 2, 3, 4))
    assert value == {1: syms["_start_pv"], 2: syms["boot_hypercall_page"], 3: 0, 4: 0}
    assert syms["boot_hypercall_page"] % 4096 == 0
    # The PVH entry is unchanged, and still the ELF entry point.
    assert int.from_bytes(notes[18], "little") == elf(result.image).header["e_entry"] == syms["_start_pvh"]


def test_start_pv_without_a_hypercall_page_is_an_error(module_build, zig, child_env, tmp_path):
    pv = module_build.asm("pv_only.o", PV_S.split("    .section .text.hypercall_page", 1)[0])
    inputs = [module_build.archive("pv_only_boot.a", [module_build.c("start.o", BOOT_C), pv])]
    inputs += [
        module_build.c("app.o", APP_C),
        module_build.archive("libconsole.a", [module_build.c("console.o", CONSOLE_C)]),
    ]
    _, done = link_in(tmp_path, inputs, zig, child_env, absolute=False)

    assert done.returncode != 0
    assert "'_start_pv' is defined" in done.stderr and "'boot_hypercall_page' is not" in done.stderr


def test_linker_defined_symbols(linked):
    syms = symbols(linked.debug)
    image = elf(linked.debug)
    bss = image.get_section_by_name(".bss")
    drivers = image.get_section_by_name("drivers")

    assert syms["__text_start"] == 0x100000
    for name in ("__rodata_start", "__data_start", "__bss_start", "__image_end"):
        assert syms[name] % 4096 == 0, name
    assert syms["__bss_start"] == bss["sh_addr"]
    assert syms["__bss_end"] % 8 == 0
    assert syms["__bss_end"] >= bss["sh_addr"] + bss["sh_size"]
    assert syms["__image_end"] >= syms["__bss_end"]
    assert syms["__text_end"] <= syms["__rodata_start"] <= syms["__rodata_end"] <= syms["__data_start"]
    assert (syms["__start_drivers"], syms["__stop_drivers"]) == (
        drivers["sh_addr"],
        drivers["sh_addr"] + drivers["sh_size"],
    )
    assert syms["__init_array_end"] - syms["__init_array_start"] == 8


def test_only_needed_archive_members_are_linked(linked):
    syms = symbols(linked.debug)

    assert "console_write" in syms
    assert "never_called" not in syms


def test_stripped_and_debug_outputs_match(linked):
    image, debug = elf(linked.image), elf(linked.debug)

    assert image.get_section_by_name(".symtab") is None
    assert not [s.name for s in image.iter_sections() if s.name.startswith(".debug")]
    assert debug.get_section_by_name(".symtab") is not None
    assert debug.get_section_by_name(".debug_info") is not None
    assert build_id(linked.image) == build_id(linked.debug)
    assert len(build_id(linked.image)) == 40

    def loaded(file: ELFFile) -> dict[str, tuple[int, bytes]]:
        return {
            s.name: (s["sh_addr"], s.data() if s["sh_type"] != "SHT_NOBITS" else bytes(s["sh_size"]))
            for s in file.iter_sections()
            if s["sh_flags"] & SH_FLAGS.SHF_ALLOC
        }

    assert loaded(image) == loaded(debug)
    assert image.header["e_entry"] == debug.header["e_entry"]


def test_manifest(linked):
    text = linked.manifest.read_text()
    manifest = json.loads(text)

    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert str(linked.directory) not in text and "/tmp" not in text
    assert manifest["image"]["sha256"] == hashlib.sha256(linked.image.read_bytes()).hexdigest()
    assert manifest["image"]["build_id"] == build_id(linked.image)
    assert manifest["entry"] == {"symbol": "_start_pvh", "address": "0x100000"}
    assert [c["label"] for c in manifest["components"]] == list(LABELS.values())
    inputs = {c["label"]: [(i["file"], i["member"]) for i in c["inputs"]] for c in manifest["components"]}
    assert inputs == {
        "//libos/boot:boot": [("boot.a", "start.o")],
        "//app:main": [("app.o", None)],
        "//drivers/console:console": [("libconsole.a", "console.o")],
    }
    for component in manifest["components"]:
        assert component["size"] == sum(i["size"] for i in component["inputs"]) > 0
        for item in component["inputs"]:
            assert item["size"] == sum(s["size"] for s in item["sections"])
    boot_sections = manifest["components"][0]["inputs"][0]["sections"]
    assert {"name": ".text.boot", "output": ".text", "size": boot_sections[0]["size"]} in boot_sections
    loads = [s for s in manifest["segments"] if s["type"] == "PT_LOAD"]
    assert [s["permissions"] for s in loads] == ["r-x", "r--", "rw-"]
    assert loads[0]["address"] == "0x100000"


def test_map_is_path_independent(linked):
    text = linked.map.read_text()

    assert "in/boot.a(start.o):(.text.boot)" in text
    assert str(linked.directory) not in text
    assert "/tmp" not in text


def test_identical_inputs_give_identical_outputs(linked, kernel_inputs, zig, child_env, tmp_path_factory):
    # Another directory, and absolute input paths this time.
    again, done = link_in(tmp_path_factory.mktemp("second"), kernel_inputs, zig, child_env, absolute=True)
    assert done.returncode == 0, done.stderr

    for first, second in zip(linked.outputs(), again.outputs(), strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_no_temporary_files_are_left(linked):
    assert sorted(p.name for p in (linked.directory / "out").iterdir()) == [
        "tiny.debug.elf",
        "tiny.elf",
        "tiny.json",
        "tiny.map",
    ]


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="QEMU is not installed")
def test_image_boots_in_qemu(build, zig, child_env, tmp_path):
    boot = build.asm("boot32.o", BOOT32_S)
    lib = build.archive("libreport.a", [build.asm("report.o", REPORT32_S)])
    image = tmp_path / "boot.elf"
    done = run_cli(
        [
            "--ld",
            str(zig.ld),
            "--input",
            f"//t:boot={boot}",
            "--input",
            f"//t:report={lib}",
            "--output",
            str(image),
        ],
        tmp_path,
        child_env,
    )
    assert done.returncode == 0, done.stderr

    qemu = subprocess.run(
        [
            "qemu-system-x86_64",
            "-M",
            "microvm",
            "-accel",
            "tcg",
            "-nodefaults",
            "-display",
            "none",
            "-serial",
            "none",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel",
            str(image),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert qemu.returncode == 0x21 * 2 + 1, qemu.stderr


def test_summary_is_plain_text_off_a_terminal(kernel_inputs, zig, tmp_path, capsys):
    args = ["--ld", str(zig.ld), "--output", str(tmp_path / "k.elf"), "--summary"]
    for path in kernel_inputs:
        args += ["--input", f"{LABELS[path.name]}={path}"]

    assert main(args) == 0
    out = capsys.readouterr().out

    assert "PT_LOAD       r-x   0x100000" in out
    assert "//drivers/console:console" in out
    assert "\x1b[" not in out


def test_lld_places_one_lines_sections_in_input_order(build, zig, tmp_path):
    """script.joined relies on it: ``a.o(.text.c .text.a)`` gives a before c, as the input has them."""
    obj = build.c(
        "order",
        "void fa(void) { __asm__ volatile(\"nop\"); }\n"
        "void fb(void) { __asm__ volatile(\"nop\"); }\n"
        "void fc(void) { __asm__ volatile(\"nop\"); }\n",
    )
    script = tmp_path / "order.ld"
    script.write_text(
        "SECTIONS { . = 0x100000; .text : { "
        f"\"{obj}\"(.text.fc .text.fa) \"{obj}\"(.text.fb) }} }}\n"
    )
    image = tmp_path / "order.elf"
    done = subprocess.run(
        [str(zig.ld), "-T", str(script), "--entry=fa", "-o", str(image), str(obj)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with image.open("rb") as handle:
        symbols = ELFFile(handle).get_section_by_name(".symtab")
        address = {name: symbols.get_symbol_by_name(name)[0]["st_value"] for name in ("fa", "fb", "fc")}
    assert address["fa"] < address["fc"] < address["fb"]
