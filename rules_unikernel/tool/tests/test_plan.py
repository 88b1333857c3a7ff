"""Section classification, the layout plan, notes and the rendered script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unikernel.link import notes
from unikernel.link.classify import Group, Role, classify
from unikernel.link.errors import LinkError
from unikernel.link.model import (
    SHF_ALLOC,
    SHF_EXCLUDE,
    SHF_EXECINSTR,
    SHF_TLS,
    SHF_WRITE,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PROGBITS,
    SHT_RELA,
    InputFile,
    InputSpec,
    Origin,
    Section,
)
from unikernel.link.plan import IMAGE_BASE, PAGE_SIZE, Placement, build_plan
from unikernel.link.script import joined, render

A, W, X = SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR
XEN_HEADER = Path("/usr/include/xen/elfnote.h")


def file_with(*sections: tuple[str, int, int]) -> InputFile:
    """An object with the given (name, type, flags) sections after the null section."""
    made = [Section(0, "", 0, 0, 0, 0)]
    made += [Section(i + 1, name, kind, flags, 8, 8) for i, (name, kind, flags) in enumerate(sections)]
    return InputFile(Origin(InputSpec("//pkg:lib", "obj.o", 0)), tuple(made), ())


def role_of(name: str, kind: int = SHT_PROGBITS, flags: int = A) -> Role:
    file = file_with((name, kind, flags))
    return classify(file, file.sections[1]).role


@pytest.mark.parametrize(
    ("name", "kind", "flags", "role"),
    [
        (".text.boot", SHT_PROGBITS, A | X, Role.BOOT),
        (".text.kmain", SHT_PROGBITS, A | X, Role.TEXT),
        (".rodata.str1.1", SHT_PROGBITS, A, Role.RODATA),
        (".data.rel.ro.table", SHT_PROGBITS, A | W, Role.DATA),
        (".bss.buffer", SHT_NOBITS, A | W, Role.BSS),
        ("COMMON", SHT_NOBITS, A | W, Role.BSS),
        (".init_array.101", 14, A | W, Role.INIT_ARRAY),
        (".note.app", SHT_NOTE, A, Role.NOTE),
        (".debug_info", SHT_PROGBITS, 0, Role.DEBUG),
        (".eh_frame", 0x70000001, A, Role.DISCARD),
        (".comment", SHT_PROGBITS, 0, Role.DISCARD),
        (".note.GNU-stack", SHT_PROGBITS, 0, Role.DISCARD),
        (".rela.text", SHT_RELA, 0, Role.IGNORE),
        (".llvm_addrsig", 0x6FFF4C03, SHF_EXCLUDE, Role.IGNORE),
        ("drivers", SHT_PROGBITS, A, Role.SET),
        (".initcalls", SHT_PROGBITS, A | W, Role.DATA),
    ],
)
def test_classification(name, kind, flags, role):
    assert role_of(name, kind, flags) == role


@pytest.mark.parametrize(
    ("name", "kind", "flags", "message"),
    [
        (
            ".text.evil",
            SHT_PROGBITS,
            A | W | X,
            "section '.text.evil' in //pkg:lib (obj.o) is writable and executable (W^X)",
        ),
        ("trampolines", SHT_PROGBITS, A | W | X, "is writable and executable (W^X)"),
        (".tbss.counter", SHT_NOBITS, A | W | SHF_TLS, "thread-local storage is not supported"),
        (
            ".rodata.table",
            SHT_PROGBITS,
            A | W,
            "section '.rodata.table' in //pkg:lib (obj.o) is rw- but its name says r--",
        ),
        (".note.Xen", SHT_NOTE, A, "the linker writes the Xen notes itself"),
        (".ctors", SHT_PROGBITS, A | W, "legacy constructors are not supported"),
        (".stab", SHT_PROGBITS, 0, "is neither loaded nor debug information"),
        (".odd name", SHT_PROGBITS, A, "the name cannot be used in a linker script"),
        (".text.odd*name", SHT_PROGBITS, A | X, "the name cannot be used in a linker script"),
        (".note.GNU-stack", SHT_PROGBITS, X, "asks for an executable stack (W^X)"),
        (".note.unikernel", SHT_NOTE, A, "the linker writes the seal note itself"),
    ],
)
def test_sections_without_a_place_are_errors(name, kind, flags, message):
    file = file_with((name, kind, flags))

    with pytest.raises(LinkError) as caught:
        classify(file, file.sections[1])
    assert message in caught.value.message


def placed_in(*files: InputFile, dropped=None):
    dropped = dropped or {}
    return tuple(
        classify(file, section)
        for file in files
        for section in file.sections
        if section.index not in dropped.get(file, frozenset())
    )


def plan_for(*files: InputFile, live=None):
    """A plan of ``files``; every section is live unless ``live`` (keys) says otherwise."""
    return build_plan(placed_in(*files), live, "_start_pvh", "demo")


def test_plan_groups_segments_and_symbols():
    plan = plan_for(file_with((".text.boot", SHT_PROGBITS, A | X), (".data.x", SHT_PROGBITS, A | W)))

    assert plan.base == IMAGE_BASE == 0x100000
    assert [g.group for g in plan.groups] == [Group.TEXT, Group.RODATA, Group.DATA, Group.BSS]
    assert [(s.name, s.kind, s.flags) for s in plan.segments] == [
        ("text", "PT_LOAD", 5),
        ("rodata", "PT_LOAD", 4),
        ("data", "PT_LOAD", 6),
        ("note", "PT_NOTE", 4),
        ("stack", "PT_GNU_STACK", 6),
    ]
    assert {
        "__text_start",
        "__text_end",
        "__rodata_start",
        "__rodata_end",
        "__data_start",
        "__data_end",
        "__bss_start",
        "__bss_end",
        "__image_end",
        "__init_array_start",
        "__init_array_end",
    } <= plan.defined_symbols()


def test_linker_sets_get_their_own_section_and_bounds():
    plan = plan_for(file_with(("drivers", SHT_PROGBITS, A), ("pools", SHT_NOBITS, A | W)))

    rodata = next(g for g in plan.groups if g.group == Group.RODATA)
    bss = next(g for g in plan.groups if g.group == Group.BSS)
    assert "drivers" in [s.name for s in rodata.sections]
    assert [s.name for s in bss.sections] == ["pools", ".bss"]
    assert {"__start_drivers", "__stop_drivers", "__start_pools", "__stop_pools"} <= plan.defined_symbols()
    assert "  drivers :\n  {\n    KEEP(obj.o(drivers))\n  } :rodata" in render(plan)


def test_unconventional_names_are_placed_by_flags():
    plan = plan_for(file_with((".initcalls", SHT_PROGBITS, A | W), (".vectors", SHT_PROGBITS, A | X)))
    script = render(plan)

    assert re.search(r"\.text :.*?obj\.o\(\.vectors\).*?\} :text", script, re.S)
    assert re.search(r"\.data :.*?obj\.o\(\.initcalls\).*?\} :data", script, re.S)


def test_same_name_with_different_flags_is_an_error():
    one = file_with((".special", SHT_PROGBITS, A | X))
    two = InputFile(
        Origin(InputSpec("//pkg:other", "two.o", 1)),
        (Section(0, "", 0, 0, 0, 0), Section(1, ".special", SHT_PROGBITS, A, 8, 8)),
        (),
    )

    with pytest.raises(
        LinkError,
        match=r"section '\.special' has different flags in //pkg:lib \(obj\.o\) and //pkg:other \(two\.o\)",
    ):
        plan_for(one, two)


def test_debug_sections_follow_the_inputs():
    plan = plan_for(file_with((".debug_line", SHT_PROGBITS, 0), (".debug_info", SHT_PROGBITS, 0)))

    assert [s.name for s in plan.unloaded] == [
        ".debug_info",
        ".debug_line",
        ".symtab",
        ".strtab",
        ".shstrtab",
    ]


def test_dropped_comdat_sections_are_not_placed():
    file = file_with((".text.inline", SHT_PROGBITS, A | W | X))

    plan = build_plan(placed_in(file, dropped={file: frozenset({1})}), None, "_start_pvh", "demo")

    assert plan.assignments == ()


def test_script_spells_the_layout():
    script = render(plan_for(file_with((".text.boot", SHT_PROGBITS, A | X))))

    assert "ENTRY(_start_pvh)" in script
    assert "text PT_LOAD FLAGS(5);" in script
    assert "stack PT_GNU_STACK FLAGS(6);" in script
    assert f". = {IMAGE_BASE:#x};" in script
    # Each permission group starts on its own page.
    assert script.count(f". = ALIGN({PAGE_SIZE});") == 5
    assert "KEEP(obj.o(.text.boot))" in script
    assert ".note.Xen (TYPE = SHT_NOTE) : ALIGN(4)" in script
    assert "} :rodata :note" in script
    assert "LONG(_start_pvh)" in script
    assert "/DISCARD/ : { *(.eh_frame)" in script
    bss = script[script.index("__bss_start = .;") :]
    assert bss.index(". = ALIGN(8);") < bss.index("__bss_end = .;")


def test_note_encoding():
    data = notes.encode(notes.Note(b"Xen", 7, b"demo\0"))

    assert {d.width for d in data} == {4}
    assert [d.value for d in data] == [
        4,
        5,
        7,
        int.from_bytes(b"Xen\0", "little"),
        int.from_bytes(b"demo", "little"),
        0,
    ]
    entry = notes.encode(notes.Note(b"Xen", 18, notes.SymbolAddress("_start_pvh")))
    assert entry[1] == notes.Datum(4, 4) and entry[-1] == notes.Datum(4, "_start_pvh")
    assert notes.Note(b"Xen", 7, b"demo\0").size == 24


def test_xen_notes_content():
    made = {n.type: n.desc for n in notes.xen_notes("demo", "_start_pvh")}

    assert made == {
        5: b"xen-3.0\0",
        6: b"rules_unikernel\0",
        7: b"demo\0",
        8: b"generic\0",
        18: notes.SymbolAddress("_start_pvh"),
    }


def test_pv_notes_content():
    made = {n.type: n.desc for n in notes.xen_notes("demo", "_start_pvh", pv=True)}

    assert made[18] == notes.SymbolAddress("_start_pvh")
    assert made[1] == (notes.Datum(8, "_start_pv"),)
    assert made[2] == (notes.Datum(8, "boot_hypercall_page"),)
    assert made[3] == made[4] == (notes.Datum(8, 0),)


@pytest.mark.parametrize("name", ["", "two words", "x" * 129, "tab\there"])
def test_bad_guest_names(name):
    with pytest.raises(LinkError, match="--guest-name"):
        notes.xen_notes(name, "_start_pvh")


@pytest.mark.skipif(not XEN_HEADER.exists(), reason="Xen headers (libxen-dev) not installed")
def test_note_numbers_match_xen_public_header():
    header = XEN_HEADER.read_text()

    def value(name: str) -> int:
        return int(re.search(rf"#define {name}\s+(\d+)", header).group(1))

    for name in (
        "XEN_ELFNOTE_ENTRY",
        "XEN_ELFNOTE_HYPERCALL_PAGE",
        "XEN_ELFNOTE_VIRT_BASE",
        "XEN_ELFNOTE_PADDR_OFFSET",
        "XEN_ELFNOTE_XEN_VERSION",
        "XEN_ELFNOTE_GUEST_OS",
        "XEN_ELFNOTE_GUEST_VERSION",
        "XEN_ELFNOTE_LOADER",
        "XEN_ELFNOTE_PHYS32_ENTRY",
    ):
        assert getattr(notes, name) == value(name), name


def text_file(name: str, functions: int) -> InputFile:
    """An object named ``name`` with ``functions`` text and rodata sections (-ffunction-sections)."""
    made = [Section(0, "", 0, 0, 0, 0)]
    for i in range(functions):
        made.append(Section(len(made), f".text.f{i}", SHT_PROGBITS, A | X, 8, 8))
        made.append(Section(len(made), f".rodata.f{i}", SHT_PROGBITS, A, 8, 8))
    return InputFile(Origin(InputSpec("//pkg:lib", name, 0)), tuple(made), ())


def test_one_files_sections_in_input_order_are_one_line():
    script = render(plan_for(text_file("obj.o", 3)))

    assert "    obj.o(.text.f*)\n" in script
    assert "    obj.o(.rodata.f*)\n" in script


def test_a_prefix_is_used_only_where_it_matches_nothing_else_lld_would_place():
    file = file_with(
        (".text.f1", SHT_PROGBITS, A | X),
        (".text.f2", SHT_PROGBITS, A | X),
        (".text.f3", SHT_PROGBITS, A | X),
        (".d1", SHT_PROGBITS, A | W),
        (".d2", SHT_PROGBITS, A | W),
        (".dx", SHT_NOBITS, A | W),
    )
    key = {section.name: (file, section.index) for section in file.sections}
    # .text.f3 is dead (lld's garbage collection removes it): the prefix may match it.
    plan = plan_for(file, live=frozenset(key[name] for name in key if name not in ("", ".text.f3")))
    script = render(plan)

    assert "    obj.o(.text.f*)\n" in script
    # .dx is live and goes to .bss, later in the script: ".d*" would take it.
    assert "    obj.o(.d1 .d2)\n" in script
    assert "    obj.o(.dx)\n" in script
    # Every section is live: .text.f3 is named, and a prefix still fits.
    assert "    obj.o(.text.f*)\n" in render(plan_for(file))


def test_script_lines_do_not_grow_with_sections():
    """lld matches each line against each input section: one line per section is quadratic."""

    def placement_lines(functions: int) -> list[str]:
        plan = plan_for(text_file("one.o", functions), text_file("two.o", functions))
        return [line for line in render(plan).splitlines() if "(" in line]

    # Neither more lines nor more names per line (lld tests each name against each section).
    assert placement_lines(1000) == placement_lines(10)


def test_lines_are_joined_only_where_lld_gives_the_same_order():
    def line(name: str, first: int, last: int | None = None, **fields) -> Placement:
        fields.setdefault("files", "a.o")
        return Placement((name,), exact=True, first=first, last=first if last is None else last, **fields)

    assert [p.sections for p in joined([line(".text.a", 1), line(".text.b", 2), line(".text.c", 5)])] == [
        (".text.a", ".text.b", ".text.c")
    ]
    # Sections of one name around another's (assembler unique ids): lld would interleave them.
    assert [p.sections for p in joined([line(".text.a", 1, 3), line(".text.b", 2)])] == [(".text.a",), (".text.b",)]
    # A later section first (a shuffled layout), another file, KEEP, padding between: apart.
    apart = [
        [line(".text.a", 2), line(".text.b", 1)],
        [line(".text.a", 1), line(".text.b", 2, files="b.o")],
        [line(".text.a", 1), line(".text.b", 2, keep=True)],
        [line(".text.a", 1), line(".text.b", 2, pad=64)],
        [line(".text.a", 1), Placement((".text.b",), exact=True)],
    ]
    for placements in apart:
        assert joined(placements) == placements
    assert joined([line(".text.a", 1, pad=64), line(".text.b", 2)])[0].pad == 64


def test_a_prefix_is_not_checked_against_many_more_sections_than_it_names():
    file = text_file("obj.o", 20)
    key = {section.name: (file, section.index) for section in file.sections}
    live = frozenset(key[name] for name in (".text.f0", ".text.f1", ".rodata.f0", ".rodata.f1"))
    # 18 dead .text.f* sections: the prefix would be right, but its check costs more than the names.
    assert "    obj.o(.text.f0 .text.f1)\n" in render(plan_for(file, live=live))
