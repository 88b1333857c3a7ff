"""alwayslink archives: every member is loaded, as lld's --whole-archive does."""

from __future__ import annotations

import json
from pathlib import Path

from unikernel.link.driver import main

BOOT_C = """
typedef void (*init_fn)(void);
extern const init_fn __start_inits[] __attribute__((weak));
extern const init_fn __stop_inits[] __attribute__((weak));
__attribute__((section(".text.boot"))) void _start_pvh(void) {
    for (const init_fn *f = __start_inits; f < __stop_inits; f++)
        (*f)();
    for (;;) {}
}
"""

# Referenced by nothing: only a linker-set entry, like BOOT_INIT(...).
REGISTER_C = """
typedef void (*init_fn)(void);
static void setup(void) {}
__attribute__((section("inits"), used)) static const init_fn entry = setup;
"""


def link(zig, tmp_path: Path, inputs: list[tuple[str, Path]], *extra: str) -> tuple[int, dict]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = ["--ld", str(zig.ld), "--output", str(out / "k.elf"), "--manifest", str(out / "k.json"), *extra]
    for label, path in inputs:
        args += ["--input", f"{label}={path}"]
    rc = main(args)
    return rc, (json.loads((out / "k.json").read_text()) if rc == 0 else {})


def members(manifest: dict) -> set[str]:
    return {i["member"] for c in manifest["components"] for i in c["inputs"] if i["member"]}


def test_lazy_archive_drops_an_unreferenced_registration(build, zig, tmp_path):
    boot = build.c("boot.o", BOOT_C)
    lib = build.archive("libreg.a", [build.c("register.o", REGISTER_C)])

    rc, manifest = link(zig, tmp_path, [("//t:boot", boot), ("//t:reg", lib)])

    assert rc == 0
    assert "register.o" not in members(manifest)


def test_alwayslink_archive_keeps_it_and_lld_agrees(build, zig, tmp_path):
    boot = build.c("boot.o", BOOT_C)
    lib = build.archive("libreg.a", [build.c("register.o", REGISTER_C)])

    rc, manifest = link(zig, tmp_path, [("//t:boot", boot), ("//t:reg", lib)], "--alwayslink", str(lib))

    assert rc == 0
    assert "register.o" in members(manifest)
    assert manifest["gc"]["lld_gc_agrees"] is True


def test_alwayslink_must_name_an_input(build, zig, tmp_path, capsys):
    boot = build.c("boot.o", BOOT_C)

    rc, _ = link(zig, tmp_path, [("//t:boot", boot)], "--alwayslink", "nope.a")

    assert rc == 1
    assert "--alwayslink nope.a: not one of the --input paths" in capsys.readouterr().err
