"""Shared fixtures: a zig toolchain to build small synthetic inputs.

The only knob is the environment variable ZIG, a command that runs zig
(Bazel sets it to the toolchain's zig; default: the ``ziglang`` package of
the Python running the tests, ``python -m ziglang``). ``$ZIG cc`` compiles,
``$ZIG ar`` archives and ``$ZIG ld.lld`` is the linker under test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

DEFAULT_ZIG = f"{shlex.quote(sys.executable)} -m ziglang"
TARGET_FLAGS = (
    "-target",
    "x86_64-freestanding-none",
    "-ffreestanding",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-pic",
    "-O2",
    "-g",
    # Path-independent objects, so outputs can be compared across directories.
    "-ffile-compilation-dir=.",
)


@dataclass(frozen=True)
class Zig:
    """Runs zig's compiler, archiver and linker with a private cache."""

    command: tuple[str, ...]
    env: dict[str, str]
    ld: Path

    def run(self, *args: str, cwd: Path) -> None:
        done = subprocess.run(
            [*self.command, *args], cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"zig {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass(frozen=True)
class Builder:
    """Builds objects and archives from source text inside ``directory``."""

    zig: Zig
    directory: Path

    def c(self, name: str, source: str, flags: Sequence[str] = ()) -> Path:
        return self._compile(name, ".c", source, (*TARGET_FLAGS, *flags))

    def asm(self, name: str, source: str, flags: Sequence[str] = ()) -> Path:
        return self._compile(name, ".s", source, (*TARGET_FLAGS, *flags))

    def archive(self, name: str, members: Sequence[Path]) -> Path:
        out = self.directory / name
        out.unlink(missing_ok=True)
        self.zig.run(
            "ar", "rcs", name, *(str(m.relative_to(self.directory)) for m in members), cwd=self.directory
        )
        return out

    def _compile(self, name: str, suffix: str, source: str, flags: Sequence[str]) -> Path:
        stem = name.removesuffix(".o")
        src = self.directory / f"{stem}{suffix}"
        src.write_text(source)
        self.zig.run("cc", *flags, "-c", src.name, "-o", f"{stem}.o", cwd=self.directory)
        return self.directory / f"{stem}.o"


def _zig_command() -> tuple[str, ...]:
    words = shlex.split(os.environ.get("ZIG", DEFAULT_ZIG))
    if not words:
        raise pytest.UsageError("ZIG is empty")
    # A relative program path (Bazel runfiles) must survive a change of directory.
    first = words[0]
    if "/" in first and not Path(first).is_absolute():
        words[0] = str(Path(first).resolve())
    elif "/" not in first:
        words[0] = shutil.which(first) or first
    return tuple(words)


@pytest.fixture(scope="session")
def zig(tmp_path_factory: pytest.TempPathFactory) -> Zig:
    home = tmp_path_factory.mktemp("zig")
    cache = home / "cache"
    cache.mkdir()
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(cache), ZIG_LOCAL_CACHE_DIR=str(cache))
    command = _zig_command()
    ld = home / "ld.lld"
    ld.write_text(
        "#!/bin/sh\n"
        f"ZIG_GLOBAL_CACHE_DIR={shlex.quote(str(cache))} ZIG_LOCAL_CACHE_DIR={shlex.quote(str(cache))} "
        f'exec {shlex.join(command)} ld.lld "$@"\n'
    )
    ld.chmod(0o755)
    toolchain = Zig(command, env, ld)
    toolchain.run("version", cwd=home)
    return toolchain


@pytest.fixture
def build(zig: Zig, tmp_path: Path) -> Builder:
    directory = tmp_path / "src"
    directory.mkdir()
    return Builder(zig, directory)


@pytest.fixture(scope="module")
def module_build(zig: Zig, tmp_path_factory: pytest.TempPathFactory) -> Builder:
    """A builder whose outputs are shared by the tests of one module."""
    return Builder(zig, tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="session")
def child_env() -> dict[str, str]:
    """Environment for a child ``python -m unikernel.link`` that sees this test's packages."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(entry for entry in sys.path if entry))


# Hypothesis: no example database (Bazel's runfiles are read-only) and no
# per-example deadline (zig and lief timings vary on a loaded machine).
# Derandomised by default: the same examples every run, so a Bazel test
# result means the same thing each time (and caches honestly). To hunt for
# new failures, run with HYPOTHESIS_PROFILE=explore (random examples).
settings.register_profile("rules_unikernel", database=None, deadline=None, derandomize=True)
settings.register_profile("explore", database=None, deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "rules_unikernel"))


def fuzz_examples(bounded: int) -> int:
    """A fuzz test's examples: ``bounded`` in ``bazel test``; under the explore
    profile its budget (2000 random examples), so the long run is one variable."""
    return max(bounded, settings.default.max_examples) if settings.default.derandomize is False else bounded
