"""Fuzz the input reader with damaged copies of real objects and archives.

Whatever the bytes, reading an --input ends in one of two ways: a parsed
input, or a LinkError whose message is one line naming the file. Any other
exception would reach the user as "internal error" (or, in a library caller,
as a traceback), so hypothesis shrinks it to a small reproducer.

Mutations are biased toward the bytes the reader interprets (headers,
section header table, symbol and relocation tables, archive member headers):
flipping bytes of machine code or DWARF only shows that lief ignores them.
Names are where the input meets the linker script, so the corpus holds
section and member names with script metacharacters and non-ASCII text, one
mutation writes such text over names, and a parsed input is also
classified: a name the script cannot hold must be refused in one line too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unikernel.link.archive import HEADER_SIZE, MAGIC, split_archive
from unikernel.link.classify import Role, classify
from unikernel.link.errors import LinkError
from unikernel.link.model import ArchiveInput, InputFile, InputSpec
from unikernel.link.plan import build_plan
from unikernel.link.reader import load_input
from unikernel.link.script import render

from .conftest import fuzz_examples
from .test_archive import gnu_archive
from .test_script_names import lld_tokens

# A corrupt input ends in one clean LinkError line: no stray warnings either.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SOURCE_C = """
extern int helper(int);
extern int table_sum(void);
int counter = 3;
int zeroed;
int shared_counter;
const char banner[] = "fuzz me";
static int (*const hooks[])(int) = { helper };
__attribute__((section(".text.boot"))) void _start_pvh(void) {
    counter = hooks[0](counter) + banner[counter] + table_sum();
    zeroed = shared_counter;
    for (;;) {}
}
__attribute__((weak)) int optional_hook(void) { return 1; }
__attribute__((section("drivers"), used)) static const int registered = 7;
"""
COMDAT_S = """
    .section .text.inline_fn,"axG",@progbits,inline_fn,comdat
    .globl inline_fn
inline_fn:
    call helper
    ret
"""
# Section names a linker script must not take as they are (non-alloc debug
# sections were written into it unchecked), and names that are merely unusual.
HOSTILE_S = """
    .section .text.boot,"ax"
    .globl _start_pvh
_start_pvh: hlt
    .section ".debug_x) } INCLUDE /etc/hostname /*", ""
    .byte 1
    .section ".text.é", "ax"
    .byte 0xc3
    .section "drivers²", "a"
    .byte 2
"""
# Written over names by the "text" mutation: script syntax, quotes, line
# breaks, non-ASCII (and invalid UTF-8).
NAME_TEXT = (
    b") } INCLUDE /etc/hostname",
    b'"',
    b"\n",
    b"/*",
    b"*?[",
    b"\xc3\xa9",
    b"\xc2\xb2",
    b"\xb2",
    b"\xf0\x9f\x99\x82",
    b"#1/\xc2\xb2",
    b"/\xc2\xb2",
)
LABEL = "//fuzz:input"
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SHT_INTERPRETED = {2, 3, 4, 9, 17, 18}  # symtab, strtab, rela, rel, group, symtab_shndx
_FUZZ = settings(
    max_examples=fuzz_examples(250),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Sample:
    """A real input file and the byte ranges the reader interprets."""

    name: str
    data: bytes
    hot: tuple[tuple[int, int], ...]

    def _repr_pretty_(self, printer, cycle) -> None:
        # How hypothesis prints a failing case: the mutations matter, not 4 KiB of bytes.
        printer.text(f"<{self.name}, {len(self.data)} bytes>")


def elf_hot_ranges(data: bytes, base: int = 0) -> list[tuple[int, int]]:
    """The ELF header, the section header table and the tables the reader decodes."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    (shnum,) = struct.unpack_from("<H", data, 0x3C)
    ranges = [(base, base + 64), (base + shoff, base + shoff + shnum * _SHDR.size)]
    for index in range(shnum):
        _, kind, _, _, offset, size, *_ = _SHDR.unpack_from(data, shoff + index * _SHDR.size)
        if kind in _SHT_INTERPRETED:
            ranges.append((base + offset, base + offset + min(size, 512)))
    return ranges


def archive_hot_ranges(data: bytes) -> list[tuple[int, int]]:
    ranges = [(0, len(MAGIC))]
    offset = len(MAGIC)
    while offset + HEADER_SIZE <= len(data):
        size = int(data[offset + 48 : offset + 58].decode().strip())
        body = offset + HEADER_SIZE
        ranges.append((offset, body))
        if data[body : body + 4] == b"\x7fELF":
            ranges += elf_hot_ranges(data[body : body + size], base=body)
        elif data[offset : offset + 2] == b"//":
            ranges.append((body, body + size))
        offset = body + size + (size & 1)
    return ranges


@pytest.fixture(scope="module")
def samples(module_build) -> dict[str, Sample]:
    obj = module_build.c("sample.o", SOURCE_C, flags=["-fcommon"])
    comdat = module_build.asm("comdat.o", COMDAT_S)
    member = module_build.c("a_member_with_a_long_name.o", "int table_sum(void) { return 42; }")
    lib = module_build.archive("libfuzz.a", [comdat, member])
    obj_data, lib_data = obj.read_bytes(), lib.read_bytes()
    hostile = module_build.asm("hostile.o", HOSTILE_S).read_bytes()
    # Member names with spaces, parentheses and non-ASCII text: legal, quoted in the script.
    odd = gnu_archive([("mé (1).o", hostile), ("a member named ² with a long name.o", comdat.read_bytes())])
    return {
        "object": Sample("sample.o", obj_data, tuple(elf_hot_ranges(obj_data))),
        "archive": Sample("libfuzz.a", lib_data, tuple(archive_hot_ranges(lib_data))),
        "hostile": Sample("hostile.o", hostile, tuple(elf_hot_ranges(hostile))),
        "odd archive": Sample("libodd.a", odd, tuple(archive_hot_ranges(odd))),
    }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


Op = tuple[str, int, int]
"""A mutation: (kind, file offset, argument); a tuple, so a failing case prints short."""


@st.composite
def mutations(draw: st.DrawFn, sample: Sample) -> tuple[Op, ...]:
    """One to four truncations, byte changes or splices of ``sample``."""

    def position() -> int:
        if draw(st.booleans()):
            start, end = draw(st.sampled_from(sample.hot))
            return draw(st.integers(start, max(start, end - 1)))
        return draw(st.integers(0, len(sample.data) - 1))

    ops = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["truncate", "byte", "bit", "word", "splice", "insert", "delete", "text"])
        )
        if kind == "text":
            argument = draw(st.integers(0, len(NAME_TEXT) - 1))
        elif kind == "byte":
            argument = draw(st.integers(0, 255))
        elif kind == "bit":
            argument = draw(st.integers(0, 7))
        elif kind == "word":
            # Sizes, offsets, counts and indices are words: extreme values find unchecked arithmetic.
            argument = draw(st.sampled_from([0, 1, 0x7F, 0xFF, 0xFFFF, 0xFF00, 0xFFF1, 2**31, 2**32 - 1]))
        elif kind in ("splice", "insert"):
            argument = draw(st.integers(0, 2**20))  # where in the donor, and (low bits) how much
        else:
            argument = draw(st.integers(1, 128))
        ops.append((kind, position(), argument))
    return tuple(ops)


def apply(data: bytes, ops: tuple[Op, ...], donor: bytes) -> bytes:
    out = bytearray(data)
    for kind, wanted, argument in ops:
        at = min(wanted, len(out))
        if kind == "truncate":
            del out[at:]
        elif kind == "byte":
            out[at : at + 1] = bytes([argument])
        elif kind == "bit":
            out[at : at + 1] = bytes([(out[at] if at < len(out) else 0) ^ (1 << argument)])
        elif kind == "word":
            out[at : at + 4] = argument.to_bytes(4, "little")
        elif kind == "text":
            text = NAME_TEXT[argument]
            out[at : at + len(text)] = text
        elif kind in ("splice", "insert"):
            start = (argument >> 8) % len(donor)
            chunk = donor[start : start + (argument & 0xFF) + 1]
            out[at : at if kind == "insert" else at + len(chunk)] = chunk
        else:
            del out[at : at + argument]
    return bytes(out)


def check_outcome(path: Path, label: str, data: bytes) -> None:
    """Read ``data`` as an --input: a parsed input or a one-line LinkError naming the file."""
    path.write_bytes(data)
    try:
        result = load_input(InputSpec(label, str(path), 0))
    except LinkError as error:
        assert "\n" not in error.message
        assert error.message.startswith(f"{label} ({path.name}"), error.message
        return
    assert isinstance(result, InputFile | ArchiveInput)
    files = result.members if isinstance(result, ArchiveInput) else (result,)
    placed = []
    for file in files:
        for section in file.sections:
            try:
                placed.append(classify(file, section))
            except LinkError as error:
                assert "\n" not in error.message
                assert f"{label} ({path.name}" in error.message, error.message
    # What was accepted is written into the script as single tokens.
    try:
        tokens = lld_tokens(render(build_plan(placed, None, "_start_pvh", "fuzz")))
    except LinkError as error:
        assert "\n" not in error.message  # e.g. one section name with two sets of flags
        return
    # A run of one file's sections may be one ``prefix*`` token (script.joined).
    prefixes = tuple(token[:-1] for token in tokens if len(token) > 1 and token.endswith("*"))
    for item in placed:
        if item.group is not None or item.role == Role.DEBUG:
            assert item.section.name in tokens or item.section.name.startswith(prefixes)


@_FUZZ
@given(st.data())
def test_damaged_object_is_read_or_refused_in_one_line(samples, scratch, data):
    sample = samples["object"]
    damaged = apply(sample.data, data.draw(mutations(sample)), samples["archive"].data)

    check_outcome(scratch / sample.name, LABEL, damaged)


@_FUZZ
@given(st.data())
def test_damaged_archive_is_read_or_refused_in_one_line(samples, scratch, data):
    sample = samples["archive"]
    damaged = apply(sample.data, data.draw(mutations(sample)), samples["object"].data)

    check_outcome(scratch / sample.name, "//fuzz:lib", damaged)


@_FUZZ
@given(st.data())
def test_damaged_archive_splits_or_is_refused_in_one_line(samples, data):
    sample = samples["archive"]
    damaged = apply(sample.data, data.draw(mutations(sample)), samples["object"].data)

    try:
        members = split_archive(damaged, "//fuzz:lib (libfuzz.a)")
    except LinkError as error:
        assert "\n" not in error.message
        assert error.message.startswith("//fuzz:lib (libfuzz.a): ")
        return
    assert all(member.name for member in members)


def test_the_samples_are_read_whole(samples, scratch):
    # The mutations start from valid inputs: otherwise every case is an early refusal.
    for sample, label in ((samples["object"], LABEL), (samples["archive"], "//fuzz:lib")):
        path = scratch / sample.name
        path.write_bytes(sample.data)
        loaded = load_input(InputSpec(label, str(path), 0))
        assert isinstance(loaded, InputFile | ArchiveInput)
    archive = load_input(InputSpec("//fuzz:lib", str(scratch / "libfuzz.a"), 0))
    assert [m.origin.member for m in archive.members] == ["comdat.o", "a_member_with_a_long_name.o"]
    assert len(samples["object"].hot) > 4 and len(samples["archive"].hot) > 6


def _sections(data: bytes) -> list[tuple[str, int, int, int]]:
    """(name, file offset, size, link) of every section of a little-endian ELF64 object."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
    headers = [_SHDR.unpack_from(data, shoff + i * _SHDR.size) for i in range(shnum)]
    names = headers[shstrndx][4]
    return [
        (data[names + name : data.index(b"\0", names + name)].decode(), offset, size, link)
        for name, _, _, _, offset, size, link, *_ in headers
    ]


def _section_offset(data: bytes, wanted: str) -> int:
    return next(offset for name, offset, _, _ in _sections(data) if name == wanted)


def _symbol_offset(data: bytes, wanted: str) -> int:
    """File offset of the symbol table entry of ``wanted``."""
    sections = _sections(data)
    _, offset, size, link = next(s for s in sections if s[0] == ".symtab")
    strings = sections[link][1]
    for entry in range(offset, offset + size, 24):
        (name,) = struct.unpack_from("<I", data, entry)
        if data[strings + name : data.index(b"\0", strings + name)] == wanted.encode():
            return entry
    raise AssertionError(f"no symbol {wanted}")


# The smallest inputs the fuzzer found that crash the reader (lief hands back
# a plain int, not an enum, for values it does not know): one field of a real
# object, each. Expected: read, or refused in one line naming the file.
@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(lambda d: (_section_offset(d, ".rela.text.boot") + 8, 0xFF), id="relocation-type-255"),
        pytest.param(lambda d: (_symbol_offset(d, "_start_pvh") + 4, 0x32), id="symbol-binding-3"),
        pytest.param(lambda d: (_symbol_offset(d, "_start_pvh") + 4, 0x17), id="symbol-type-7"),
    ],
)
def test_unknown_field_values_are_read_or_refused_in_one_line(samples, scratch, patch):
    data = bytearray(samples["object"].data)
    at, value = patch(bytes(data))
    data[at] = value

    check_outcome(scratch / "sample.o", LABEL, bytes(data))


@_FUZZ
@given(st.data())
def test_damaged_hostile_names_are_read_or_refused_in_one_line(samples, scratch, data):
    for name, label in (("hostile", LABEL), ("odd archive", "//fuzz:odd")):
        sample = samples[name]
        damaged = apply(sample.data, data.draw(mutations(sample)), samples["object"].data)

        check_outcome(scratch / sample.name, label, damaged)


def test_the_hostile_samples_are_read_and_refused_by_name(samples, scratch):
    path = scratch / "hostile.o"
    path.write_bytes(samples["hostile"].data)
    loaded = load_input(InputSpec(LABEL, str(path), 0))
    refused = []
    for section in loaded.sections:
        try:
            classify(loaded, section)
        except LinkError as error:
            refused.append(error.message.split(": the name")[0])
    assert refused == [
        "section '.debug_x) } INCLUDE /etc/hostname /*' in //fuzz:input (hostile.o)",
        "section '.text.é' in //fuzz:input (hostile.o)",
        "section 'drivers²' in //fuzz:input (hostile.o)",
    ]
    odd = scratch / "libodd.a"
    odd.write_bytes(samples["odd archive"].data)
    archive = load_input(InputSpec("//fuzz:odd", str(odd), 0))
    assert [m.origin.member for m in archive.members] == ["mé (1).o", "a member named ² with a long name.o"]
