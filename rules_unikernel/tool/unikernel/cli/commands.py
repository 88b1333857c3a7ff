"""``python -m unikernel.cli``: inspect, verify, diff and symbolize linked images; look inside volumes.

A thin layer: parse arguments, read files, call the library functions that
return data (inspect_image, verify, diff_images) and print what they return.
Exit status: 0 good (or identical), 1 a check failed (or the images differ),
2 the input could not be read or the arguments are wrong, always with one
line ``unikernel: error: ...`` on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from ..release import ReleaseError
from ..release import verify as release
from ..symbolize import annotate, load_symbols
from ..volume import VolumeError, open_volume
from . import files
from .diff import diff_images
from .elf import ElfImage, read_elf
from .errors import CliError
from .inspect import Inspection, inspect_image
from .page import PageImage, render_diff, render_inspect, write_page
from .render import Block, show
from .verify import verify

PROGRAM = "unikernel"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    out = console or Console()
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
        return args.run(args, out)
    except CliError as error:
        print(f"{PROGRAM}: error: {error.message}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - the contract is one line, never a traceback
        print(f"{PROGRAM}: error: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


def _inspect(args: argparse.Namespace, console: Console) -> int:
    if args.top < 0:
        raise CliError(f"inspect: --top {args.top}: expected 0 or more functions")
    path = files.resolve(args.image)
    image = read_elf(path, args.image)
    manifest_path = files.find_manifest(path, _optional_path(args.manifest))
    symbols = image if image.symbols is not None else _debug_twin(path, image)
    inspection = Inspection(
        image=image,
        manifest=files.load_manifest(manifest_path) if manifest_path else None,
        manifest_name=_shown(manifest_path, args.manifest),
        symbols=symbols,
    )
    if args.html is not None:
        page = render_inspect(PageImage(image, inspection.manifest, path.name))
        write_page(files.resolve(args.html), args.html, page)
        _say(console, f"inspect: wrote {args.html} ({len(page)} bytes), a picture of {args.image}")
        return EXIT_OK
    show(inspect_image(inspection, top=args.top), console)
    return EXIT_OK


def _verify(args: argparse.Namespace, console: Console) -> int:
    path = files.resolve(args.image)
    image = read_elf(path, args.image)
    manifest_path = files.find_manifest(path, _optional_path(args.manifest))
    verdict = verify(
        image,
        files.load_manifest(manifest_path) if manifest_path else None,
        _shown(manifest_path, args.manifest),
        debug_twin=files.is_debug_twin(path),
    )
    if verdict.ok:
        _say(console, verdict.summary())
        return EXIT_OK
    for violation in verdict.violations:
        _say(console, violation.line())
    return EXIT_FAILED


def _diff(args: argparse.Namespace, console: Console) -> int:
    paths = [files.resolve(text) for text in (args.a, args.b)]
    a, b = (read_elf(path, text) for path, text in zip(paths, (args.a, args.b), strict=True))
    manifests = [files.find_manifest(path, None) for path in paths]
    loaded = [files.load_manifest(m) for m in manifests if m is not None]
    both = len(loaded) == 2
    differences = diff_images(a, b, *(loaded if both else (None, None)))
    compared = " and their manifests" if both else ""
    if args.html is not None:
        pair = [
            PageImage(image, files.load_manifest(m) if m is not None else None, shown)
            for image, m, shown in zip((a, b), manifests, (args.a, args.b), strict=True)
        ]
        write_page(files.resolve(args.html), args.html, render_diff(*pair, differences))
        _say(console, f"diff: wrote {args.html}, the two images side by side")
    if not differences:
        _say(console, f"diff: identical: {args.a} and {args.b}{compared}")
        return EXIT_OK
    areas = list(dict.fromkeys(d.area for d in differences))
    _say(console, f"diff: {args.a} (A) and {args.b} (B){compared} differ in: {', '.join(areas)}")
    show([Block(area, tuple(d.text for d in differences if d.area == area)) for area in areas], console)
    return EXIT_FAILED


def _symbolize(args: argparse.Namespace, console: Console) -> int:
    path = files.resolve(args.image)
    image = read_elf(path, args.image)
    source = path
    if image.symbols is None:
        if _debug_twin(path, image) is None:
            raise CliError(
                f"symbolize: {args.image} is stripped and has no {path.stem}.debug.elf of the same "
                "build beside it; pass the image's .debug.elf"
            )
        source = files.debug_twin(path)
    symbols = load_symbols(source)
    for name in args.logs or ["-"]:
        if name == "-":
            text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        else:
            log = files.resolve(name)
            try:
                text = log.read_bytes().decode("utf-8", errors="replace")
            except OSError as error:
                raise CliError(f"symbolize: {name}: {error.strerror or error}") from None
        for line in annotate(text.replace("\r", ""), symbols).removesuffix("\n").split("\n"):
            _say(console, line)
    return EXIT_OK


def _volume(args: argparse.Namespace, console: Console) -> int:
    try:
        volume = open_volume(files.resolve(args.image), args.image)
        if args.action == "ls":
            for entry in volume.ls(args.path or "/"):
                size = "-" if entry.is_dir else str(entry.size)
                _say(console, f"{'dir ' if entry.is_dir else 'file'} {size:>10}  {entry.path}")
        elif args.action == "cat":
            if not args.path:
                raise CliError("volume cat: name the file to print (volume cat IMAGE PATH)")
            data = volume.cat(args.path)
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            destination = files.resolve(args.output)
            for path in volume.extract(args.path or "/", destination):
                _say(console, f"extract: {path}")
    except VolumeError as error:
        raise CliError(f"volume {args.action}: {error.message}") from None
    return EXIT_OK


def _verify_release(args: argparse.Namespace, console: Console) -> int:
    try:
        bundle = release.read_bundle(files.resolve(args.bundle))
        problems = release.check_sums(bundle)
        if problems:
            for line in problems:
                _say(console, f"verify-release: {line}")
            return EXIT_FAILED
        _say(console, f"verify-release: {len(bundle.files) - 1} files match SHA256SUMS")
        pages, problems = release.check_pages(bundle)
        if problems:
            for line in problems:
                _say(console, f"verify-release: {line}")
            return EXIT_FAILED
        _say(console, f"verify-release: {pages} pages are the pictures of their images")
        if args.no_rebuild:
            return EXIT_OK
        checkout = files.resolve(args.checkout)
        plan, seed_file = release.plan_rebuild(bundle, checkout, _optional_path(args.seed_file), args.bazel)
        try:
            release.check_seed(bundle, seed_file)
        except ReleaseError as error:
            if error.message.startswith("wrong seed"):
                _say(console, f"verify-release: {error.message}")
                return EXIT_FAILED
            raise
        note = release.check_commit(bundle, checkout)
        if note:
            _say(console, f"verify-release: {note}")
        _say(console, f"verify-release: rebuilding in {checkout}: {' '.join(plan.command)}")
        differences = release.compare(bundle, release.rebuild(plan, checkout))
    except ReleaseError as error:
        raise CliError(f"verify-release: {error.message}") from None
    if differences:
        for line in differences:
            _say(console, f"verify-release: {line}")
        return EXIT_FAILED
    _say(console, f"verify-release: the rebuild is byte-identical to {args.bundle}")
    return EXIT_OK


def _debug_twin(path: Path, image: ElfImage) -> ElfImage | None:
    """A stripped image's symbols live in its ``.debug.elf``; use them if it is the same build."""
    twin = files.debug_twin(path)
    if twin is None or not twin.is_file():
        return None
    try:
        debug = read_elf(twin, twin.name)
    except CliError:
        return None
    return debug if debug.build_id == image.build_id and debug.symbols is not None else None


def _optional_path(text: str | None) -> Path | None:
    return files.resolve(text) if text is not None else None


def _shown(path: Path | None, given: str | None) -> str | None:
    if path is None:
        return None
    return given or path.name


def _say(console: Console, line: str) -> None:
    console.print(line, markup=False, emoji=False, highlight=False, soft_wrap=True)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 2, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix(PROGRAM).strip()
        raise CliError(f"{command}: {message} (see --help)" if command else f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROGRAM,
        description="Inspect, verify, compare and symbolize rules_unikernel images; look inside volumes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="segments, components and largest functions of an image")
    inspect.add_argument("image", help="IMAGE.elf or IMAGE.debug.elf")
    inspect.add_argument("--manifest", help="the link manifest (default: IMAGE.manifest.json, if present)")
    inspect.add_argument(
        "--top", type=int, default=10, help="how many functions to list (default: %(default)s)"
    )
    inspect.add_argument(
        "--html",
        metavar="OUT.html",
        help="write one self-contained page instead: layout to scale, treemap, removed code, entropy",
    )
    inspect.set_defaults(run=_inspect)

    check = commands.add_parser("verify", help="check W^X, page alignment, Xen notes, entry and manifest")
    check.add_argument("image", help="IMAGE.elf or IMAGE.debug.elf")
    check.add_argument("--manifest", help="the link manifest (default: IMAGE.manifest.json, if present)")
    check.set_defaults(run=_verify)

    diff = commands.add_parser("diff", help="what differs between two images (and their manifests)")
    diff.add_argument("a", metavar="A.elf")
    diff.add_argument("b", metavar="B.elf")
    diff.add_argument(
        "--html",
        metavar="OUT.html",
        help="also write one self-contained page: layouts side by side, size deltas",
    )
    diff.set_defaults(run=_diff)

    symbolize = commands.add_parser(
        "symbolize", help="name the code addresses in a guest's fault reports (e.g. a Xen console log)"
    )
    symbolize.add_argument(
        "image", help="the IMAGE.elf that ran (with IMAGE.debug.elf beside it) or IMAGE.debug.elf"
    )
    symbolize.add_argument("logs", nargs="*", metavar="LOG", help="console logs (default: standard input)")
    symbolize.set_defaults(run=_symbolize)

    volume = commands.add_parser(
        "volume", help="list, print or extract the files of a littlefs volume (unikernel_volume)"
    )
    volume.add_argument("action", choices=("ls", "cat", "extract"), help="ls, cat or extract")
    volume.add_argument("image", help="the volume image (NAME.img)")
    volume.add_argument("path", nargs="?", help="a file or directory in the volume (default: all of it)")
    volume.add_argument(
        "--output", "-o", default=".", help="extract: the directory to write into (default: the current one)"
    )
    volume.set_defaults(run=_volume)

    check_release = commands.add_parser(
        "verify-release",
        help="check a release bundle's SHA256SUMS, then rebuild it and compare byte for byte",
    )
    check_release.add_argument("bundle", help="the unikernel_release tarball (NAME.tar)")
    check_release.add_argument(
        "--checkout", default=".", help="the git checkout to rebuild in (default: the current directory)"
    )
    check_release.add_argument(
        "--seed-file",
        help="the release's secret seed file, inside the checkout (default: the recorded label)",
    )
    check_release.add_argument("--bazel", default="bazel", help="the bazel to run (default: %(default)s)")
    check_release.add_argument(
        "--no-rebuild", action="store_true", help="only check SHA256SUMS (and the provenance's subjects)"
    )
    check_release.set_defaults(run=_verify_release)
    return parser
