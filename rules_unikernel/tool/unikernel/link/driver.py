"""The link pipeline and its command line.

    inputs -> symbol resolution -> classification -> mark-live -> layout plan
           -> layout randomisation -> linker script -> ld.lld (its garbage
           collection must agree with mark-live) -> checks of the image
           -> map and manifest

``link`` is the library entry point; ``main`` is a thin command line over it,
which Bazel may also start as a persistent worker (unikernel.worker).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from ..worker import params, serve
from . import aslr, lld, manifest, pads, report, script, verify
from .classify import classify_inputs
from .errors import LinkError
from .marklive import INIT_FINI, Liveness, check_agreement, check_undefined, mark_live
from .model import InputSpec
from .notes import HYPERCALL_PAGE, PV_ENTRY, check_guest_name
from .plan import LayoutPlan, build_plan
from .reader import load_input
from .scriptnames import SYMBOL_NAME, shown
from .staging import Staging, staged
from .symtab import Resolution, resolve

PROGRAM = "unikernel-link"


@dataclass(frozen=True)
class Options:
    ld: str
    inputs: tuple[InputSpec, ...]
    output: Path
    entry: str = "_start_pvh"
    guest_name: str = "unikernel"
    debug_output: Path | None = None
    map_file: Path | None = None
    manifest: Path | None = None
    summary: bool = False
    seed: str = aslr.NONE
    aslr_padding: int = 0
    aslr_window_end: int = aslr.DEFAULT_WINDOW_END
    seed_origin: str = aslr.ORIGIN_GIVEN
    seed_file: Path | None = None

    def outputs(self) -> list[Path]:
        optional = (self.debug_output, self.map_file, self.manifest)
        return [self.output, *(path for path in optional if path is not None)]

    def aslr(self, secret: bytes | None = None) -> aslr.AslrOptions:
        """The layout options; ``secret`` is the seed file's content, read by the caller."""
        return aslr.AslrOptions(self.seed, self.aslr_padding, self.aslr_window_end, self.seed_origin, secret)


@dataclass(frozen=True)
class Prepared:
    """Everything decided before lld runs."""

    resolution: Resolution
    liveness: Liveness
    plan: LayoutPlan
    layout: aslr.Randomisation


@dataclass(frozen=True)
class LinkResult:
    plan: LayoutPlan
    resolution: Resolution
    liveness: Liveness
    layout: aslr.Randomisation
    image: verify.ImageInfo
    manifest: dict[str, object]


def link(options: Options) -> LinkResult:
    """Link ``options.inputs`` into the image and the requested side outputs.

    Either every requested output is written, or (on any error) none exists
    afterwards, not even one from an earlier run.
    """
    secret = _check_options(options)
    with staged(options.outputs()) as out:
        return _write(options, prepare(options, secret), out)


def prepare(options: Options, secret: bytes | None = None) -> Prepared:
    """Everything before lld: read inputs, resolve symbols, mark live sections, plan the layout."""
    inputs = tuple(load_input(spec) for spec in options.inputs)
    resolution = resolve(inputs, options.entry, (PV_ENTRY,))
    pv = pv_capable(resolution)
    placed = classify_inputs(resolution)
    # A first plan of everything names the symbols the script defines and
    # refers to; mark-live needs them before the real plan can be made.
    draft = build_plan(placed, None, options.entry, options.guest_name, pv)
    liveness = mark_live(
        resolution,
        placed,
        (options.entry, *INIT_FINI, *sorted(draft.referenced_symbols())),
        draft.defined_symbols(),
    )
    plan = build_plan(placed, liveness.live, options.entry, options.guest_name, pv)
    check_undefined(liveness, resolution, plan.defined_symbols().__contains__)
    plan, layout = aslr.randomise(plan, options.aslr(secret), resolution.loaded)
    return Prepared(resolution, liveness, plan, layout)


def pv_capable(resolution: Resolution) -> bool:
    """Whether the image can boot as a Xen PV guest: it defines the PV entry point.

    Then it gets the PV notes, which also name the hypercall page.
    """
    if PV_ENTRY not in resolution.definitions:
        return False
    if HYPERCALL_PAGE not in resolution.definitions:
        where = resolution.definitions[PV_ENTRY].file.describe()
        raise LinkError(
            f"'{PV_ENTRY}' is defined (in {where}) but '{HYPERCALL_PAGE}' is not: a Xen PV image needs "
            f"both; define the hypercall page (as //libos/platform/xen does) or drop '{PV_ENTRY}'"
        )
    return True


def _write(options: Options, prepared: Prepared, out: Staging) -> LinkResult:
    plan, liveness = prepared.plan, prepared.liveness
    with tempfile.TemporaryDirectory(prefix="unikernel-link-") as scratch:
        script_path = Path(scratch) / "image.ld"
        # UTF-8, as lld reads it: quoted file names are compared byte for byte.
        script_path.write_text(script.render(plan), encoding="utf-8")
        raw_map = Path(scratch) / "image.map" if options.map_file else None
        symbol_order = None
        if plan.symbol_order:
            symbol_order = Path(scratch) / "image.order"
            symbol_order.write_text("".join(f"{name}\n" for name in plan.symbol_order), encoding="utf-8")
        # The padding's objects come last: lld orders their sections by the ordering file.
        pad_objects = tuple(str(path) for path in pads.write_objects(plan.pads, Path(scratch)))
        job = lld.LinkJob(
            script=script_path,
            inputs=(*lld.input_args(options.inputs), *pad_objects),
            output=out.path_for(options.output),
            entry=options.entry,
            undefined=(PV_ENTRY,) if PV_ENTRY in prepared.resolution.definitions else (),
            build_id="sha1",
            strip=True,
            map_file=raw_map,
            symbol_order=symbol_order,
        )
        _run_lld(options.ld, job, liveness, options.output.name)
        image = verify.read_image(job.output)
        sealed = verify.check_image(image, plan, stripped=True)
        verify.check_window(image, prepared.layout, plan.page_size)
        if options.debug_output is not None:
            debug_job = replace(job, output=out.path_for(options.debug_output), strip=False, map_file=None)
            _link_debug(options.ld, debug_job, image, prepared, options.debug_output.name)
            verify.check_same_layout(job.output, debug_job.output)
        facts = manifest.build_manifest(
            manifest.LinkFacts(
                specs=options.inputs,
                resolution=prepared.resolution,
                plan=plan,
                liveness=liveness,
                layout=prepared.layout,
                image=image,
                seal=sealed,
                guest_name=options.guest_name,
            )
        )
        if raw_map is not None and options.map_file is not None:
            text = normalize_map(raw_map.read_text(), [scratch, str(Path.cwd())])
            out.path_for(options.map_file).write_text(text)
        if options.manifest is not None:
            out.path_for(options.manifest).write_text(manifest.render(facts))
    return LinkResult(plan, prepared.resolution, liveness, prepared.layout, image, facts)


def _run_lld(ld: str, job: lld.LinkJob, liveness: Liveness, name: str) -> None:
    """Run lld; its garbage collection must remove exactly what mark-live found dead.

    When lld fails after its garbage collection (a live section the plan
    did not place is an orphan, an error), a disagreement is the cause
    worth reporting, so it is checked first.
    """
    gc = lld.run(ld, job)
    if gc.error is None or gc.printed_gc:
        check_agreement(liveness, gc.removed, name)
    if gc.error is not None:
        raise LinkError(f"ld.lld failed: {gc.error}")


def _link_debug(ld: str, job: lld.LinkJob, image: verify.ImageInfo, prepared: Prepared, name: str) -> None:
    """Link the debug output: same script and inputs, symbols and DWARF kept.

    It carries the image's build-id rather than its own, so a debugger can
    match the two files; its loaded bytes must equal the image's.
    """
    debug_job = replace(job, build_id=f"0x{image.build_id}")
    _run_lld(ld, debug_job, prepared.liveness, name)
    verify.check_image(verify.read_image(debug_job.output), prepared.plan, stripped=False)


def normalize_map(text: str, prefixes: Sequence[str]) -> str:
    """Drop machine-specific directory prefixes (scratch dir, working dir) from lld's map."""
    for prefix in prefixes:
        directory = prefix.rstrip("/")
        if directory:
            text = text.replace(directory + "/", "")
    return text


def _check_options(options: Options) -> bytes | None:
    """Checks the options; returns the secret seed file's bytes, if one is given."""
    check_guest_name(options.guest_name)
    if not SYMBOL_NAME.fullmatch(options.entry):
        raise LinkError(f"--entry {shown(options.entry)} is not a symbol name")
    # Read in this process only: under the persistent worker that is the
    # child forked for this request, so no other request ever sees it.
    secret = aslr.read_secret(options.seed_file) if options.seed_file is not None else None
    aslr.check_options(options.aslr(secret))
    if not options.inputs:
        raise LinkError("no --input given")
    outputs = [path.resolve() for path in options.outputs()]
    if len(set(outputs)) != len(outputs):
        raise LinkError("the outputs must be different files")
    inputs = {Path(spec.path).resolve() for spec in options.inputs}
    if options.seed_file is not None:
        inputs.add(options.seed_file.resolve())
    clash = [path for path in outputs if path in inputs]
    if clash:
        raise LinkError(f"output {clash[0].name} would overwrite an input")
    return secret


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors like every other error (exit 1, one line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise LinkError(message)


def parse_args(argv: Sequence[str]) -> Options:
    parser = _Parser(
        prog=PROGRAM,
        description="Link freestanding x86-64 objects into a Xen PVH unikernel image.",
    )
    parser.add_argument("--ld", required=True, help="executable that behaves as ld.lld")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a .o or .a file of the Bazel target LABEL; repeatable, in link order",
    )
    parser.add_argument(
        "--alwayslink",
        action="append",
        default=[],
        metavar="PATH",
        help="load every member of this --input archive (cc_library alwayslink); repeatable",
    )
    parser.add_argument("--entry", default="_start_pvh", help="entry symbol (default: %(default)s)")
    parser.add_argument("--output", required=True, type=Path, help="the stripped image")
    parser.add_argument("--debug-output", type=Path, help="the same image with symbols and DWARF")
    parser.add_argument("--map", dest="map_file", type=Path, help="ld.lld's link map")
    parser.add_argument("--manifest", type=Path, help="JSON manifest of the link")
    parser.add_argument("--guest-name", default="unikernel", help="name in the Xen GUEST_VERSION note")
    parser.add_argument("--summary", action="store_true", help="print segments and component sizes")
    parser.add_argument(
        "--seed",
        default=aslr.NONE,
        help="layout randomisation seed; 'none' (the default) keeps the plain layout",
    )
    parser.add_argument(
        "--seed-origin",
        choices=aslr.ORIGINS,
        default=aslr.ORIGIN_GIVEN,
        help="where --seed came from, as the manifest reports it: the image's 'label' or 'given' "
        "(the default)",
    )
    parser.add_argument(
        "--seed-file",
        type=Path,
        metavar="PATH",
        help="a secret seed: the file's bytes (16 to 4096) key the layout together with --seed; "
        "the manifest records only a keyed digest of them",
    )
    parser.add_argument(
        "--aslr-padding",
        type=_number,
        default=0,
        metavar="MAX_BYTES",
        help="random padding of 0 to MAX_BYTES (a multiple of 16) before each function (needs --seed)",
    )
    parser.add_argument(
        "--aslr-window-end",
        type=_number,
        default=aslr.DEFAULT_WINDOW_END,
        metavar="ADDRESS",
        help="a randomised image ends below ADDRESS (default: %(default)#x, at most 1 GiB)",
    )
    args = parser.parse_args(list(argv))
    return Options(
        ld=args.ld,
        inputs=_mark_whole(
            tuple(_input_spec(text, position) for position, text in enumerate(args.input)),
            args.alwayslink,
        ),
        output=args.output,
        entry=args.entry,
        guest_name=args.guest_name,
        debug_output=args.debug_output,
        map_file=args.map_file,
        manifest=args.manifest,
        summary=args.summary,
        seed=args.seed,
        seed_origin=args.seed_origin,
        seed_file=args.seed_file,
        aslr_padding=args.aslr_padding,
        aslr_window_end=args.aslr_window_end,
    )


def _number(text: str) -> int:
    """A decimal or 0x-prefixed hexadecimal number."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _mark_whole(specs: tuple[InputSpec, ...], whole: Sequence[str]) -> tuple[InputSpec, ...]:
    unknown = sorted(set(whole) - {spec.path for spec in specs})
    if unknown:
        raise LinkError(f"--alwayslink {unknown[0]}: not one of the --input paths")
    return tuple(replace(spec, whole=spec.path in whole) for spec in specs)


def _input_spec(text: str, position: int) -> InputSpec:
    label, separator, path = text.partition("=")
    if not separator or not label or not path:
        raise LinkError(f"--input {text!r}: expected LABEL=PATH")
    return InputSpec(label, path, position)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: one link, or with ``--persistent_worker`` a Bazel worker serving links."""
    args = sys.argv[1:] if argv is None else list(argv)
    if serve.FLAG in args:
        # Everything else on the worker's own command line is ignored: each
        # request carries a complete link command line.
        return serve.run_stdio(link_command, PROGRAM)
    return link_command(args)


def link_command(argv: Sequence[str]) -> int:
    """One link from a command line (or a params file ``@FILE``); the exit status."""
    try:
        options = parse_args(params.expand(argv))
        result = link(options)
    except params.ParamsFileError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    except LinkError as error:
        print(f"{PROGRAM}: error: {error.message}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the CLI contract is one line, never a traceback
        print(f"{PROGRAM}: error: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if options.summary:
        report.print_summary(result.manifest, Console())
    return 0
