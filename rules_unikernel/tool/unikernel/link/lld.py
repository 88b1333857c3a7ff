"""Run ld.lld on a generated linker script and read what it reports."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import LinkError

_GC_PREFIX = "removing unused section "


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


@dataclass(frozen=True)
class LinkReport:
    """What lld said: input sections it garbage-collected, as ``(file, section)``."""

    removed: Counter[tuple[str, str]]


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
        f"--build-id={job.build_id}",
        "-o",
        str(job.output),
    ]
    if job.strip:
        args.append("--strip-all")
    if job.map_file is not None:
        args += ["-Map", str(job.map_file)]
    args += list(job.inputs)
    return args


def link(ld: str, job: LinkJob) -> LinkReport:
    """Run ld.lld; raise a LinkError with lld's first error if it fails."""
    argv = command(ld, job)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as error:
        raise LinkError(f"cannot run the linker {ld!r}: {error.strerror}") from error
    lines = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0:
        raise LinkError(f"ld.lld failed: {first_error(lines) or f'exit status {done.returncode}'}")
    return LinkReport(removed_sections(lines))


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
