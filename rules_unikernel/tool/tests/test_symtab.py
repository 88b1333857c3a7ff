"""Symbol resolution on hand-made objects (plain dataclasses, no compiler)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unikernel.link.errors import LinkError
from unikernel.link.model import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHN_COMMON,
    SHT_PROGBITS,
    ArchiveInput,
    Binding,
    InputFile,
    InputSpec,
    Origin,
    Section,
    SectionGroup,
    Symbol,
)
from unikernel.link.symtab import resolve

TEXT = Section(1, ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, 16)
NULL = Section(0, "", 0, 0, 0, 0)


def _symbols(entries: Iterable[tuple[str, Binding, int, int]]) -> tuple[Symbol, ...]:
    null = Symbol(0, "", Binding.LOCAL, 0, 0, 0, 0)
    return (
        null,
        *(Symbol(i + 1, name, b, 0, shndx, 0, size) for i, (name, b, shndx, size) in enumerate(entries)),
    )


def obj(
    name: str,
    *,
    defines: Iterable[str] = (),
    refs: Iterable[str] = (),
    weak_defines: Iterable[str] = (),
    weak_refs: Iterable[str] = (),
    commons: dict[str, int] | None = None,
    label: str = "//t:t",
    member_of: str | None = None,
    position: int = 0,
    member_index: int = 0,
    groups: tuple[SectionGroup, ...] = (),
) -> InputFile:
    entries = [(n, Binding.GLOBAL, 1, 0) for n in defines]
    entries += [(n, Binding.WEAK, 1, 0) for n in weak_defines]
    entries += [(n, Binding.GLOBAL, 0, 0) for n in refs]
    entries += [(n, Binding.WEAK, 0, 0) for n in weak_refs]
    entries += [(n, Binding.GLOBAL, SHN_COMMON, size) for n, size in (commons or {}).items()]
    if member_of is None:
        origin = Origin(InputSpec(label, name, position))
    else:
        origin = Origin(InputSpec(label, member_of, position), name, member_index)
    return InputFile(origin, (NULL, TEXT), _symbols(entries), groups=groups)


def archive(path: str, *members: InputFile, label: str = "//t:lib", position: int = 1) -> ArchiveInput:
    return ArchiveInput(InputSpec(label, path, position), members)


def member(name: str, path: str = "lib.a", **kwargs) -> InputFile:
    return obj(name, member_of=path, **kwargs)


def loaded_names(inputs, entry: str = "_start_pvh") -> list[str]:
    return [f.origin.file_name for f in resolve(inputs, entry).loaded]


def test_member_is_pulled_only_when_it_defines_an_undefined_symbol():
    main = obj("start.o", defines=["_start_pvh"], refs=["kmain"])
    lib = archive("lib.a", member("kmain.o", defines=["kmain"]), member("unused.o", defines=["unused"]))

    assert loaded_names([main, lib]) == ["start.o", "lib.a:kmain.o"]


def test_pulled_members_pull_their_own_dependencies():
    main = obj("start.o", defines=["_start_pvh"], refs=["a"])
    lib = archive(
        "lib.a",
        member("c.o", defines=["c"]),
        member("a.o", defines=["a"], refs=["b"]),
        member("b.o", defines=["b"], refs=["c"]),
    )

    assert loaded_names([main, lib]) == ["start.o", "lib.a:a.o", "lib.a:b.o", "lib.a:c.o"]


def test_earlier_archive_still_satisfies_later_reference_like_lld():
    lib = archive("lib.a", member("helper.o", defines=["helper"]), position=0)
    main = obj("start.o", defines=["_start_pvh"], refs=["helper"], position=1)

    assert loaded_names([lib, main]) == ["start.o", "lib.a:helper.o"]


def test_entry_symbol_is_pulled_from_an_archive():
    boot = archive("boot.a", member("start.o", "boot.a", defines=["_start_pvh"]), member("other.o", "boot.a"))

    assert loaded_names([boot]) == ["boot.a:start.o"]


def test_entry_defined_by_object_after_archive_is_not_a_duplicate():
    boot = archive("boot.a", member("start.o", "boot.a", defines=["_start_pvh"]), position=0)
    main = obj("main.o", defines=["_start_pvh"], position=1)

    assert loaded_names([boot, main]) == ["main.o"]


def test_missing_entry_symbol():
    with pytest.raises(LinkError) as caught:
        resolve([obj("a.o", defines=["main"])], "_start_pvh")
    assert caught.value.message == "entry symbol '_start_pvh' is not defined by any input"


def test_weak_reference_does_not_pull_and_may_stay_undefined():
    main = obj("start.o", defines=["_start_pvh"], weak_refs=["trace_hook"])
    lib = archive("lib.a", member("trace.o", defines=["trace_hook"]))

    resolution = resolve([main, lib], "_start_pvh")

    assert [f.origin.file_name for f in resolution.loaded] == ["start.o"]
    assert resolution.undefined == ()


def test_strong_reference_after_weak_one_pulls():
    first = obj("start.o", defines=["_start_pvh"], weak_refs=["hook"], position=0)
    lib = archive("lib.a", member("hook.o", defines=["hook"]), position=1)
    second = obj("user.o", refs=["hook"], position=2)

    assert loaded_names([first, lib, second]) == ["start.o", "user.o", "lib.a:hook.o"]


def test_object_definition_seen_first_keeps_the_member_out():
    lib = archive("lib.a", member("alloc.o", defines=["malloc"]), position=0)
    own = obj("my_alloc.o", defines=["malloc"], position=1)
    user = obj("user.o", defines=["_start_pvh"], refs=["malloc"], position=2)

    assert loaded_names([lib, own, user]) == ["my_alloc.o", "user.o"]


def test_member_pulled_before_a_later_definition_is_a_duplicate_like_lld():
    lib = archive("lib.a", member("alloc.o", defines=["malloc"]), position=0)
    user = obj("user.o", defines=["_start_pvh"], refs=["malloc"], position=1)
    own = obj("my_alloc.o", defines=["malloc"], position=2)

    with pytest.raises(LinkError) as caught:
        resolve([lib, user, own], "_start_pvh")
    assert (
        caught.value.message
        == "duplicate symbol 'malloc' defined in //t:t (lib.a:alloc.o) and //t:t (my_alloc.o)"
    )


def test_duplicate_strong_definitions_name_both_files():
    a = obj("a.o", defines=["_start_pvh", "helper"], label="//app:a")
    d = obj("d.o", defines=["helper"], label="//lib:d", position=1)

    with pytest.raises(LinkError) as caught:
        resolve([a, d], "_start_pvh")
    assert caught.value.message == "duplicate symbol 'helper' defined in //app:a (a.o) and //lib:d (d.o)"


@pytest.mark.parametrize("order", [0, 1])
def test_strong_definition_beats_weak_in_either_order(order):
    weak = obj("weak.o", weak_defines=["hook"])
    strong = obj("strong.o", defines=["_start_pvh", "hook"])
    files = [weak, strong] if order == 0 else [strong, weak]

    resolution = resolve(files, "_start_pvh")

    assert resolution.definitions["hook"].file is strong


def test_commons_merge_to_the_largest_and_lose_to_a_definition():
    small = obj("small.o", defines=["_start_pvh"], commons={"buffer": 8, "table": 4})
    large = obj("large.o", commons={"buffer": 64})
    real = obj("real.o", defines=["table"])

    resolution = resolve([small, large, real], "_start_pvh")

    assert resolution.definitions["buffer"].file is large
    assert resolution.definitions["table"].file is real


def test_duplicate_comdat_copies_are_dropped_not_errors():
    group = SectionGroup("inline_fn", (1,), comdat=True)
    first = obj("a.o", defines=["_start_pvh", "inline_fn"], groups=(group,))
    second = obj("b.o", defines=["inline_fn"], groups=(group,))

    resolution = resolve([first, second], "_start_pvh")

    assert resolution.definitions["inline_fn"].file is first
    assert resolution.discarded == {second: frozenset({1})}


def test_strong_undefined_references_are_recorded_with_their_first_referrer():
    main = obj("start.o", defines=["_start_pvh"], refs=["a"], weak_refs=["w"])
    other = obj("other.o", refs=["a"], weak_refs=["b"], position=1)
    late = obj("late.o", refs=["b"], position=2)

    resolution = resolve([main, other, late], "_start_pvh")

    assert [(r.name, r.file.origin.file_name) for r in resolution.undefined] == [
        ("a", "start.o"),
        ("b", "late.o"),
    ]
    assert resolution.strongly_undefined() == {"a", "b"}


def test_members_load_depth_first_like_lld():
    # The archive comes first, so start.o's references pull as they are met:
    # a, then a's dependency b (before start.o's next reference), then c.
    lib = archive(
        "lib.a",
        member("c.o", defines=["c"]),
        member("a.o", defines=["a"], refs=["b"]),
        member("b.o", defines=["b"]),
        position=0,
    )
    main = obj("start.o", defines=["_start_pvh"], refs=["a", "c"], position=1)

    assert loaded_names([lib, main]) == ["start.o", "lib.a:a.o", "lib.a:b.o", "lib.a:c.o"]


def test_long_member_chains_do_not_recurse():
    count = 3000
    members = [member(f"m{i}.o", defines=[f"f{i}"], refs=[f"f{i + 1}"]) for i in range(count)]
    main = obj("start.o", defines=["_start_pvh"], refs=["f0"])

    assert len(resolve([main, archive("lib.a", *members)], "_start_pvh").loaded) == count + 1


# Property: on random symbol graphs, exactly the needed members are loaded.

_SYMBOLS = [f"s{i}" for i in range(8)]


@st.composite
def _graphs(draw):
    owners = draw(st.lists(st.integers(0, 5), min_size=len(_SYMBOLS), max_size=len(_SYMBOLS)))
    refs = [draw(st.sets(st.sampled_from(_SYMBOLS), max_size=3)) for _ in range(6)]
    weak = [draw(st.sets(st.sampled_from(_SYMBOLS), max_size=2)) for _ in range(6)]
    split = draw(st.integers(1, 3))  # files [0, split) are objects, the rest archive members
    return owners, refs, weak, split


@given(_graphs())
def test_loaded_members_are_exactly_the_needed_ones(graph):
    owners, refs, weak, split = graph
    files = []
    for index in range(6):
        defines = [s for s, owner in zip(_SYMBOLS, owners, strict=True) if owner == index]
        if index == 0:
            defines.append("_start_pvh")
        strong_refs = sorted(refs[index] - set(defines))
        weak_refs = sorted(weak[index] - set(defines) - set(strong_refs))
        if index < split:
            files.append(
                obj(f"o{index}.o", defines=defines, refs=strong_refs, weak_refs=weak_refs, position=index)
            )
        else:
            files.append(member(f"m{index}.o", defines=defines, refs=strong_refs, weak_refs=weak_refs))
    inputs = [*files[:split], archive("lib.a", *files[split:], position=split)]

    resolution = resolve(inputs, "_start_pvh")

    loaded = set(resolution.loaded)
    strong_refs_of_loaded = {
        s.name for f in loaded for s in f.global_symbols() if s.is_undefined and not s.is_weak
    }
    for file in files[split:]:
        defined_here = {s.name for s in file.global_symbols() if not s.is_undefined}
        if file in loaded:
            assert defined_here & strong_refs_of_loaded, f"{file.origin.file_name} was pulled without need"
        else:
            assert not defined_here & strong_refs_of_loaded, (
                f"{file.origin.file_name} was needed but not pulled"
            )
    defined = {s.name for f in loaded for s in f.global_symbols() if not s.is_undefined}
    assert {r.name for r in resolution.undefined} == strong_refs_of_loaded - defined
