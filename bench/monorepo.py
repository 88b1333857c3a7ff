#!/usr/bin/env python3
"""Generate a synthetic monorepo: N appliances sharing components.

The workspace uses rules_unikernel from this checkout as an external
repository (local_repository, as tests/e2e/consumer does) and holds:

    shared/libK/   synthetic shared libraries of several sizes (8 to 1,024
                   functions, every one reachable from libK_entry); a
                   library may use the next smaller one
    apps/appNNN/   an appliance: a cc_library and its unikernel_image; it
                   calls a seeded random subset of the shared libraries
                   and links real components by profile: none, the
                   network stack (lwIP, sockets, the NIC), the filesystem
                   (littlefs on virtio-blk), or both

The same arguments always give the same files (a SHA-256 stream, not
Python's random, decides). Nothing generated is committed: write it to a
scratch directory.

    python3 bench/monorepo.py /tmp/mono --appliances 200
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_SIZES = (8, 32, 128, 256, 512, 1024)
USE_PERCENT = 35  # chance that an appliance uses a given shared library
PROFILES = ("plain", "net", "fs", "net+fs")
EDIT_LINE = "#define EDIT_MARK 0"
COMPATIBLE = '["@rules_unikernel//rules_unikernel/toolchain:unikernel"]'
BASE_DEPS = ("@rules_unikernel//libos/boot", "@rules_unikernel//libos/libc")
# The components of examples/tcp_echo and of tests/volume's filesystem image.
NET_DEPS = (
    "@rules_unikernel//drivers/nic:any",
    "@rules_unikernel//libos/mm:slab",
    "@rules_unikernel//libos/net:lwip",
    "@rules_unikernel//libos/netdev:nic",
    "@rules_unikernel//libos/sched",
    "@rules_unikernel//libos/time",
)
FS_DEPS = (
    "@rules_unikernel//drivers/virtio_blk",
    "@rules_unikernel//libos/fs",
    "@rules_unikernel//libos/mm:slab",
    "@rules_unikernel//libos/sched",
    "@rules_unikernel//libos/time",
)


class Stream:
    """Deterministic numbers from SHA-256 of (seed, counter): the same on every Python."""

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode()
        self._counter = 0

    def below(self, bound: int) -> int:
        self._counter += 1
        block = hashlib.sha256(
            self._seed + self._counter.to_bytes(8, "little")
        ).digest()
        return int.from_bytes(block[:8], "little") % bound


@dataclass(frozen=True)
class Library:
    index: int
    functions: int
    uses: int | None  # the index of the smaller library it calls, if any

    @property
    def name(self) -> str:
        return f"lib{self.index}"

    @property
    def label(self) -> str:
        return f"//shared/{self.name}"


@dataclass(frozen=True)
class Appliance:
    index: int
    libraries: tuple[int, ...]
    profile: str

    @property
    def name(self) -> str:
        return f"app{self.index:03d}"

    @property
    def image(self) -> str:
        return f"//apps/{self.name}:image"


@dataclass(frozen=True)
class Monorepo:
    appliances: tuple[Appliance, ...]
    libraries: tuple[Library, ...]
    seed: str

    def closure(self, library: int) -> frozenset[int]:
        """``library`` and every library it uses, directly or not."""
        found = set()
        current: int | None = library
        while current is not None and current not in found:
            found.add(current)
            current = self.libraries[current].uses
        return frozenset(found)

    def users(self, library: int) -> tuple[str, ...]:
        """The images that link ``library``: the ones an edit of it must rebuild."""
        return tuple(
            a.image
            for a in self.appliances
            if any(library in self.closure(used) for used in a.libraries)
        )


def plan(appliances: int, seed: str) -> Monorepo:
    stream = Stream(seed)
    libraries = tuple(
        Library(i, size, i - 1 if i > 0 and stream.below(2) == 0 else None)
        for i, size in enumerate(LIBRARY_SIZES)
    )
    apps = []
    for index in range(appliances):
        used = tuple(
            i for i in range(len(libraries)) if stream.below(100) < USE_PERCENT
        )
        if not used:
            used = (stream.below(len(libraries)),)
        apps.append(Appliance(index, used, PROFILES[stream.below(len(PROFILES))]))
    return Monorepo(tuple(apps), libraries, seed)


def library_source(library: Library) -> str:
    name = library.name
    lines = [
        f"/* Synthetic shared library {name}: {library.functions} functions. */",
        f"#include <shared/{name}.h>",
    ]
    if library.uses is not None:
        lines.append(f"#include <shared/lib{library.uses}.h>")
    lines += [EDIT_LINE, f"static volatile long {name}_state;"]
    for n in reversed(range(library.functions)):
        following = f"{name}_f{n + 1}(x + {n})" if n + 1 < library.functions else "x"
        lines.append(
            f"__attribute__((noinline)) static long {name}_f{n}(long x) {{\n"
            f"    {name}_state += x ^ {n * 2654435761 % 65521};\n"
            f"    return {following} + {name}_state;\n"
            f"}}"
        )
    below = f" + lib{library.uses}_entry(x)" if library.uses is not None else ""
    lines.append(
        f"long {name}_entry(int x) {{ return {name}_f0(x + EDIT_MARK){below}; }}"
    )
    return "\n".join(lines) + "\n"


def library_build(library: Library) -> str:
    deps = [f"//shared/lib{library.uses}"] if library.uses is not None else []
    return (
        'load("@rules_cc//cc:defs.bzl", "cc_library")\n\n'
        "cc_library(\n"
        f'    name = "{library.name}",\n'
        f'    srcs = ["{library.name}.c"],\n'
        f'    hdrs = ["include/shared/{library.name}.h"],\n'
        '    includes = ["include"],\n'
        f"    target_compatible_with = {COMPATIBLE},\n"
        '    visibility = ["//visibility:public"],\n'
        f"    deps = {json.dumps(deps)},\n"
        ")\n"
    )


def appliance_source(app: Appliance) -> str:
    lines = [
        f"/* Synthetic appliance {app.name} ({app.profile}). */",
        "#include <stdio.h>",
    ]
    lines += [f"#include <shared/lib{i}.h>" for i in app.libraries]
    if "net" in app.profile:
        lines += ["#include <netinet/in.h>", "#include <sys/socket.h>"]
    if "fs" in app.profile:
        lines += ["#include <fs/fs.h>", "#include <virtio_blk/virtio_blk.h>"]
    lines += [
        "",
        "int main(int argc, char **argv) {",
        "    long acc = argc;",
        "    (void)argv;",
    ]
    lines += [f"    acc += lib{i}_entry((int)acc);" for i in app.libraries]
    # The real components are linked and reachable; they run only on request.
    if "net" in app.profile:
        lines.append(
            "    if (argc > 1 && argv[1][0] == 'n') acc += socket(AF_INET, SOCK_STREAM, 0);"
        )
    if "fs" in app.profile:
        lines += [
            "    struct blkdev *disk;",
            "    struct fs *files;",
            "    if (argc > 1 && argv[1][0] == 'f' && virtio_blk_open_first(&disk) == 0)",
            "        acc += fs_mount(disk, NULL, &files);",
        ]
    lines += [f'    printf("{app.name}: %ld\\n", acc);', "    return 0;", "}"]
    return "\n".join(lines) + "\n"


def appliance_build(app: Appliance) -> str:
    deps = sorted(
        {*BASE_DEPS, *(f"//shared/lib{i}" for i in app.libraries)}
        | (set(NET_DEPS) if "net" in app.profile else set())
        | (set(FS_DEPS) if "fs" in app.profile else set())
    )
    listed = "".join(f'        "{d}",\n' for d in deps)
    return (
        'load("@rules_cc//cc:defs.bzl", "cc_library")\n'
        'load("@rules_unikernel//rules_unikernel:defs.bzl", "unikernel_image")\n\n'
        "cc_library(\n"
        f'    name = "{app.name}",\n'
        '    srcs = ["main.c"],\n'
        f"    target_compatible_with = {COMPATIBLE},\n"
        f"    deps = [\n{listed}    ],\n"
        ")\n\n"
        "unikernel_image(\n"
        '    name = "image",\n'
        f'    deps = [":{app.name}"],\n'
        ")\n"
    )


def workspace(checkout: Path) -> str:
    compat = checkout / "third_party" / "compat"
    return (
        "# Generated by bench/monorepo.py: a synthetic monorepo using rules_unikernel.\n"
        'workspace(name = "mono")\n\n'
        + "".join(
            f'local_repository(name = "{name}", path = "{compat / name}")\n\n'
            for name in (
                "rules_cc",
                "rules_java",
                "rules_python",
                "remote_coverage_tools",
            )
        )
        + 'local_repository(name = "platforms", path = "/usr/share/bazel/tools/platforms")\n\n'
        'local_repository(name = "bazel_skylib", path = "/usr/share/bazel/tools/skylib")\n\n'
        f'local_repository(name = "rules_unikernel", path = "{checkout}")\n\n'
        'load("@rules_unikernel//rules_unikernel:repositories.bzl", '
        '"rules_unikernel_dependencies", "rules_unikernel_register_toolchains")\n\n'
        "rules_unikernel_dependencies()\n\n"
        "rules_unikernel_register_toolchains()\n"
    )


BAZELRC = """\
# As tests/e2e/consumer/.bazelrc (what docs/rules.md tells users).
build --incompatible_enable_cc_toolchain_resolution
build --incompatible_strict_action_env
build --spawn_strategy=processwrapper-sandbox
build --strategy=UnikernelLink=worker,processwrapper-sandbox
"""


def files(repo: Monorepo, checkout: Path) -> Iterator[tuple[str, str]]:
    """Every generated file: (path relative to the workspace, text)."""
    yield "WORKSPACE", workspace(checkout)
    yield "BUILD.bazel", ""
    yield ".bazelrc", BAZELRC
    yield "monorepo.json", json.dumps(describe(repo), indent=1) + "\n"
    for library in repo.libraries:
        base = f"shared/{library.name}"
        yield f"{base}/BUILD.bazel", library_build(library)
        yield f"{base}/{library.name}.c", library_source(library)
        yield (
            f"{base}/include/shared/{library.name}.h",
            f"long {library.name}_entry(int x);\n",
        )
    for app in repo.appliances:
        yield f"apps/{app.name}/BUILD.bazel", appliance_build(app)
        yield f"apps/{app.name}/main.c", appliance_source(app)


def describe(repo: Monorepo) -> dict[str, object]:
    """What scale.py needs: the images and, per library, the images that use it."""
    return {
        "seed": repo.seed,
        "images": [a.image for a in repo.appliances],
        "libraries": {
            lib.name: {
                "functions": lib.functions,
                "uses": lib.uses,
                "users": list(repo.users(lib.index)),
            }
            for lib in repo.libraries
        },
    }


def generate(
    directory: Path, appliances: int, seed: str, checkout: Path = ROOT
) -> Monorepo:
    """Write the monorepo into ``directory`` (emptied first if it holds an earlier one)."""
    if directory.exists() and any(directory.iterdir()):
        if not (directory / "monorepo.json").exists():
            raise SystemExit(
                f"monorepo: {directory} is not empty and holds no generated monorepo; "
                "give an empty or new directory"
            )
        shutil.rmtree(directory)
    repo = plan(appliances, seed)
    for relative, text in files(repo, checkout.resolve()):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return repo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "directory",
        type=Path,
        help="where to write the workspace (new or a generated one)",
    )
    parser.add_argument(
        "--appliances",
        type=int,
        default=200,
        help="number of images (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", default="1", help="decides every random choice (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.appliances < 1 or args.appliances > 999:
        parser.error("--appliances must be from 1 to 999")
    repo = generate(args.directory, args.appliances, args.seed)
    print(
        f"monorepo: {len(repo.appliances)} appliances, {len(repo.libraries)} shared libraries in {args.directory}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
