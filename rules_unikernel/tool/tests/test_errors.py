"""Every user error: one line naming file and symbol, exit status 1, no outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from unikernel.link.driver import main

START_C = """
extern int main(void);
__attribute__((section(".text.boot"))) void _start_pvh(void) { main(); for (;;) {} }
"""
ENTRY_ONLY_S = """
    .section .text.boot,"ax"
    .globl _start_pvh
_start_pvh: hlt
"""


class Outputs:
    """The four outputs of a link, all in one otherwise empty directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()

    def args(self) -> list[str]:
        out = self.directory
        return [
            "--output",
            str(out / "k.elf"),
            "--debug-output",
            str(out / "k.debug.elf"),
            "--map",
            str(out / "k.map"),
            "--manifest",
            str(out / "k.json"),
        ]

    def left(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir())


@pytest.fixture
def outputs(tmp_path: Path) -> Outputs:
    return Outputs(tmp_path / "out")


@pytest.fixture
def link_fails(zig, outputs: Outputs, capsys):
    """Run the CLI in-process; check the one-line error, the status and that nothing is left."""

    def check(inputs: list[str], message: str, ld: str | None = None) -> None:
        args = ["--ld", ld or str(zig.ld)]
        for item in inputs:
            args += ["--input", item]
        status = main([*args, *outputs.args()])
        captured = capsys.readouterr()
        assert status == 1
        assert captured.err == f"unikernel-link: error: {message}\n"
        assert captured.out == ""
        assert outputs.left() == []

    return check


def test_undefined_symbol(build, link_fails):
    boot = build.archive("boot.a", [build.c("start.o", START_C)])

    link_fails(
        [f"//libos/boot:boot={boot}"],
        "undefined symbol 'main' referenced by //libos/boot:boot (boot.a:start.o)",
    )


def test_duplicate_strong_definition(build, link_fails):
    entry = build.asm("entry.o", ENTRY_ONLY_S)
    one = build.c("one.o", "int helper(void) { return 1; }")
    two = build.c("two.o", "int helper(void) { return 2; }")

    link_fails(
        [f"//boot:boot={entry}", f"//app:one={one}", f"//lib:two={two}"],
        "duplicate symbol 'helper' defined in //app:one (one.o) and //lib:two (two.o)",
    )


def test_missing_entry_symbol(build, link_fails):
    obj = build.c("app.o", "int main(void) { return 0; }")

    link_fails([f"//app:app={obj}"], "entry symbol '_start_pvh' is not defined by any input")


def test_truncated_object(build, link_fails):
    whole = build.asm("entry.o", ENTRY_ONLY_S)
    cut = build.directory / "cut.o"
    cut.write_bytes(whole.read_bytes()[:200])

    link_fails(
        [f"//boot:boot={cut}"],
        "//boot:boot (cut.o): truncated ELF file: section headers are past the end of the file",
    )


def test_corrupt_archive(build, link_fails):
    archive = build.archive("libx.a", [build.asm("entry.o", ENTRY_ONLY_S)])
    data = archive.read_bytes()
    archive.write_bytes(data[:-10])

    link_fails(
        [f"//x:x={archive}"],
        f"//x:x (libx.a): truncated archive: member at offset {_last_member_offset(data)} "
        f"needs {_last_member_size(data)} bytes, {_last_member_size(data) - 10} left",
    )


def _last_member_offset(data: bytes) -> int:
    offset, last = 8, 8
    while offset < len(data):
        last = offset
        size = int(data[offset + 48 : offset + 58])
        offset += 60 + size + (size & 1)
    return last


def _last_member_size(data: bytes) -> int:
    offset = _last_member_offset(data)
    return int(data[offset + 48 : offset + 58])


def test_object_for_another_machine(build, link_fails):
    (build.directory / "arm.c").write_text("int f(void) { return 0; }\n")
    build.zig.run(
        "cc", "-target", "aarch64-freestanding-none", "-c", "arm.c", "-o", "arm.o", cwd=build.directory
    )

    link_fails(
        [f"//arm:arm={build.directory / 'arm.o'}"],
        "//arm:arm (arm.o): is an ELF object for AArch64, not x86-64",
    )


def test_linked_executable_as_input(build, link_fails):
    entry = build.asm("entry.o", ENTRY_ONLY_S)
    build.zig.run(
        "ld.lld", "-static", "-e", "_start_pvh", "-o", "prelinked.elf", entry.name, cwd=build.directory
    )

    link_fails(
        [f"//x:x={build.directory / 'prelinked.elf'}"],
        "//x:x (prelinked.elf): is an ELF executable, not a relocatable object (.o)",
    )


def test_writable_and_executable_section(build, link_fails):
    source = ENTRY_ONLY_S + '\n    .section .text.selfmod,"awx"\n    .globl patch_me\npatch_me: ret\n'
    obj = build.asm("selfmod.o", source)

    link_fails(
        [f"//boot:boot={obj}"],
        "section '.text.selfmod' in //boot:boot (selfmod.o) is writable and executable (W^X)",
    )


def test_thread_local_storage(build, link_fails):
    entry = build.asm("entry.o", ENTRY_ONLY_S)
    tls = build.c("tls.o", "_Thread_local int per_cpu;")

    link_fails(
        [f"//boot:boot={entry}", f"//lib:tls={tls}"],
        "section '.tbss.per_cpu' in //lib:tls (tls.o): thread-local storage is not supported",
    )


def test_linker_failure_is_one_line(build, link_fails, tmp_path):
    entry = build.asm("entry.o", ENTRY_ONLY_S)
    fake = tmp_path / "fake-ld"
    fake.write_text('#!/bin/sh\necho "ld.lld: error: something broke" >&2\necho ">>> detail" >&2\nexit 1\n')
    fake.chmod(0o755)

    link_fails([f"//boot:boot={entry}"], "ld.lld failed: something broke", ld=str(fake))


def test_missing_linker(build, link_fails, tmp_path):
    entry = build.asm("entry.o", ENTRY_ONLY_S)
    missing = tmp_path / "no-such-ld"

    link_fails(
        [f"//boot:boot={entry}"],
        f"cannot run the linker '{missing}': No such file or directory",
        ld=str(missing),
    )


def test_bad_input_argument(link_fails):
    link_fails(["no-label-here.o"], "--input 'no-label-here.o': expected LABEL=PATH")


def test_stale_outputs_are_removed_on_failure(build, link_fails, outputs):
    for name in ("k.elf", "k.debug.elf", "k.map", "k.json"):
        (outputs.directory / name).write_text("from an earlier link")
    obj = build.c("app.o", "int main(void) { return 0; }")

    link_fails([f"//app:app={obj}"], "entry symbol '_start_pvh' is not defined by any input")


def test_command_line_exit_status_and_no_traceback(build, zig, outputs, child_env):
    boot = build.archive("boot.a", [build.c("start.o", START_C)])

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "unikernel.link",
            "--ld",
            str(zig.ld),
            "--input",
            f"//b:b={boot}",
            *outputs.args(),
        ],
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert (
        done.stderr == "unikernel-link: error: undefined symbol 'main' referenced by //b:b (boot.a:start.o)\n"
    )
    assert outputs.left() == []
