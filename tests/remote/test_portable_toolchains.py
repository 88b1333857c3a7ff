"""The toolchain files that enter action keys or cached outputs name no path
of the machine that fetched them (docs/remote.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

LAUNCHER = Path(os.environ["LAUNCHER"])
ZIG_BUILD = Path(os.environ["ZIG_BUILD"])
ZIG_CC = Path(os.environ["ZIG_CC"])


def absolute_paths(text: str) -> list[str]:
    """Absolute paths in text, ignoring a script's #! line and its messages."""
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#!") and "echo " not in l)
    return re.findall(r"(?<![\w.$}])/(?:usr|root|home|opt|tmp|work|var|nix)\b[^\s'\"]*", body)


def test_python_launcher_names_no_interpreter_path() -> None:
    # The launcher is an input of every Python action: an interpreter path in it
    # gave two machines with python3 in different places different action keys.
    text = LAUNCHER.read_text()
    assert absolute_paths(text) == [], text
    assert os.path.realpath(sys.executable) not in text, text
    assert re.search(r"command -v python3\.\d+", text), text


def test_python_launcher_runs_the_version_the_packages_are_for() -> None:
    version = re.search(r"python(3\.\d+)", LAUNCHER.read_text()).group(1)
    out = subprocess.run([str(LAUNCHER), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == version


def test_python_launcher_without_the_interpreter_says_what_to_do(tmp_path: Path) -> None:
    out = subprocess.run(["/bin/sh", str(LAUNCHER), "-c", "pass"], capture_output=True, text=True,
                         check=False, env={"PATH": str(tmp_path)})
    assert out.returncode == 127
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "rules_unikernel: no python3." in lines[0] and "/usr/local/bin" in lines[0]


def test_zig_builtin_includes_are_execroot_relative() -> None:
    # Bazel checks the dependency files (cached with the objects) against these
    # directories; absolute ones broke cache hits from another output base.
    dirs = re.findall(r"builtin_include_directories = \[([^\]]*)\]", ZIG_BUILD.read_text())
    assert dirs == ['"lib/include"'], dirs
    assert 'ZIG_LIB_DIR="$here/lib"' in ZIG_CC.read_text()
