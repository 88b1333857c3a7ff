"""Mark-live against ld.lld on compiled inputs.

Every link already fails when the tool's live set and lld's
``--print-gc-sections`` differ; these tests feed it the cases that matter
(random reference graphs across objects and archive members, C features
that create roots) and check the result against an independent oracle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unikernel.link import driver, lld, marklive
from unikernel.link.driver import main

FEATURES_C = """
extern char __start_drivers[], __stop_drivers[];
typedef int (*hook_fn)(int);
__attribute__((weak)) int trace_hook(int x);
int shared_buffer[16];                       /* -fcommon: a COMMON symbol */
int undefined_but_dead(int x);               /* no input defines it: fine in dead code */
volatile int position;                       /* keeps the compiler from folding reads */

__attribute__((noinline)) static int helper(int x) { return x * 3 + position; }
__attribute__((noinline)) int used(int x) { return helper(x) + (trace_hook ? trace_hook(x) : 0); }
__attribute__((noinline)) int unused(int x) { return helper(x) - 1 + undefined_but_dead(x); }
__attribute__((retain, used)) int retained(void) { return 7; }
__attribute__((constructor)) static void ctor(void) { shared_buffer[position] = 1; }
__attribute__((noinline)) static int probe(int x) { return x + position; }
__attribute__((section("drivers"), used)) static const hook_fn registered = probe;
const char used_table[] = "used";
const char dead_table[] = "dead";
int _init(void) { return 9; }

__attribute__((section(".text.boot"))) void _start_pvh(void) {
    shared_buffer[1] = used(used_table[position]) + (int)(__stop_drivers - __start_drivers);
    for (;;) {}
}
__attribute__((noinline)) int dead_reader(void) { return dead_table[position]; }
"""

COMDAT_S = """
    .section .text.inl,"axG",@progbits,inl,comdat
    .globl inl
inl: ret
    .section .rodata.inl,"aG",@progbits,inl,comdat
    .byte 1
    .section .text.lonely,"axG",@progbits,lonely,comdat
    .globl lonely
lonely: ret
    .section .text.caller,"ax",@progbits
    .globl caller
caller: call inl
    ret
    .section .meta.caller,"ao",@progbits,.text.caller
    .quad 0
    .section .meta.lonely,"ao",@progbits,.text.lonely
    .quad 0
"""

BOOT_CALLS_S = """
    .section .text.boot,"ax",@progbits
    .globl _start_pvh
_start_pvh:
    call caller
1:  hlt
    jmp 1b
"""


def run_link(zig, tmp_path: Path, inputs: list[tuple[str, Path]], *extra: str) -> dict:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = ["--ld", str(zig.ld), "--output", str(out / "k.elf"), "--manifest", str(out / "k.json")]
    args += ["--debug-output", str(out / "k.debug.elf"), *extra]
    for label, path in inputs:
        args += ["--input", f"{label}={path}"]
    assert main(args) == 0
    return json.loads((out / "k.json").read_text())


def removed(manifest: dict) -> set[str]:
    return {
        f"{i['file']}:{i['member']}:{s['name']}" if i["member"] else f"{i['file']}:{s['name']}"
        for c in manifest["components"]
        for i in c["inputs"]
        for s in i["removed_sections"]
    }


@pytest.fixture(scope="module")
def features(module_build) -> Path:
    return module_build.c("features.o", FEATURES_C, flags=["-fcommon"])


def test_c_features_agree_with_lld(features, zig, tmp_path, capsys):
    obj = features

    manifest = run_link(zig, tmp_path, [("//t:features", obj)])

    assert capsys.readouterr().err == ""
    assert manifest["gc"]["lld_gc_agrees"] is True
    gone = {name.split(":")[-1] for name in removed(manifest)}
    assert {".text.unused", ".text.dead_reader", ".rodata.dead_table"} <= gone
    kept = {s["name"] for c in manifest["components"] for i in c["inputs"] for s in i["sections"]}
    assert {".text.used", ".text.retained", ".text._init", ".rodata.used_table", "drivers", "COMMON"} <= kept
    assert ".text.helper" in kept and ".text.probe" in kept and ".init_array" in kept


def test_comdat_and_link_order_agree_with_lld(build, zig, tmp_path):
    boot = build.asm("boot.o", BOOT_CALLS_S)
    groups = build.asm("groups.o", COMDAT_S)

    manifest = run_link(zig, tmp_path, [("//t:boot", boot), ("//t:groups", groups)])

    gone = {name.split(":")[-1] for name in removed(manifest)}
    assert {".text.lonely", ".meta.lonely"} <= gone
    assert not {".text.inl", ".rodata.inl", ".text.caller", ".meta.caller"} & gone


def _sabotage(monkeypatch, change) -> None:
    """Make mark-live wrong on purpose, to see the link refuse to continue."""
    real = marklive.mark_live

    def wrong(*args, **kwargs):
        liveness = real(*args, **kwargs)
        return change(liveness)

    monkeypatch.setattr(driver, "mark_live", wrong)


def _link_sabotaged(features, zig, tmp_path, monkeypatch, change) -> int:
    _sabotage(monkeypatch, change)
    out = tmp_path / "out"
    out.mkdir()
    status = main(["--ld", str(zig.ld), "--input", f"//t:f={features}", "--output", str(out / "k.elf")])
    assert list(out.iterdir()) == []
    return status


def test_tool_keeping_more_than_lld_fails_the_link(features, zig, tmp_path, capsys, monkeypatch):
    def keep_more(liveness):
        extra = next(n for n in liveness.dead() if n.section.name == ".text.dead_reader")
        return marklive.Liveness(liveness.nodes, liveness.live | {extra.key}, liveness.roots)

    assert _link_sabotaged(features, zig, tmp_path, monkeypatch, keep_more) == 1
    err = capsys.readouterr().err
    assert "internal consistency error while linking k.elf: the tool's mark-live pass and ld.lld's" in err
    assert "lld removed" in err and "(.text.dead_reader), which the tool keeps" in err


def test_tool_keeping_less_than_lld_fails_the_link(features, zig, tmp_path, capsys, monkeypatch):
    # The plan then leaves a section lld keeps unplaced: lld fails (an
    # orphan), and the disagreement is what gets reported.
    def keep_less(liveness):
        gone = next(n for n in liveness.nodes if n.section.name == ".text.used")
        return marklive.Liveness(liveness.nodes, liveness.live - {gone.key}, liveness.roots)

    assert _link_sabotaged(features, zig, tmp_path, monkeypatch, keep_less) == 1
    err = capsys.readouterr().err
    assert "internal consistency error while linking k.elf: the tool's mark-live pass and ld.lld's" in err
    assert "lld kept" in err and "(.text.used), which the tool removes" in err


# Random reference graphs: functions and data spread over objects and archive
# members, calls and pointers between them, some sections retained.

_FUNCTIONS = 10


@st.composite
def graphs(draw):
    owner = draw(st.lists(st.integers(0, 3), min_size=_FUNCTIONS, max_size=_FUNCTIONS))
    calls = [draw(st.sets(st.integers(0, _FUNCTIONS - 1), max_size=3)) for _ in range(_FUNCTIONS)]
    pointers = draw(st.sets(st.integers(0, _FUNCTIONS - 1), max_size=3))  # from .data.table
    table_used = draw(st.booleans())
    roots = draw(st.sets(st.integers(0, _FUNCTIONS - 1), min_size=1, max_size=3))
    retained = draw(st.sets(st.integers(0, _FUNCTIONS - 1), max_size=2))
    return owner, calls, pointers, table_used, roots, retained


def _sources(graph) -> list[str]:
    owner, calls, pointers, table_used, roots, retained = graph
    files = [[] for _ in range(4)]
    files[0].append('    .section .text.boot,"ax",@progbits\n    .globl _start_pvh\n_start_pvh:')
    files[0] += [f"    call f{r}" for r in sorted(roots)]
    if table_used:
        files[0].append("    movabs $table, %rax")
    files[0].append("    ret")
    files[0].append('    .section .data.table,"aw",@progbits\n    .globl table\ntable:')
    files[0] += [f"    .quad f{p}" for p in sorted(pointers)] or ["    .quad 0"]
    for index, calls_of in enumerate(calls):
        flags = "axR" if index in retained else "ax"
        body = [f'    .section .text.f{index},"{flags}",@progbits', f"    .globl f{index}", f"f{index}:"]
        body += [f"    call f{c}" for c in sorted(calls_of)]
        files[owner[index]] += [*body, "    ret"]
    return ["\n".join(lines) + "\n" for lines in files]


def _oracle(graph) -> set[str]:
    """Sections that must be removed: unreachable ones of loaded files."""
    owner, calls, pointers, table_used, roots, retained = graph
    # Files 0 and 1 are objects; 2 and 3 are members of one archive, loaded
    # when a loaded file calls a function they define.
    loaded = {0, 1}
    changed = True
    while changed:
        changed = False
        referenced = set(roots) | set(pointers)
        referenced |= {c for f in range(_FUNCTIONS) if owner[f] in loaded for c in calls[f]}
        for f in referenced:
            if owner[f] not in loaded:
                loaded.add(owner[f])
                changed = True
    live = set()
    work = [*roots, *(r for r in retained if owner[r] in loaded)]
    if table_used:
        work += list(pointers)
    while work:
        f = work.pop()
        if f not in live:
            live.add(f)
            work += list(calls[f])
    gone = {f".text.f{f}" for f in range(_FUNCTIONS) if owner[f] in loaded and f not in live}
    if not table_used:
        gone.add(".data.table")
    return gone


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graphs())
def test_random_graphs_agree_with_lld_and_the_oracle(module_build, zig, tmp_path_factory, graph):
    sources = _sources(graph)
    objects = [module_build.asm(f"g{i}.o", text) for i, text in enumerate(sources)]
    lib = module_build.archive("libg.a", objects[2:])

    manifest = run_link(
        zig,
        tmp_path_factory.mktemp("g"),
        [("//t:g0", objects[0]), ("//t:g1", objects[1]), ("//t:lib", lib)],
    )

    gone = {name.split(":")[-1] for name in removed(manifest)} - {".text", ".data", ".bss"}
    assert gone == _oracle(graph)
    assert manifest["gc"]["removed"] == len(removed(manifest))


@pytest.mark.parametrize(
    ("output", "printed_gc"),
    [
        ("ld.lld: error: k.o:(.text.f) is being placed in '.text.f'", True),
        ("removing unused section k.o:(.text.g)\nld.lld: error: undefined symbol: h", True),
        ("ld.lld: error: image.ld:3: unknown directive: FOO", False),
    ],
)
def test_lld_failures_say_whether_garbage_collection_ran(tmp_path, output, printed_gc):
    fake = tmp_path / "fake-ld"
    fake.write_text(f"#!/bin/sh\ncat >&2 <<'END'\n{output}\nEND\nexit 1\n")
    fake.chmod(0o755)
    job = lld.LinkJob(tmp_path / "k.ld", ("k.o",), tmp_path / "k.elf", "_start_pvh", "sha1", strip=True)

    report = lld.run(str(fake), job)

    assert report.printed_gc is printed_gc
    assert report.error is not None and report.error == output.splitlines()[-1].split("error: ", 1)[1]


CTORS_A_C = """
volatile int order[8]; volatile int next;
__attribute__((constructor(200))) static void a200(void) { order[next++] = 200; }
__attribute__((constructor)) static void a_default(void) { order[next++] = 65535; }
__attribute__((section(".text.boot"))) void _start_pvh(void) { for (;;) {} }
"""
CTORS_B_C = """
extern volatile int order[8]; extern volatile int next;
__attribute__((constructor(101))) static void b101(void) { order[next++] = 101; }
__attribute__((constructor)) static void b_default(void) { order[next++] = 65534; }
"""


def test_constructors_run_in_priority_order_across_files(build, zig, tmp_path):
    a = build.c("a.o", CTORS_A_C)
    b = build.c("b.o", CTORS_B_C)
    run_link(zig, tmp_path, [("//t:a", a), ("//t:b", b)])

    with (tmp_path / "out" / "k.debug.elf").open("rb") as stream:
        elf = ELFFile(stream)
        symbols = {s["st_value"]: s.name for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name}
        array = elf.get_section_by_name(".init_array").data()
    pointers = [int.from_bytes(array[i : i + 8], "little") for i in range(0, len(array), 8)]

    # Prioritized entries first, by priority across files, then the rest in input order.
    assert [symbols[p] for p in pointers] == ["b101", "a200", "a_default", "b_default"]
