"""``unikernel inspect``: segments, components and functions; plain ASCII off a terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_images import LABELS, Image, link_image, run

# Not resolved: under Bazel the script is there only if the test lists it in its data.
BIN = Path(__file__).absolute().parent.parent / "bin" / "unikernel_cli.py"


@pytest.fixture(scope="module")
def image(module_build, tmp_path_factory) -> Image:
    return link_image(module_build, tmp_path_factory.mktemp("image"))


def plain_env(child_env: dict[str, str], **extra: str) -> dict[str, str]:
    """A child environment that does not force rich into terminal mode."""
    forcing = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    env = {k: v for k, v in child_env.items() if k not in forcing}
    return {**env, **extra}


def test_report_has_segments_components_and_functions(image, capsys):
    result = run("inspect", image.elf, capsys=capsys)

    assert result.code == 0, result.err
    out = result.out
    assert "  0  PT_LOAD       r-x   0x1000  0x100000" in out
    assert ".note.Xen .note.gnu.build-id" in out
    assert "PT_GNU_STACK  rw-" in out
    for label in LABELS.values():
        assert label in out
    assert "manifest: tiny.manifest.json" in out
    assert "guest:    tiny" in out
    assert "entry:    0x100000 (_start_pvh)" in out
    # Functions from the manifest; addresses from the debug twin's symbols.
    console_write = row(out, "console_write")
    assert console_write[2].startswith("0x10") and console_write[3] == "//drivers/console:console"


def row(out: str, first: str) -> list[str]:
    """The cells of the first line that starts with ``first``."""
    return next(line.split() for line in out.splitlines() if line.strip().startswith(first))


def test_component_bytes_are_the_manifests(image, capsys):
    manifest = json.loads(image.manifest.read_text())
    out = run("inspect", image.elf, capsys=capsys).out

    assert "components (bytes in the link, kept after specialisation, removed)" in out
    for component in manifest["components"]:
        counts = component["bytes"]
        cells = row(out, component["label"])
        assert cells[2:5] == [str(counts[k]["total"]) for k in ("in", "kept", "removed")]
        assert cells[5:] == [str(counts["kept"][g]) for g in ("text", "rodata", "data", "bss")]
    total = sum(c["bytes"]["kept"]["total"] for c in manifest["components"])
    assert row(out, "total")[3] == str(total)


def test_removed_functions_are_listed_by_component(image, capsys):
    manifest = json.loads(image.manifest.read_text())
    [removed] = [f for c in manifest["components"] for f in c["removed_functions"]]

    out = run("inspect", image.elf, capsys=capsys).out

    assert removed["name"] == "app_unused"
    table = out.split("removed functions\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[1].split() == ["//app:main", "app_unused", "app.o", str(removed["size"])]
    # The manifest counts it among the component's removed bytes, with the unused banner.
    [app] = [c for c in manifest["components"] if c["label"] == "//app:main"]
    assert app["bytes"]["removed"]["text"] == removed["size"]
    assert row(out, "//app:main")[4] == str(app["bytes"]["removed"]["total"])


def test_removed_data_is_listed_by_component(image, capsys):
    manifest = json.loads(image.manifest.read_text())
    [app] = [c for c in manifest["components"] if c["label"] == "//app:main"]
    [banner] = [s for i in app["inputs"] for s in i["removed_sections"] if s["group"] == "rodata"]

    out = run("inspect", image.elf, capsys=capsys).out

    table = out.split("removed data\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[1].split() == ["//app:main", banner["name"], "app.o", "rodata", str(banner["size"])]


def test_seed_and_entropy_of_a_randomised_image(module_build, tmp_path, capsys):
    seeded = link_image(module_build, tmp_path, extra=("--seed", "cli-test"))
    layout = json.loads(seeded.manifest.read_text())["layout"]

    out = run("inspect", seeded.elf, capsys=capsys).out

    assert row(out, "seed:") == ["seed:", "cli-test"]
    assert row(out, "randomised:") == ["randomised:", "True"]
    assert row(out, "base:") == ["base:", layout["base"]]
    assert row(out, "entropy base_bits:") == [
        "entropy",
        "base_bits:",
        f"{layout['entropy']['base_bits']:.2f}",
    ]
    assert layout["entropy"]["base_bits"] > 0


def test_public_and_secret_seeds_are_told_apart(module_build, tmp_path, capsys):
    key = tmp_path / "release.key"
    key.write_bytes(b"\x01\x02 not so random, but 16+ bytes long")
    label = ("--seed", "//t:image")
    public = link_image(module_build, tmp_path / "public", extra=(*label, "--seed-origin", "label"))
    given = link_image(module_build, tmp_path / "given", extra=("--seed", "rel-1"))
    secret = link_image(module_build, tmp_path / "secret", extra=(*label, "--seed-file", str(key)))
    plain = link_image(module_build, tmp_path / "plain")

    out = run("inspect", public.elf, capsys=capsys).out
    assert "secrecy:" in out and "public (derived from the label): anyone with the sources" in out
    assert "seed_kind:" in out
    out = run("inspect", given.elf, capsys=capsys).out
    assert "public (given): anyone with the sources" in out
    out = run("inspect", secret.elf, capsys=capsys).out
    seed_id = json.loads(secret.manifest.read_text())["layout"]["seed_id"]
    assert f"secret: rebuilt only with the seed file (seed id {seed_id[:16]})" in out
    assert "anyone with the sources" not in out
    out = run("inspect", plain.elf, capsys=capsys).out
    assert "none: the plain layout" in out
    # The tiny image has no memory manager: nothing is drawn at boot.
    assert "boot randomisation" in out and row(out, "heap:") == ["heap:", "not", "randomised", "at", "boot"]


def test_an_older_manifest_still_renders(image, tmp_path, capsys):
    """Images linked before the manifest grew: the kept size per component, functions from symbols."""
    manifest = json.loads(image.manifest.read_text())
    for key in ("layout", "gc", "seal", "largest_functions", "schema"):
        manifest.pop(key, None)
    manifest["format"] = "rules_unikernel.link.manifest.v1"
    for component in manifest["components"]:
        for key in ("bytes", "removed_functions"):
            component.pop(key, None)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(manifest))

    out = run("inspect", image.elf, "--manifest", old, capsys=capsys).out

    assert "components (after specialisation)" in out
    for component in manifest["components"]:
        assert row(out, component["label"])[-1] == str(component["size"])
    assert "layout" not in out and "removed functions" not in out
    assert "largest functions (symbols of tiny.debug.elf)" in out


def test_fields_it_does_not_know_are_still_shown(image, tmp_path, capsys):
    manifest = json.loads(image.manifest.read_text())
    manifest["toolchain"] = "zig 0.17"
    manifest["components"][0]["probes"] = [{"name": "boot_probe", "size": 12}]
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(manifest))

    out = run("inspect", image.elf, "--manifest", newer, capsys=capsys).out

    assert row(out, "toolchain:") == ["toolchain:", "zig", "0.17"]
    assert "probes (per component)" in out
    assert row(out, "//libos/boot:boot  boot_probe") == ["//libos/boot:boot", "boot_probe", "12"]


def test_plain_text_off_a_terminal_and_tables_on_one(image, capsys):
    plain = run("inspect", image.elf, capsys=capsys).out
    rich = run("inspect", image.elf, terminal=True, capsys=capsys).out

    assert plain.isascii() and "\x1b[" not in plain
    # The terminal path really is another renderer: box drawing and colour codes.
    assert "\u2500" in rich and "\x1b[" in rich


def test_piped_output_is_plain_ascii(image, child_env, tmp_path):
    env = plain_env(child_env, TERM="xterm-256color", COLUMNS="40")
    done = subprocess.run(
        [sys.executable, "-m", "unikernel.cli", "inspect", str(image.elf)],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii()
    assert b"\x1b" not in done.stdout
    # No wrapping at the 40 columns rich would otherwise assume.
    assert any(len(line) > 40 for line in done.stdout.splitlines())
    assert b"//drivers/console:console" in done.stdout


def test_relative_paths_follow_bazel_run(image, child_env, tmp_path):
    """``bazel run`` starts in the runfiles tree; BUILD_WORKING_DIRECTORY is where the user was."""
    env = plain_env(child_env, BUILD_WORKING_DIRECTORY=str(image.elf.parent.parent))
    done = subprocess.run(
        [sys.executable, "-m", "unikernel.cli", "inspect", "out/tiny.elf"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "file:     out/tiny.elf" in done.stdout
    assert "manifest: tiny.manifest.json" in done.stdout


def test_without_manifest_or_symbols_the_elf_alone_is_shown(image, tmp_path, capsys):
    alone = tmp_path / "alone.elf"
    shutil.copyfile(image.elf, alone)

    result = run("inspect", alone, capsys=capsys)

    assert result.code == 0, result.err
    assert "manifest: none found" in result.out
    assert "PT_LOAD" in result.out
    assert "components" not in result.out and "largest functions" not in result.out


def test_manifest_alone_gives_functions_without_addresses(image, tmp_path, capsys):
    shutil.copyfile(image.elf, tmp_path / "tiny.elf")
    shutil.copyfile(image.manifest, tmp_path / "tiny.manifest.json")

    result = run("inspect", tmp_path / "tiny.elf", capsys=capsys)

    kmain = next(
        f for f in json.loads(image.manifest.read_text())["largest_functions"] if f["name"] == "kmain"
    )
    assert "largest functions (manifest)" in result.out
    # No symbols next to it, so no addresses.
    assert row(result.out, "kmain") == ["kmain", str(kmain["size"]), "//app:main"]


def test_debug_image_gives_addresses_and_top_limits(image, capsys):
    result = run("inspect", image.debug, "--top", "2", capsys=capsys)

    assert result.code == 0, result.err
    table = result.out.split("largest functions (manifest)\n", 1)[1].strip().splitlines()
    assert len(table) == 1 + 2  # the header, two functions
    assert all(line.split()[2].startswith("0x10") for line in table[1:])


def test_manifest_given_that_is_not_json_is_one_line(image, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")

    result = run("inspect", image.elf, "--manifest", bad, capsys=capsys)

    assert result.code == 2
    assert result.err.startswith(f"unikernel: error: manifest {bad} is not JSON: ")
    assert result.err.count("\n") == 1


def test_a_negative_top_is_a_usage_error(image, capsys):
    result = run("inspect", image.elf, "--top", "-1", capsys=capsys)

    assert result.code == 2
    assert result.err == "unikernel: error: inspect: --top -1: expected 0 or more functions\n"


@pytest.mark.skipif(not BIN.is_file(), reason="bin/unikernel_cli.py is not in this test's runfiles")
def test_entry_script_and_module_agree(image, child_env, tmp_path):
    env = plain_env(child_env)
    outputs = [
        subprocess.run(
            [*command, "verify", str(image.elf)], capture_output=True, env=env, cwd=tmp_path, check=False
        )
        for command in ([sys.executable, str(BIN)], [sys.executable, "-m", "unikernel.cli"])
    ]

    assert [o.returncode for o in outputs] == [0, 0]
    assert outputs[0].stdout == outputs[1].stdout
    assert os.fsdecode(outputs[0].stdout).startswith("verify: OK")
