"""Fuzz the whole link (the command line) with damaged inputs.

test_fuzz_reader.py checks the reader, the classifier and the script writer
one stage at a time; this runs every stage, lld included, the way Bazel
runs the tool: one valid entry object and one damaged object or archive.
Whatever the damage, the link either succeeds with a complete image or
fails with exactly one line on stderr that is not an internal error, and
leaves no output behind (a half-written image would be picked up as if it
were a result). Derandomised like every hypothesis test here (conftest.py);
HYPOTHESIS_PROFILE=explore runs it long (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unikernel.link.driver import main

from .conftest import fuzz_examples
from .test_fuzz_reader import apply, mutations, samples  # noqa: F401 - samples is a fixture

# The other half of each link: what the damaged sample needs. sample.o has
# the entry point and calls helper and table_sum; the archive's members
# are pulled in by an entry point that calls them.
SUPPORT_S = """
    .section .text.helper,"ax"
    .globl helper, table_sum
helper:
table_sum:
    ret
"""
ENTRY_S = """
    .section .text.boot,"ax"
    .globl _start_pvh, helper
_start_pvh:
    call inline_fn
    call table_sum
    hlt
    .section .text.helper,"ax"
helper:
    ret
"""
_LINK = settings(
    max_examples=fuzz_examples(40),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Linker:
    """The linker under test and the valid input linked beside each damaged sample."""

    ld: Path
    partners: dict[str, Path]


@pytest.fixture(scope="module")
def linker(zig, module_build) -> Linker:
    return Linker(
        zig.ld,
        {
            "damaged.o": module_build.asm("support.o", SUPPORT_S),
            "libdamaged.a": module_build.asm("entry.o", ENTRY_S),
        },
    )


def link_damaged(linker: Linker, name: str, damaged: bytes, directory: Path, capsys) -> str:
    """Link ``damaged`` (as file ``name``) beside its partner; what the tool said on stderr."""
    damaged_path = directory / name
    damaged_path.write_bytes(damaged)
    out = directory / "out"
    out.mkdir()
    image = out / "k.elf"
    capsys.readouterr()

    status = main(
        [
            "--ld",
            str(linker.ld),
            "--input",
            f"//boot:partner={linker.partners[name]}",
            "--input",
            f"//fuzz:damaged={damaged_path}",
            "--output",
            str(image),
        ]
    )

    err = capsys.readouterr().err
    if status == 0:
        assert image.read_bytes()[:4] == b"\x7fELF"
        return err
    assert status == 1
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("unikernel-link: error: "), err
    assert "internal error" not in err, err
    assert list(out.iterdir()) == [], f"output left behind after: {err}"
    return err


@_LINK
@given(st.data())
def test_damaged_object_links_or_fails_in_one_line(samples, linker, tmp_path_factory, capsys, data):  # noqa: F811
    sample = samples["object"]
    damaged = apply(sample.data, data.draw(mutations(sample)), samples["archive"].data)

    link_damaged(linker, "damaged.o", damaged, tmp_path_factory.mktemp("link"), capsys)


@_LINK
@given(st.data())
def test_damaged_archive_links_or_fails_in_one_line(samples, linker, tmp_path_factory, capsys, data):  # noqa: F811
    sample = samples["archive"]
    damaged = apply(sample.data, data.draw(mutations(sample)), samples["object"].data)

    link_damaged(linker, "libdamaged.a", damaged, tmp_path_factory.mktemp("link"), capsys)


def test_undamaged_inputs_link(samples, linker, tmp_path_factory, capsys):  # noqa: F811
    # The damage starts from inputs that link: otherwise every case is an early refusal.
    for name, sample in (("damaged.o", samples["object"]), ("libdamaged.a", samples["archive"])):
        directory = tmp_path_factory.mktemp("link")
        said = link_damaged(linker, name, sample.data, directory, capsys)
        assert (directory / "out" / "k.elf").exists(), f"{name}: {said}"


# The smallest damage the explore profile found that broke the contract:
# lld exits on an error (here a relocation out of range) leaving its own
# temporary file beside the output; lld's message quoting a name that is
# not UTF-8 ended in "internal error: UnicodeDecodeError".
FOUND = {
    "lld-fails-after-opening-its-output": ("damaged.o", (("byte", 283, 0),)),
    "lld-message-not-utf8": ("libdamaged.a", (("word", 161, 0xFF00),)),
}


@pytest.mark.parametrize("case", FOUND.values(), ids=FOUND.keys())
def test_found_damage_fails_in_one_line_and_leaves_nothing(samples, linker, tmp_path_factory, capsys, case):  # noqa: F811
    name, ops = case
    sample, donor = (
        (samples["object"], samples["archive"])
        if name == "damaged.o"
        else (samples["archive"], samples["object"])
    )
    damaged = apply(sample.data, ops, donor.data)

    said = link_damaged(linker, name, damaged, tmp_path_factory.mktemp("link"), capsys)

    assert said.startswith("unikernel-link: error: "), said
