"""Mark-live on hand-made section graphs (plain dataclasses, no compiler)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from unikernel.link.classify import classify_inputs
from unikernel.link.errors import LinkError
from unikernel.link.marklive import INIT_FINI, check_agreement, check_undefined, mark_live
from unikernel.link.model import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_GNU_RETAIN,
    SHF_LINK_ORDER,
    SHF_WRITE,
    SHN_COMMON,
    SHT_INIT_ARRAY,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PROGBITS,
    ArchiveInput,
    Binding,
    InputFile,
    InputSpec,
    Origin,
    Relocation,
    Section,
    SectionGroup,
    Symbol,
)
from unikernel.link.symtab import resolve

A, W, X = SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR
R_X86_64_PLT32 = 4
SCRIPT_SYMBOLS = frozenset({"__bss_start", "__bss_end", "__start_drivers", "__stop_drivers"})


@dataclass
class Obj:
    """Builds an InputFile: sections, symbols and relocations by name."""

    name: str
    position: int = 0
    member_of: str | None = None
    sections: list[Section] = field(default_factory=lambda: [Section(0, "", 0, 0, 0, 0)])
    symbols: list[Symbol] = field(default_factory=lambda: [Symbol(0, "", Binding.LOCAL, 0, 0, 0, 0)])
    relocations: list[Relocation] = field(default_factory=list)
    groups: list[SectionGroup] = field(default_factory=list)

    def section(
        self, name: str, flags: int = A | X, kind: int = SHT_PROGBITS, size: int = 16, link: str = ""
    ):
        index = len(self.sections)
        self.sections.append(Section(index, name, kind, flags, size, 16, self._index(link) if link else 0))
        # Every section gets its section symbol, as assemblers emit them.
        self._symbol(name, Binding.LOCAL, 3, index)
        return self

    def define(self, symbol: str, section: str, weak: bool = False, local: bool = False):
        binding = Binding.LOCAL if local else Binding.WEAK if weak else Binding.GLOBAL
        self._symbol(symbol, binding, 2, self._index(section))
        return self

    def common(self, symbol: str, size: int = 64):
        self.symbols.append(Symbol(len(self.symbols), symbol, Binding.GLOBAL, 1, SHN_COMMON, 8, size))
        return self

    def call(self, section: str, symbol: str, weak: bool = False):
        """A relocation in ``section`` to ``symbol`` (declared undefined if it is new)."""
        known = [s for s in self.symbols if s.name == symbol]
        if not known:
            self._symbol(symbol, Binding.WEAK if weak else Binding.GLOBAL, 0, 0)
            known = [self.symbols[-1]]
        self.relocations.append(Relocation(self._index(section), 0, R_X86_64_PLT32, known[0].index, -4))
        return self

    def group(self, signature: str, *sections: str, comdat: bool = True):
        self.groups.append(SectionGroup(signature, tuple(self._index(s) for s in sections), comdat))
        return self

    def build(self) -> InputFile:
        spec = InputSpec(f"//t:{self.name}", self.member_of or self.name, self.position)
        origin = Origin(spec, self.name if self.member_of else None)
        return InputFile(
            origin, tuple(self.sections), tuple(self.symbols), tuple(self.relocations), tuple(self.groups)
        )

    def _symbol(self, name: str, binding: Binding, kind: int, shndx: int) -> None:
        self.symbols.append(Symbol(len(self.symbols), name, binding, kind, shndx, 0, 0))

    def _index(self, section: str) -> int:
        return next(s.index for s in self.sections if s.name == section)


def start() -> Obj:
    return Obj("start.o").section(".text.boot").define("_start_pvh", ".text.boot")


def analyse(*inputs):
    resolution = resolve(inputs, "_start_pvh")
    placed = classify_inputs(resolution)
    liveness = mark_live(resolution, placed, ("_start_pvh", *INIT_FINI), SCRIPT_SYMBOLS)
    return resolution, liveness


def live(*inputs) -> set[str]:
    _, liveness = analyse(*inputs)
    return {f"{n.file.origin.file_name}:{n.section.name}" for n in liveness.nodes if n.key in liveness.live}


def dead(*inputs) -> set[str]:
    _, liveness = analyse(*inputs)
    return {f"{n.file.origin.file_name}:{n.section.name}" for n in liveness.dead()}


def test_chain_from_the_entry_is_live_and_the_rest_dead():
    main = start().section(".text.a").section(".text.b").section(".text.unused")
    main.define("a", ".text.a").define("b", ".text.b").define("unused", ".text.unused")
    main.call(".text.boot", "a").call(".text.a", "b")

    assert live(main.build()) == {"start.o:.text.boot", "start.o:.text.a", "start.o:.text.b"}
    assert dead(main.build()) == {"start.o:.text.unused"}


def test_chains_cross_files_through_global_symbols():
    main = start().call(".text.boot", "helper")
    lib = Obj("helper.o", position=1).section(".text.helper").section(".data.table", A | W)
    lib.define("helper", ".text.helper").define("table", ".data.table").call(".text.helper", "table")

    assert live(main.build(), lib.build()) == {
        "start.o:.text.boot",
        "helper.o:.text.helper",
        "helper.o:.data.table",
    }


def test_cycles_live_only_when_reachable():
    main = start().section(".text.c").section(".text.d").section(".text.x").section(".text.y")
    for name in "cdxy":
        main.define(name, f".text.{name}")
    main.call(".text.boot", "c").call(".text.c", "d").call(".text.d", "c")
    main.call(".text.x", "y").call(".text.y", "x")

    assert dead(main.build()) == {"start.o:.text.x", "start.o:.text.y"}
    assert {"start.o:.text.c", "start.o:.text.d"} <= live(main.build())


def test_referenced_only_from_dead_code_is_dead():
    main = (
        start()
        .section(".text.dead")
        .section(".rodata.only_dead", A)
        .section(".bss.only_dead", A | W, SHT_NOBITS)
    )
    main.define("dead_fn", ".text.dead").define("table", ".rodata.only_dead").define("buf", ".bss.only_dead")
    main.call(".text.dead", "table").call(".text.dead", "buf")

    assert dead(main.build()) == {"start.o:.text.dead", "start.o:.rodata.only_dead", "start.o:.bss.only_dead"}


def test_local_symbols_are_edges_too():
    main = start().section(".text.static_fn").define("static_fn", ".text.static_fn", local=True)
    main.call(".text.boot", "static_fn")

    assert live(main.build()) == {"start.o:.text.boot", "start.o:.text.static_fn"}


def test_weak_reference_to_a_defined_symbol_keeps_it_and_an_undefined_one_is_nothing():
    main = start().call(".text.boot", "hook", weak=True).call(".text.boot", "absent_hook", weak=True)
    impl = Obj("hook.o", position=1).section(".text.hook").define("hook", ".text.hook")

    assert live(main.build(), impl.build()) == {"start.o:.text.boot", "hook.o:.text.hook"}


def test_weak_definition_that_lost_is_dead():
    main = start().call(".text.boot", "f")
    weak = Obj("weak.o", position=1).section(".text.f").define("f", ".text.f", weak=True)
    strong = Obj("strong.o", position=2).section(".text.f").define("f", ".text.f")

    assert dead(main.build(), weak.build(), strong.build()) == {"weak.o:.text.f"}


def test_linker_sets_notes_arrays_and_retained_sections_are_roots():
    main = start().section("drivers", A).section(".text.probe").define("probe", ".text.probe")
    main.call("drivers", "probe")
    main.section(".init_array", A | W, SHT_INIT_ARRAY).section(".text.ctor").define("ctor", ".text.ctor")
    main.call(".init_array", "ctor")
    main.section(".note.app", A, SHT_NOTE)
    main.section(".text.kept", A | X | SHF_GNU_RETAIN)
    main.section(".text.unused")

    assert dead(main.build()) == {"start.o:.text.unused"}
    _, liveness = analyse(main.build())
    roots = {f"{f.origin.file_name}:{f.sections[i].name}" for f, i in liveness.roots}
    assert roots == {
        "start.o:.text.boot",
        "start.o:drivers",
        "start.o:.init_array",
        "start.o:.note.app",
        "start.o:.text.kept",
    }


def test_init_and_fini_symbols_are_roots_as_in_lld():
    main = start().section(".text._init").define("_init", ".text._init")

    assert live(main.build()) == {"start.o:.text.boot", "start.o:.text._init"}


def test_symbols_the_script_defines_are_not_followed_into_inputs():
    main = start().section(".bss.fake", A | W, SHT_NOBITS).define("__bss_start", ".bss.fake")
    main.call(".text.boot", "__bss_start")

    assert dead(main.build()) == {"start.o:.bss.fake"}


def test_section_groups_live_and_die_as_a_unit():
    main = start().call(".text.boot", "inl")
    main.section(".text.inl").section(".rodata.inl", A).section(".debug_inl", 0)
    main.define("inl", ".text.inl").group("inl", ".text.inl", ".rodata.inl", ".debug_inl")
    main.section(".text.other").section(".data.other", A | W).define("other", ".text.other")
    main.group("other", ".text.other", ".data.other")

    assert live(main.build()) == {
        "start.o:.text.boot",
        "start.o:.text.inl",
        "start.o:.rodata.inl",
        "start.o:.debug_inl",
    }
    assert dead(main.build()) == {"start.o:.text.other", "start.o:.data.other"}


def test_dead_group_takes_its_debug_member_along():
    main = (
        start()
        .section(".text.g")
        .section(".debug_g", 0)
        .define("g", ".text.g")
        .group("g", ".text.g", ".debug_g")
    )

    assert dead(main.build()) == {"start.o:.text.g", "start.o:.debug_g"}


def test_duplicate_comdat_copies_are_not_nodes():
    one = (
        start()
        .call(".text.boot", "inl")
        .section(".text.inl")
        .define("inl", ".text.inl")
        .group("inl", ".text.inl")
    )
    two = Obj("two.o", position=1).section(".text.inl").define("inl", ".text.inl").group("inl", ".text.inl")
    two.section(".text.two").define("two_fn", ".text.two")

    _, liveness = analyse(one.build(), two.build())
    names = {f"{n.file.origin.file_name}:{n.section.name}" for n in liveness.nodes}
    assert "two.o:.text.inl" not in names
    assert dead(one.build(), two.build()) == {"two.o:.text.two"}


def test_link_order_sections_follow_their_section():
    main = start().section(".text.f").define("f", ".text.f").section(".text.g").define("g", ".text.g")
    main.section("__patchable_function_entries", A | W | SHF_LINK_ORDER, link=".text.f")
    main.section(".meta_g", A | SHF_LINK_ORDER, link=".text.g")
    main.call(".text.boot", "f")

    assert dead(main.build()) == {"start.o:.text.g", "start.o:.meta_g"}
    assert "start.o:__patchable_function_entries" in live(main.build())


def test_common_symbols_are_live_when_referenced():
    main = start().common("used_buf").common("unused_buf").call(".text.boot", "used_buf")

    assert live(main.build()) == {"start.o:.text.boot", "start.o:COMMON"}
    assert dead(main.build()) == {"start.o:COMMON"}


def test_eh_frame_keeps_data_but_not_the_code_it_describes():
    main = start().section(".text.f").define("f", ".text.f").section(".gcc_except_table.f", A)
    main.section(".eh_frame", A, 0x70000001)
    main.call(".eh_frame", ".text.f").call(".eh_frame", ".gcc_except_table.f")

    assert dead(main.build()) == {"start.o:.text.f"}


def test_archive_members_are_nodes_once_loaded():
    main = start().call(".text.boot", "used")
    member = Obj("m.o", member_of="lib.a", position=1).section(".text.used").section(".text.spare")
    member.define("used", ".text.used").define("spare", ".text.spare")
    lib = ArchiveInput(InputSpec("//t:lib", "lib.a", 1), (member.build(),))

    assert dead(main.build(), lib) == {"lib.a:m.o:.text.spare"}


# The undefined-symbol check: only references from live sections count.


def test_undefined_symbol_in_dead_code_is_not_an_error():
    main = start().section(".text.dead").define("dead_fn", ".text.dead").call(".text.dead", "missing")
    resolution, liveness = analyse(main.build())

    check_undefined(liveness, resolution, SCRIPT_SYMBOLS.__contains__)


def test_undefined_symbol_in_live_code_names_symbol_and_referrer():
    main = start().call(".text.boot", "main").call(".text.boot", "other").call(".text.boot", "__bss_start")
    resolution, liveness = analyse(main.build())

    with pytest.raises(LinkError) as caught:
        check_undefined(liveness, resolution, SCRIPT_SYMBOLS.__contains__)
    assert caught.value.message == (
        "undefined symbol 'main' referenced by //t:start.o (start.o); 1 more undefined: 'other'"
    )


def test_weak_undefined_is_zero_unless_another_file_refers_to_it_strongly():
    main = start().call(".text.boot", "hook", weak=True)
    resolution, liveness = analyse(main.build())
    check_undefined(liveness, resolution, SCRIPT_SYMBOLS.__contains__)

    # lld's binding is strong once any loaded file refers without "weak",
    # even from code that is garbage-collected.
    other = Obj("other.o", position=1).section(".text.dead").define("dead_fn", ".text.dead")
    other.call(".text.dead", "hook")
    resolution, liveness = analyse(start().call(".text.boot", "hook", weak=True).build(), other.build())
    with pytest.raises(LinkError, match=r"undefined symbol 'hook' referenced by //t:start\.o"):
        check_undefined(liveness, resolution, SCRIPT_SYMBOLS.__contains__)


# Agreement with lld's report.


def test_agreement_accepts_the_same_sections_and_names_both_kinds_of_difference():
    main = start().section(".text.gone").define("gone", ".text.gone")
    _, liveness = analyse(main.build())

    check_agreement(liveness, Counter({("start.o", ".text.gone"): 1}))
    with pytest.raises(LinkError) as caught:
        check_agreement(liveness, Counter({("start.o", ".text.boot"): 1}), "k.elf")
    message = caught.value.message
    assert message.startswith(
        "internal consistency error while linking k.elf: the tool's mark-live pass and "
    )
    assert "lld removed start.o:(.text.boot), which the tool keeps" in message
    assert "lld kept start.o:(.text.gone), which the tool removes" in message
