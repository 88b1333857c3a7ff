#!/usr/bin/env python3
"""Fetching refuses wrong bytes and says how to fix a broken client, in one line.

Runs `bazel sync --only=<repository>` in a throwaway output base with a
prepared environment, for each case below, and checks the outcome: an
archive from $RULES_UNIKERNEL_DISTDIR with other bytes is refused (and one
with the right bytes used), pip with no index and apt without deb-src
entries fail with the fix. Repository rules cannot be exercised inside
`bazel test`, hence this separate check (CI runs it after the test suite).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    name: str
    repository: str
    env: dict[str, str] = field(default_factory=dict)
    drop_env: tuple[str, ...] = ()
    # None: the fetch must succeed; else words the error line must contain.
    error: tuple[str, ...] | None = None


def pinned(name: str) -> dict[str, str]:
    """The string fields (archive, sha256, ...) of a struct in versions.bzl:
    `LWIP = struct(` by its name, a dict entry `"key": struct(` by its quoted key."""
    text = (ROOT / "rules_unikernel/versions.bzl").read_text()
    body = text[text.index(f"{name}: struct(" if name.startswith('"') else f"{name} = struct(") :]
    body = body[: re.search(r"\n\s*\)", body).start()]
    return dict(re.findall(r'^\s+(\w+) = "([^"]+)"', body, re.MULTILINE))


def bazel_sync(output_base: Path, case: Case) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in case.drop_env}
    env.update(case.env)
    proc = subprocess.run(
        [
            "bazel",
            f"--output_base={output_base}",
            "sync",
            "--color=no",
            "--curses=no",
            f"--only={case.repository}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def run_case(output_base: Path, case: Case) -> bool:
    code, out = bazel_sync(output_base, case)
    if case.error is None:
        if code == 0:
            print(f"fetch: PASS: {case.name}")
            return True
        print(out[-4000:])
        print(f"fetch: FAIL: {case.name}: bazel sync --only={case.repository} failed")
        return False
    lines = [line for line in out.splitlines() if line.startswith("ERROR: rules_unikernel")]
    if code == 0 or not lines:
        print(out[-4000:])
        print(f"fetch: FAIL: {case.name}: no rules_unikernel error")
        return False
    missing = [w for w in case.error if w not in lines[0]]
    if missing:
        print(lines[0])
        print(f"fetch: FAIL: {case.name}: the error does not say {missing}")
        return False
    print(f"fetch: PASS: {case.name}: {lines[0][len('ERROR: ') :]}")
    return True


def main() -> int:
    lwip = pinned("LWIP")
    with tempfile.TemporaryDirectory(prefix="rules_unikernel-fetch-") as tmp:
        tmpdir = Path(tmp)
        # The right archive, fetched by hand the way docs/dependencies.md says.
        good = tmpdir / "good"
        good.mkdir()
        proc = subprocess.run(
            ["apt-get", "source", "--download-only", "--quiet", f"lwip={lwip['debian_version']}"],
            cwd=good,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr)
            print("fetch: FAIL: apt-get source lwip failed (run tools/setup.sh first)")
            return 1
        wrong = tmpdir / "wrong"
        wrong.mkdir()
        (wrong / lwip["archive"]).write_bytes(b"not lwIP\n")
        zig = pinned('"linux-x86_64"')
        (wrong / zig["archive"]).write_bytes(b"not zig\n")
        empty_index = tmpdir / "index"
        empty_index.mkdir()
        # apt configured with this machine's deb entries only, no deb-src.
        apt = tmpdir / "apt"
        (apt / "parts").mkdir(parents=True)
        (apt / "cache/archives/partial").mkdir(parents=True)
        for src in Path("/etc/apt/sources.list.d").glob("*.sources"):
            if "deb-src" not in src.read_text():
                (apt / "parts" / src.name).write_text(src.read_text())
        (apt / "apt.conf").write_text(
            'Dir::Etc::SourceList "/dev/null";\n'
            f'Dir::Etc::SourceParts "{apt}/parts";\n'
            f'Dir::Cache "{apt}/cache";\n'
        )
        cases = [
            Case(
                "a distdir archive with other bytes is refused",
                "lwip",
                env={"RULES_UNIKERNEL_DISTDIR": str(wrong)},
                error=("@lwip", lwip["archive"], hashlib.sha256(b"not lwIP\n").hexdigest(), lwip["sha256"]),
            ),
            Case(
                "a distdir zig wheel with other bytes is refused",
                "rules_unikernel_zig",
                env={"RULES_UNIKERNEL_DISTDIR": str(wrong)},
                error=("zig", zig["archive"], hashlib.sha256(b"not zig\n").hexdigest(), zig["sha256"]),
            ),
            Case(
                "apt without deb-src entries names tools/setup.sh and the distdir",
                "lwip",
                env={"APT_CONFIG": str(apt / "apt.conf")},
                error=("deb-src", "tools/setup.sh", "RULES_UNIKERNEL_DISTDIR"),
            ),
            Case(
                "pip with an index that lacks the package says where to look",
                "littlefs",
                env={"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": empty_index.as_uri()},
                drop_env=("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"),
                error=("@littlefs", "pip download failed", "PIP_INDEX_URL"),
            ),
            Case("lwIP through apt-get source", "lwip"),
            Case("littlefs through pip download", "littlefs"),
            # apt cannot serve it here, so success means the distdir was used.
            Case(
                "the right archive from the distdir is used",
                "lwip",
                env={"RULES_UNIKERNEL_DISTDIR": str(good), "APT_CONFIG": str(apt / "apt.conf")},
            ),
        ]
        output_base = tmpdir / "output_base"
        try:
            results = [run_case(output_base, case) for case in cases]
        finally:
            subprocess.run(
                ["bazel", f"--output_base={output_base}", "shutdown"],
                cwd=ROOT,
                capture_output=True,
                check=False,
            )
    failed = results.count(False)
    print(f"fetch: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
