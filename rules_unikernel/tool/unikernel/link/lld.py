"""Run ld.lld on a generated linker script and read what it reports.

The caller decides what a failure means: lld reports its garbage
collection before it places sections, so a failed link can still say
what lld removed (driver checks that first).
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import LinkError
from .model import InputSpec

_GC_PREFIX = "removing unused section "
_ORPHAN = "is being placed in"


@dataclass(frozen=True)
class LinkJob:
    """One ld.lld invocation; ``build_id`` is ``sha1`` or ``0x<hex>``."""

    script: Path
    inputs: tuple[str, ...]
    output: Path
    entry: str
    build_id: str
    strip: bool
    map_file: Path | None = None
    undefined: tuple[str, ...] = ()  # extra roots, pulled from archives like the entry
    symbol_order: Path | None = None  # --symbol-ordering-file (order)


@dataclass(frozen=True)
class LinkReport:
    """What lld said: input sections it garbage-collected, as ``(file, section)``.

    ``error`` is lld's first error when it failed, else None. ``printed_gc``
    says whether lld got as far as its garbage collection (it prints one
    line per removed section, and there may be none to print).
    """

    removed: Counter[tuple[str, str]]
    error: str | None = None
    printed_gc: bool = True


def input_args(specs: Iterable[InputSpec]) -> tuple[str, ...]:
    """The inputs as lld arguments, in order; alwayslink archives loaded whole."""
    args: list[str] = []
    for spec in specs:
        if spec.whole:
            args += ["--whole-archive", spec.path, "--no-whole-archive"]
        else:
            args.append(spec.path)
    return tuple(args)


def command(ld: str, job: LinkJob) -> list[str]:
    """The ld.lld argument vector for ``job`` (inputs last, in order)."""
    args = [
        ld,
        "-m",
        "elf_x86_64",
        "-static",
        "-nostdlib",
        "--gc-sections",
        "--print-gc-sections",
        "-z",
        "max-page-size=4096",
        "-z",
        "noexecstack",
        # Nothing maps pages read-only after start-up: RELRO would only
        # constrain the order of sections.
        "-z",
        "norelro",
        "--orphan-handling=error",
        "--color-diagnostics=never",
        "-T",
        str(job.script),
        "--entry",
        job.entry,
        *(f"--undefined={name}" for name in job.undefined),
        f"--build-id={job.build_id}",
        "-o",
        str(job.output),
    ]
    if job.strip:
        args.append("--strip-all")
    if job.map_file is not None:
        args += ["-Map", str(job.map_file)]
    if job.symbol_order is not None:
        args.append(f"--symbol-ordering-file={job.symbol_order}")
    args += list(job.inputs)
    return args


def run(ld: str, job: LinkJob) -> LinkReport:
    """Run ld.lld; report what it removed, and its first error if it failed."""
    argv = command(ld, job)
    try:
        done = subprocess.run(argv, capture_output=True, check=False)
    except OSError as error:
        raise LinkError(f"cannot run the linker {ld!r}: {error.strerror}") from error
    # lld echoes names from the inputs byte for byte, UTF-8 or not; decoded
    # as the reader decodes names, so its messages and section names match.
    lines = (done.stdout + done.stderr).decode("utf-8", "replace").splitlines()
    error = None
    if done.returncode != 0:
        error = first_error(lines) or f"exit status {done.returncode}"
    removed = removed_sections(lines)
    # lld reports garbage collection before placing sections: an error about
    # placement (an orphan) comes with a complete report, which may list
    # nothing; a script error comes before it.
    orphan = any(_ORPHAN in line for line in lines)
    printed_gc = done.returncode == 0 or bool(removed) or orphan
    return LinkReport(removed, error, printed_gc)


def first_error(lines: list[str]) -> str | None:
    errors = [line for line in lines if "error:" in line]
    if not errors:
        return None
    text = errors[0].split("error:", 1)[1].strip()
    if len(errors) > 1:
        text += f" ({len(errors) - 1} more errors)"
    return text


def removed_sections(lines: list[str]) -> Counter[tuple[str, str]]:
    """Parse ``--print-gc-sections``: ``removing unused section lib.a(m.o):(.text.f)``."""
    removed: Counter[tuple[str, str]] = Counter()
    for line in lines:
        if not line.startswith(_GC_PREFIX):
            continue
        file, _, section = line[len(_GC_PREFIX) :].rpartition(":(")
        removed[(file, section.removesuffix(")"))] += 1
    return removed
