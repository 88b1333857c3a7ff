"""unikernel_volume as Bazel builds it: two actions give the same bytes, and
what went in comes out through `bazel run :site -- ls|cat` (the launcher)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path("tests/volume")


def launcher(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.environ["SITE_LAUNCHER"], *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_two_builds_of_the_same_files_are_byte_identical() -> None:
    site, again = (HERE / "site.img").read_bytes(), (HERE / "site_again.img").read_bytes()
    assert len(site) == 64 * 1024
    assert site == again
    # Built from the same files too, but it is another target: only its
    # read_only differs, which is not in the image.
    assert (HERE / "scratch.img").read_bytes() == site


def test_ls_lists_the_files_below_strip_prefix() -> None:
    run = launcher("ls")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "dir           -  /css/",
        f"file {len((HERE / 'site/css/site.css').read_bytes()):>10}  /css/site.css",
        f"file {len((HERE / 'site/index.html').read_bytes()):>10}  /index.html",
    ]


def test_cat_prints_each_file_as_it_went_in() -> None:
    for name in ("index.html", "css/site.css"):
        run = launcher("cat", name)
        assert run.returncode == 0, run.stderr
        assert run.stdout == (HERE / "site" / name).read_text()


def test_a_missing_file_is_one_line() -> None:
    run = launcher("cat", "nope.html")
    assert run.returncode == 2
    assert run.stderr.endswith("site.img: no /nope.html in the volume (see `unikernel volume ls`)\n")
    assert run.stderr.count("\n") == 1
