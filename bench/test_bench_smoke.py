"""Smoke test of the benchmark scripts: the generator, the parsers, the timing.

Small sizes only (3 appliances, 1k sections): the measurements themselves
are run by hand (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import link_scale
import monorepo
import scale


def test_monorepo_is_deterministic_and_its_users_match_the_build_files(
    tmp_path: Path,
) -> None:
    first = monorepo.generate(tmp_path / "a", 3, "7")
    monorepo.generate(tmp_path / "b", 3, "7")
    monorepo.generate(tmp_path / "c", 3, "8")
    texts = {
        p.relative_to(tmp_path / "a"): p.read_bytes()
        for p in (tmp_path / "a").rglob("*")
        if p.is_file()
    }
    again = {
        p.relative_to(tmp_path / "b"): p.read_bytes()
        for p in (tmp_path / "b").rglob("*")
        if p.is_file()
    }
    assert texts == again
    assert (tmp_path / "c" / "monorepo.json").read_bytes() != texts[
        Path("monorepo.json")
    ]
    assert len(first.appliances) == 3
    assert sorted(
        p.parent.name for p in (tmp_path / "a" / "apps").glob("*/BUILD.bazel")
    ) == [
        "app000",
        "app001",
        "app002",
    ]
    # The expected users of each library, read back from the BUILD files
    # alone (deps, transitively), must be what scale.py will assert.
    workspace = tmp_path / "a"
    deps = {
        f"//{build.parent.relative_to(workspace)}": re.findall(
            r'"(//shared/lib\d+)"', build.read_text()
        )
        for build in workspace.rglob("BUILD.bazel")
        if build.parent != workspace
    }

    def uses(package: str, library: str) -> bool:
        return any(dep == library or uses(dep, library) for dep in deps[package])

    description = json.loads((workspace / "monorepo.json").read_text())
    for name, info in description["libraries"].items():
        expected = [
            f"//apps/{a.name}:image"
            for a in first.appliances
            if uses(f"//apps/{a.name}", f"//shared/{name}")
        ]
        assert info["users"] == expected, name
        assert (workspace / "shared" / name / f"{name}.c").read_text().count(
            "__attribute__((noinline))"
        ) == info["functions"]
    assert {a.profile for a in monorepo.plan(40, "1").appliances} == set(
        monorepo.PROFILES
    )


def test_generator_refuses_a_directory_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not empty and holds no generated monorepo"):
        monorepo.generate(tmp_path, 3, "1")
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_edit_changes_the_marked_line_only(tmp_path: Path) -> None:
    monorepo.generate(tmp_path, 2, "1")
    source = tmp_path / "shared" / "lib2" / "lib2.c"
    before = source.read_text()
    scale.edit(tmp_path, "lib2")
    after = source.read_text()
    assert after != before
    assert after.replace("#define EDIT_MARK 1", monorepo.EDIT_LINE) == before


def test_process_summary_and_profile_parsing(tmp_path: Path) -> None:
    stderr = "INFO: Elapsed time: 3.1s\nINFO: 301 processes: 84 internal, 214 processwrapper-sandbox, 3 worker.\n"
    assert scale.process_summary(stderr) == {
        "internal": 84,
        "processwrapper-sandbox": 214,
        "worker": 3,
    }
    build = scale.Build(
        1.0, {"internal": 84, "remote cache hit": 200, "worker": 3}, (), 0.0
    )
    assert build.executed == 3
    profile = tmp_path / "profile.json"
    events = [
        {
            "cat": "action processing",
            "name": "Linking unikernel image //apps/app001:image",
        },
        {
            "cat": "action processing",
            "name": "Linking unikernel image @//apps/app000:image",
        },
        {"cat": "action processing", "name": "Compiling apps/app002/main.c"},
        {
            "cat": "general information",
            "name": "Linking unikernel image //apps/app009:image",
        },
    ]
    profile.write_text(json.dumps({"traceEvents": events}))
    assert scale.linked_images(profile) == (
        "//apps/app000:image",
        "//apps/app001:image",
    )


def test_fit_exponent() -> None:
    sizes = [1000.0, 3000.0, 10000.0, 30000.0]
    assert link_scale.fit_exponent(sizes, [2e-4 * n for n in sizes]) == pytest.approx(
        1.0
    )
    assert link_scale.fit_exponent(
        sizes, [1e-8 * n * n for n in sizes]
    ) == pytest.approx(2.0)


def test_link_of_1k_sections_times_every_stage(tmp_path: Path) -> None:
    zig = link_scale.Zig(link_scale.zig_from(os.environ["ZIG"]), tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    inputs = link_scale.build_inputs(zig, 250, tmp_path, jobs=1)
    out = tmp_path / "out"
    out.mkdir()
    timing = link_scale.link_once(zig.ld_wrapper(tmp_path), inputs, out)
    # 250 functions, each with a .text, .data, .rodata and .bss section,
    # and one in ten never called: mark-live keeps the others.
    assert timing.sections >= 1000
    assert 0.85 * timing.sections < timing.live < timing.sections
    assert all(timing.stages[stage] > 0 for stage in link_scale.STAGES), timing.stages
    assert sum(timing.stages.values()) <= timing.total_cpu + 0.05
    assert timing.image_bytes == (out / "image.elf").stat().st_size > 0
    assert (out / "image.manifest.json").exists()
    table = link_scale.render([timing, timing])
    assert "| 250 |" in table and "exponent" in table


def test_plain_layout_link(tmp_path: Path) -> None:
    zig = link_scale.Zig(link_scale.zig_from(os.environ["ZIG"]), tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    inputs = link_scale.build_inputs(zig, 250, tmp_path, jobs=1)
    out = tmp_path / "out"
    out.mkdir()
    timing = link_scale.link_once(zig.ld_wrapper(tmp_path), inputs, out, "plain")
    assert 0.85 * timing.sections < timing.live < timing.sections
    manifest = json.loads((out / "image.manifest.json").read_text())
    assert manifest["layout"]["randomised"] is False


def test_padded_layout_link(tmp_path: Path) -> None:
    zig = link_scale.Zig(link_scale.zig_from(os.environ["ZIG"]), tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    inputs = link_scale.build_inputs(zig, 250, tmp_path, jobs=1)
    out = tmp_path / "out"
    out.mkdir()
    timing = link_scale.link_once(zig.ld_wrapper(tmp_path), inputs, out, padding=64)
    assert 0.85 * timing.sections < timing.live < timing.sections
    layout = json.loads((out / "image.manifest.json").read_text())["layout"]
    assert layout["padding_max"] == 64 and layout["randomised"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--padding", "24"], "a multiple of 16"),
        (["--padding", "64", "--layout", "plain"], "needs --layout random"),
    ],
)
def test_bad_padding_is_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        link_scale.main(["--sizes", "1000", *args])
    assert message in capsys.readouterr().err
