"""The per-component report: bytes in, kept and removed by group; removed and largest functions.

Expected numbers are computed here from the objects themselves (pyelftools)
and from what the sources make dead, not from the linker's data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from unikernel.link.driver import main

ENTRY_C = """
extern int app_main(void);
__attribute__((section(".text.boot"))) void _start_pvh(void) { app_main(); for (;;) {} }
"""
APP_C = """
extern int lib_used(int);
volatile int app_counter = 1;          /* .data, live */
volatile int app_spare = 2;            /* .data, dead */
static volatile char app_buffer[512];  /* .bss, live */
volatile char app_unused_buffer[256];  /* .bss, dead */
const char app_text[] = "live";        /* .rodata, live */
const char app_dead_text[] = "dead";   /* .rodata, dead */

__attribute__((noinline)) int app_helper(int x) { return x + app_text[app_counter]; }
__attribute__((noinline)) int app_unused(int x) {
    return x * app_spare + app_dead_text[x] + app_unused_buffer[x];
}
__attribute__((noinline)) int app_also_unused(void) { return 3; }
int app_main(void) { app_buffer[app_counter] = 1; return app_helper(lib_used(app_counter)); }
"""
LIB_USED_C = """
volatile int lib_table[64];  /* .bss, dead: only lib_dead uses it */
__attribute__((noinline)) int lib_used(int x) { return x + 1; }
__attribute__((noinline)) int lib_dead(int x) { return lib_table[x]; }
"""
LIB_UNPULLED_C = """
int lib_never(int x) { return x * 5; }
"""
GROUPS = ("text", "rodata", "data", "bss")
DEAD = {
    "app.o": {
        ".text.app_unused",
        ".text.app_also_unused",
        ".data.app_spare",
        ".rodata.app_dead_text",
        ".bss.app_unused_buffer",
        ".text",
    },
    "used.o": {".text.lib_dead", ".bss.lib_table", ".text"},
    "entry.o": {".text"},
}


def group_of(section) -> str | None:
    flags = section["sh_flags"]
    if not flags & 0x2:  # SHF_ALLOC
        return None
    name = section.name
    if name in (".eh_frame", ".note.GNU-stack") or name.startswith(".note"):
        return None
    if flags & 0x4:
        return "text"
    if section["sh_type"] == "SHT_NOBITS":
        return "bss"
    return "data" if flags & 0x1 else "rodata"


def expected_bytes(path: Path, member: str) -> dict[str, dict[str, int]]:
    totals = {kind: dict.fromkeys(GROUPS, 0) for kind in ("in", "kept", "removed")}
    with path.open("rb") as stream:
        for section in ELFFile(stream).iter_sections():
            group = group_of(section)
            if group is None:
                continue
            size = section["sh_size"]
            totals["in"][group] += size
            totals["removed" if section.name in DEAD[member] else "kept"][group] += size
    for values in totals.values():
        values["total"] = sum(values.values())
    return totals


@pytest.fixture(scope="module")
def report(module_build, zig, tmp_path_factory) -> tuple[dict, dict[str, Path]]:
    objects = {
        "entry.o": module_build.c("entry.o", ENTRY_C),
        "app.o": module_build.c("app.o", APP_C),
        "used.o": module_build.c("used.o", LIB_USED_C),
    }
    lib = module_build.archive("liblib.a", [objects["used.o"], module_build.c("unpulled.o", LIB_UNPULLED_C)])
    out = tmp_path_factory.mktemp("usage")
    args = ["--ld", str(zig.ld), "--output", str(out / "k.elf"), "--manifest", str(out / "k.json")]
    args += ["--input", f"//boot:entry={objects['entry.o']}", "--input", f"//app:app={objects['app.o']}"]
    args += ["--input", f"//lib:lib={lib}"]
    assert main(args) == 0
    return json.loads((out / "k.json").read_text()), objects


def component(manifest: dict, label: str) -> dict:
    return next(c for c in manifest["components"] if c["label"] == label)


@pytest.mark.parametrize(
    ("label", "member"), [("//boot:entry", "entry.o"), ("//app:app", "app.o"), ("//lib:lib", "used.o")]
)
def test_bytes_in_kept_and_removed_match_the_objects(report, label, member):
    manifest, objects = report

    assert component(manifest, label)["bytes"] == expected_bytes(objects[member], member)


def test_in_is_kept_plus_removed_and_size_is_kept(report):
    manifest, _ = report
    for entry in manifest["components"]:
        numbers = entry["bytes"]
        for group in (*GROUPS, "total"):
            assert numbers["in"][group] == numbers["kept"][group] + numbers["removed"][group]
        assert entry["size"] == numbers["kept"]["total"] == sum(i["size"] for i in entry["inputs"])
        removed = sum(s["size"] for i in entry["inputs"] for s in i["removed_sections"])
        assert removed == numbers["removed"]["total"]


def test_removed_functions_by_name(report):
    manifest, objects = report
    lib = component(manifest, "//lib:lib")["removed_functions"]
    with objects["used.o"].open("rb") as stream:
        size = ELFFile(stream).get_section_by_name(".text.lib_dead")["sh_size"]

    assert [f["name"] for f in component(manifest, "//app:app")["removed_functions"]] == [
        "app_unused",
        "app_also_unused",
    ]
    assert lib == [{"name": "lib_dead", "file": "liblib.a:used.o", "section": ".text.lib_dead", "size": size}]
    assert size > 0
    assert component(manifest, "//boot:entry")["removed_functions"] == []


def test_unpulled_members_are_not_in_the_link(report):
    manifest, _ = report

    assert [i["member"] for i in component(manifest, "//lib:lib")["inputs"]] == ["used.o"]


def test_largest_functions_are_live_and_sorted(report):
    manifest, _ = report
    largest = manifest["largest_functions"]
    names = [f["name"] for f in largest]

    assert set(names) == {"_start_pvh", "app_main", "app_helper", "lib_used"}
    assert [f["size"] for f in largest] == sorted((f["size"] for f in largest), reverse=True)
    owner = {f["name"]: f["component"] for f in largest}
    assert owner["lib_used"] == "//lib:lib" and owner["_start_pvh"] == "//boot:entry"


def test_gc_counts(report):
    manifest, _ = report
    gc = manifest["gc"]
    removed = sum(len(i["removed_sections"]) for c in manifest["components"] for i in c["inputs"])

    assert gc["lld_gc_agrees"] is True
    assert gc["removed"] == removed == sum(len(names) for names in DEAD.values())
    assert gc["sections"] == gc["live"] + gc["removed"]
    assert 0 < gc["roots"] <= gc["live"]
