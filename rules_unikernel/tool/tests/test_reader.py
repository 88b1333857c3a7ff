"""Reading relocatable objects (and archives of them) into the model."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unikernel.link.errors import LinkError
from unikernel.link.model import (
    SHN_COMMON,
    ArchiveInput,
    Binding,
    InputFile,
    InputSpec,
    Origin,
)
from unikernel.link.reader import load_input, read_object

KERNEL_C = """
extern int helper(int);
int counter = 3;
int zeroed;
const char banner[] = "hello";
__attribute__((section(".text.boot"))) void _start_pvh(void) {
    counter = helper(counter) + banner[counter];
    zeroed = 1;
    for (;;) {}
}
__attribute__((weak)) int optional_hook(void) { return 1; }
"""

R_X86_64_PLT32 = 4


def _origin(label: str = "//k:k", path: str = "k.o") -> Origin:
    return Origin(InputSpec(label, path, 0))


def _read(path) -> InputFile:
    return read_object(path.read_bytes(), _origin(path=path.name))


def _section(file: InputFile, name: str):
    return next(s for s in file.sections if s.name == name)


def _symbol(file: InputFile, name: str):
    return next(s for s in file.symbols if s.name == name)


@pytest.fixture(scope="module")
def kernel_object(module_build):
    return module_build.c("kernel.o", KERNEL_C)


def test_sections_have_names_flags_and_sizes(kernel_object):
    file = _read(kernel_object)

    boot = _section(file, ".text.boot")
    assert boot.is_alloc and boot.is_exec and not boot.is_write and boot.size > 0
    data = _section(file, ".data.counter")
    assert data.is_write and not data.is_exec and data.size == 4
    bss = _section(file, ".bss.zeroed")
    assert bss.is_nobits and bss.is_write
    assert not _section(file, ".rodata.banner").is_write
    assert not _section(file, ".debug_info").is_alloc


def test_symbols_carry_binding_and_definition(kernel_object):
    file = _read(kernel_object)

    start = _symbol(file, "_start_pvh")
    assert start.binding == Binding.GLOBAL
    assert file.sections[start.section_index].name == ".text.boot"
    assert _symbol(file, "helper").is_undefined
    assert _symbol(file, "optional_hook").binding == Binding.WEAK
    assert {"_start_pvh", "counter", "zeroed", "banner", "helper", "optional_hook"} <= {
        s.name for s in file.global_symbols()
    }


def test_relocations_point_at_their_section_and_symbol(kernel_object):
    file = _read(kernel_object)

    calls = [
        r
        for r in file.relocations
        if file.symbols[r.symbol].name == "helper" and file.sections[r.section].name == ".text.boot"
    ]
    assert calls
    assert calls[0].type == R_X86_64_PLT32
    assert calls[0].addend == -4


def test_common_symbols(build):
    file = _read(build.c("common.o", "int shared_counter;", flags=["-fcommon"]))

    symbol = _symbol(file, "shared_counter")
    assert symbol.shndx == SHN_COMMON and symbol.is_common and symbol.size == 4


def test_comdat_groups(build):
    source = """
        .section .text.inline_fn,"axG",@progbits,inline_fn,comdat
        .globl inline_fn
        inline_fn: ret
    """
    file = _read(build.asm("comdat.o", source))

    assert len(file.groups) == 1
    group = file.groups[0]
    assert group.signature == "inline_fn" and group.comdat
    assert [file.sections[i].name for i in group.sections] == [".text.inline_fn"]


def test_archive_members_get_their_own_origin(build):
    members = [
        build.c("one.o", "int one(void) { return 1; }"),
        build.c("two.o", "int two(void) { return 2; }"),
    ]
    archive = build.archive("libnum.a", members)

    loaded = load_input(InputSpec("//lib:num", str(archive), 3))

    assert isinstance(loaded, ArchiveInput)
    assert [m.origin.file_name for m in loaded.members] == ["libnum.a:one.o", "libnum.a:two.o"]
    assert loaded.members[1].describe() == "//lib:num (libnum.a:two.o)"
    assert loaded.members[1].origin.lld_name == f"{archive}(two.o)"


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(LinkError, match=r"^//x:y \(gone\.o\): cannot read .*gone\.o: No such file"):
        load_input(InputSpec("//x:y", str(tmp_path / "gone.o"), 0))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("aarch64-freestanding-none", "is an ELF object for AArch64, not x86-64"),
        ("x86-freestanding-none", "is a 32-bit ELF object, not ELF64 x86-64"),
    ],
)
def test_foreign_objects_are_refused(build, target, message):
    src = build.directory / "foreign.c"
    src.write_text("int f(void) { return 0; }\n")
    build.zig.run("cc", "-target", target, "-c", "foreign.c", "-o", "foreign.o", cwd=build.directory)

    with pytest.raises(LinkError) as caught:
        _read(build.directory / "foreign.o")
    assert caught.value.message == f"//k:k (foreign.o): {message}"


def test_linked_image_is_not_an_input(build):
    obj = build.asm("entry.o", ".globl _start\n_start: hlt\n")
    build.zig.run("ld.lld", "-static", "-o", "image.elf", obj.name, cwd=build.directory)

    with pytest.raises(LinkError, match=r"is an ELF executable, not a relocatable object \(\.o\)$"):
        _read(build.directory / "image.elf")


def test_text_file_is_not_an_input():
    with pytest.raises(LinkError, match=r"^//k:k \(k\.o\): not an ELF file"):
        read_object(b"just some text\n", _origin())


def test_truncated_object_is_reported(kernel_object):
    data = kernel_object.read_bytes()

    with pytest.raises(LinkError, match=r"truncated ELF file"):
        read_object(data[: len(data) // 2], _origin())


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_truncation_is_a_clear_error(kernel_object, data):
    whole = kernel_object.read_bytes()
    cut = data.draw(st.integers(min_value=0, max_value=len(whole) - 1))

    with pytest.raises(LinkError) as caught:
        read_object(whole[:cut], _origin())
    assert caught.value.message.startswith("//k:k (k.o): ")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_headers_never_crash(kernel_object, data):
    damaged = bytearray(kernel_object.read_bytes())
    header_bytes = list(range(64)) + list(range(len(damaged) - 64 * 8, len(damaged)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        damaged[data.draw(st.sampled_from(header_bytes))] = data.draw(st.integers(0, 255))

    try:
        read_object(bytes(damaged), _origin())
    except LinkError as error:
        assert error.message.startswith("//k:k (k.o): ")
