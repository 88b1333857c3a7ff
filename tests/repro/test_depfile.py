"""The zig-cc wrapper's dependency files name no absolute path.

A compile action's .d file is one of its outputs, so a disk or remote cache
hands it to other output bases; Bazel there checks every header it names
against the declared inputs. An absolute path into the output base that
compiled it (zig's lib/include) fails that check ("undeclared
inclusion(s)") everywhere else. The wrapper must name zig's headers by the
execroot-relative path it was invoked by.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

RUNFILES = Path(os.environ.get("TEST_SRCDIR", "")) if "TEST_SRCDIR" in os.environ else None


def zig_repository() -> Path:
    assert RUNFILES is not None, "run under bazel test"
    for candidate in (RUNFILES / "rules_unikernel_zig",
                      RUNFILES / os.environ["TEST_WORKSPACE"] / "external/rules_unikernel_zig"):
        if (candidate / "zig-cc").exists():
            return candidate
    raise AssertionError("zig-cc is not in the runfiles")


def test_dependency_file_names_zig_headers_by_their_execroot_path(tmp_path: Path):
    # An execroot like Bazel's: the repository at external/rules_unikernel_zig,
    # its files links into the output base that fetched it.
    (tmp_path / "external").mkdir()
    (tmp_path / "external/rules_unikernel_zig").symlink_to(zig_repository().resolve())
    (tmp_path / "a.c").write_text("#include <stddef.h>\n#include <stdint.h>\nsize_t f(uint8_t x) { return x; }\n")
    subprocess.run(["external/rules_unikernel_zig/zig-cc", "-target", "x86_64-freestanding-none",
                    "-ffreestanding", "-c", "a.c", "-o", "a.o", "-MD", "-MF", "a.d"],
                   cwd=tmp_path, check=True, capture_output=True)
    deps = (tmp_path / "a.d").read_text().replace("\\\n", " ").split()
    assert "external/rules_unikernel_zig/lib/include/stddef.h" in deps, deps
    absolute = [d for d in deps if d.startswith("/")]
    assert not absolute, f"the .d file names absolute paths: {absolute}"
