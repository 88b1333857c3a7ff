"""Compile-time layout randomisation: a seed decides object order, padding and base.

With ``--seed none`` (the default) the plan is left as it is: base
``IMAGE_BASE``, functions in lld's input order, no padding. With any other
seed, three independent streams (rng) derived from it decide:

* order: a Fisher-Yates shuffle of the movable function sections of
  ``.text`` (every live ``.text.*`` input section and code placed by its
  flags).
* entry position: the boot code (``.text.boot``, the PVH and PV entries)
  goes to one of the n + 1 gaps between the n shuffled functions, so the
  entry's offset from the base is drawn too: a leaked return address into
  the boot code (main's caller) does not give the base. The PVH entry is
  32-bit code that only has to lie below 4 GiB, which the window keeps.
* data order: the same shuffle, one stream each, of the data objects of
  ``.rodata``, ``.data`` and ``.bss`` (one input section per object with
  -fdata-sections), so one leaked data pointer does not give every data
  address. Linker sets and constructor arrays keep their order.
* padding: with ``--aslr-padding MAX``, 16 * uniform{0 .. MAX/16} bytes
  before each shuffled function: int3 (a section of a generated object,
  pads, or a gap lld fills with int3).
* base: a page-aligned base, uniform among the bases that keep the image
  inside the load window [1 MiB, window end) and wholly above the
  unrandomised image. ``size_bound`` is an upper bound on the image size
  (whatever the order and padding), so the image spans at most
  [base, base + bound) and the unrandomised one [1 MiB, 1 MiB + bound);
  drawing base >= 1 MiB + bound makes them disjoint: with any seed, every
  function and every object has another address than with ``none``. The
  driver checks the bound against the linked image.

The window ends by default at 64 MiB: everything stays far below 1 GiB, so
the entry code's identity map (the first 4 GiB) covers it, its 32-bit
absolute addresses fit, and -mcmodel=small (code and data below 2 GiB)
holds; and the image lies inside the RAM of small guests (QEMU runs use
128 MiB by default). ``--aslr-window-end`` moves the end, up to 1 GiB, for
guests known to have more memory.

The seed is public or secret. A public seed (the image's label, or one
given in the BUILD file or on the command line) is in the manifest, and
anyone with the source rebuilds the layout: its entropy counts only
against someone who has neither. A secret seed is a file's bytes
(``--seed-file``); the streams are then keyed by HMAC-SHA256(secret, the
public seed), so each image still has its own layout, and the manifest
records only HMAC-SHA256(secret, "rules_unikernel seed id") to tell
secrets apart.

Entropy is reported in bits: log2 of the number of bases; log2(n!) for the
order of n functions (log2(n!)/n per function, and log2(n) for where one
given function lands); log2(n + 1) for the entry position; log2(m!) for
the order of m objects of each data section; log2(MAX/16 + 1) per
function for padding. Between
two different seeds a given function keeps its address with probability at
most 1/(number of bases): for a fixed difference of its offsets, two
independent uniform bases differ by exactly that amount at most that often.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from pathlib import Path

from .errors import LinkError
from .model import InputFile
from .order import Realised, realise
from .plan import BUILD_ID_SECTION, IMAGE_BASE, Assignment, LayoutPlan, OutputSection, Placement
from .rng import Stream, shuffle

NONE = "none"
WINDOW_START = IMAGE_BASE
DEFAULT_WINDOW_END = 0x4000000
MAX_WINDOW_END = 0x40000000
PADDING_STEP = 16
MAX_PADDING = 4096
MAX_SEED = 1024

ORDER = "text-order"
PADDING = "text-padding"
BASE = "image-base"
ENTRY = "entry-position"
# Data output sections whose objects are shuffled, and the purpose of each one's stream.
DATA_SECTIONS = {".rodata": "rodata-order", ".data": "data-order", ".bss": "bss-order"}

# Where the seed came from: how the manifest and `inspect` name it.
ORIGIN_LABEL = "label"
ORIGIN_GIVEN = "given"
ORIGINS = (ORIGIN_LABEL, ORIGIN_GIVEN)
KIND_NONE = "none"
KIND_LABEL = "public (derived from the label)"
KIND_GIVEN = "public (given)"
KIND_SECRET = "secret"
MIN_SECRET = 16
MAX_SECRET = 4096
_LAYOUT_KEY = b"rules_unikernel layout seed\0"
_SEED_ID = b"rules_unikernel seed id"

# Relocations for which lld may have to make a GOT entry (8 bytes each):
# R_X86_64_GOT32, GOTPCREL, GOT64, GOTPCREL64, GOTPLT64, GOTPCRELX, REX_GOTPCRELX.
_GOT_RELOCATIONS = frozenset({3, 9, 27, 28, 30, 41, 42})
_GOT_ENTRY = 8
_GOT_HEADER = 24  # .got.plt's three reserved entries
_BUILD_ID_NOTE = 36  # 12-byte header, "GNU\0", a 20-byte SHA-1
_SLACK = 64  # ALIGN()s between the output sections of a group


@dataclass(frozen=True)
class AslrOptions:
    """``secret``: the bytes of a secret seed file; never printed (repr) nor written out."""

    seed: str = NONE
    padding: int = 0
    window_end: int = DEFAULT_WINDOW_END
    origin: str = ORIGIN_GIVEN
    secret: bytes | None = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.seed != NONE

    @property
    def kind(self) -> str:
        if not self.enabled:
            return KIND_NONE
        if self.secret is not None:
            return KIND_SECRET
        return KIND_LABEL if self.origin == ORIGIN_LABEL else KIND_GIVEN

    def stream_seed(self) -> str:
        """What the random streams are drawn from: the seed, or a key derived from it and the secret."""
        if self.secret is None:
            return self.seed
        key = hmac.new(self.secret, _LAYOUT_KEY + self.seed.encode(), hashlib.sha256)
        return "secret:" + key.hexdigest()

    def seed_id(self) -> str | None:
        """A keyed digest that tells secrets apart without revealing them; None for a public seed."""
        if self.secret is None:
            return None
        return hmac.new(self.secret, _SEED_ID, hashlib.sha256).hexdigest()


def read_secret(path: Path) -> bytes:
    """The bytes of a secret seed file, or a one-line LinkError saying how to make a good one."""
    make = f"make one with `head -c 32 /dev/urandom > {path}` and keep it out of version control"
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        raise LinkError(f"--seed-file {path}: no such file; {make}") from None
    except IsADirectoryError:
        raise LinkError(f"--seed-file {path}: a directory, not a file; {make}") from None
    except OSError as error:
        raise LinkError(f"--seed-file {path}: cannot read it ({error.strerror}); {make}") from None
    if not secret:
        raise LinkError(f"--seed-file {path}: the file is empty; {make}")
    if len(secret) < MIN_SECRET:
        raise LinkError(
            f"--seed-file {path}: {len(secret)} bytes, too few to be a secret (at least {MIN_SECRET}); {make}"
        )
    if len(secret) > MAX_SECRET:
        raise LinkError(f"--seed-file {path}: {len(secret)} bytes, more than {MAX_SECRET}; {make}")
    return secret


@dataclass(frozen=True)
class Entropy:
    """Bits of uncertainty for someone who knows everything but the seed."""

    base_bits: float
    order_bits: float
    order_bits_per_function: float
    function_position_bits: float
    padding_bits_per_function: float
    padding_bits: float
    entry_position_bits: float = 0.0
    rodata_order_bits: float = 0.0
    data_order_bits: float = 0.0
    bss_order_bits: float = 0.0


@dataclass(frozen=True)
class Randomisation:
    """What the seed decided, and how much it could have decided otherwise."""

    seed: str
    base: int
    window_start: int
    window_end: int
    size_bound: int
    functions: int
    padding_max: int
    bases: int
    entropy: Entropy
    kind: str = KIND_NONE
    seed_id: str | None = None
    objects: tuple[tuple[str, int], ...] = ()
    """(data output section, objects shuffled in it), in DATA_SECTIONS order."""
    named: tuple[tuple[str, int], ...] = ()
    """(shuffled output section, its units on named lines before its ordered line): see order."""


def check_options(options: AslrOptions) -> None:
    seed = options.seed
    if not seed or len(seed) > MAX_SEED or not all(0x20 < ord(char) < 0x7F for char in seed):
        raise LinkError(f"--seed must be 1 to {MAX_SEED} printable ASCII characters without spaces")
    if options.padding % PADDING_STEP or not 0 <= options.padding <= MAX_PADDING:
        raise LinkError(
            f"--aslr-padding must be a multiple of {PADDING_STEP} between 0 and {MAX_PADDING}, "
            f"not {options.padding}"
        )
    if options.padding and not options.enabled:
        raise LinkError("--aslr-padding needs a --seed: with --seed none the layout is not randomised")
    if options.secret is not None and not options.enabled:
        raise LinkError(
            "--seed-file needs a --seed: with --seed none the layout is not randomised, so the "
            "secret would be ignored; give the image's label as --seed or drop --seed-file"
        )
    if options.origin not in ORIGINS:
        raise LinkError(f"--seed-origin must be one of {', '.join(ORIGINS)}, not {options.origin!r}")
    end = options.window_end
    if end % IMAGE_BASE or not WINDOW_START < end <= MAX_WINDOW_END:
        raise LinkError(
            f"--aslr-window-end must be a multiple of {IMAGE_BASE:#x} above {WINDOW_START:#x} "
            f"and at most {MAX_WINDOW_END:#x}, not {end:#x}"
        )


def randomise(
    plan: LayoutPlan, options: AslrOptions, loaded: Sequence[InputFile] | None = None
) -> tuple[LayoutPlan, Randomisation]:
    """Apply the seed's choices to ``plan``; ``none`` returns it unchanged.

    With ``loaded`` (the files of the link) the shuffled sections are
    written as one ordered line each where lld's symbol ordering can give
    the order (order); without, one line per unit.
    """
    text = plan.output_section(".text")
    boot = tuple(p for p in text.placements if not p.movable)
    movable = tuple(p for p in text.placements if p.movable)
    bound = size_bound(plan, options.padding if options.enabled else 0)
    if not options.enabled:
        entropy = Entropy(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return plan, Randomisation(NONE, plan.base, WINDOW_START, options.window_end, bound, 0, 0, 1, entropy)

    seed = options.stream_seed()
    order = shuffle(movable, Stream(seed, ORDER))
    choices = options.padding // PADDING_STEP + 1
    pads = Stream(seed, PADDING)
    shuffled = tuple(replace(p, pad=PADDING_STEP * pads.below(choices)) for p in order)
    # The boot code stays in one piece (its sections in their order) and
    # takes one of the gaps between the functions.
    gap = Stream(seed, ENTRY).below(len(shuffled) + 1) if boot else 0

    low = WINDOW_START + bound
    high = options.window_end - bound
    if high < low:
        raise LinkError(
            f"--seed: the image may need up to {bound} bytes; to lie wholly above the unrandomised "
            f"image it needs a load window up to at least {WINDOW_START + 2 * bound:#x}, and the "
            f"window ends at {options.window_end:#x}; raise --aslr-window-end"
        )
    bases = (high - low) // plan.page_size + 1
    base = low + plan.page_size * Stream(seed, BASE).below(bases)

    randomised = plan.replace_section(replace(text, placements=(*shuffled[:gap], *boot, *shuffled[gap:])))
    objects = []
    for name, purpose in DATA_SECTIONS.items():
        section = _data_section(plan, name)
        if section is None:
            continue
        placements, count = _shuffle_movable(section.placements, Stream(seed, purpose))
        randomised = randomised.replace_section(replace(section, placements=placements))
        objects.append((name, count))
    written: dict[str, Realised] = {}
    if loaded is not None:
        # The padding before a function in the ordered line is a section of its own (pads).
        randomised, written = realise(randomised, loaded, (".text", *DATA_SECTIONS))
    named = tuple((name, written[name].named) for name in (".text", *DATA_SECTIONS) if name in written)
    return replace(randomised, base=base), Randomisation(
        seed=options.seed,
        base=base,
        window_start=WINDOW_START,
        window_end=options.window_end,
        size_bound=bound,
        functions=len(movable),
        padding_max=options.padding,
        bases=bases,
        entropy=_entropy(bases, len(movable), choices, bool(boot), dict(objects), written=written),
        kind=options.kind,
        seed_id=options.seed_id(),
        objects=tuple(objects),
        named=named,
    )


def _data_section(plan: LayoutPlan, name: str) -> OutputSection | None:
    return next((s for group in plan.groups for s in group.sections if s.name == name), None)


def _shuffle_movable(placements: Sequence[Placement], stream: Stream) -> tuple[tuple[Placement, ...], int]:
    """The movable placements permuted among their own positions; the others stay where they are."""
    slots = [index for index, p in enumerate(placements) if p.movable]
    result = list(placements)
    for index, moved in zip(slots, shuffle([placements[i] for i in slots], stream), strict=True):
        result[index] = moved
    return tuple(result), len(slots)


def size_bound(plan: LayoutPlan, padding: int) -> int:
    """An upper bound on the image's size in bytes, page aligned, for any order and padding.

    Each group starts on a page; in it every live input section costs at
    most its size plus alignment - 1, whatever precedes it; add the notes,
    the build-id, padding at its maximum before every movable function, a
    GOT if lld had to make one, and a little for the script's ALIGN()s.
    """
    live = [a for a in plan.assignments if a.live]
    total = 0
    for group in plan.groups:
        size = _SLACK
        for assignment in live:
            if assignment.group == group.group:
                size += assignment.section.size + max(assignment.section.align, 1) - 1
        for section in group.sections:
            size += sum(note.size for note in section.notes)
            if section.name == BUILD_ID_SECTION:
                size += _BUILD_ID_NOTE
            if section.name == ".text":
                size += padding * sum(1 for p in section.placements if p.movable)
            if any(p.sections == (".got", ".got.plt") for p in section.placements):
                size += _GOT_HEADER + _GOT_ENTRY * _got_relocations(live)
        total += _page_up(size, plan.page_size)
    return total


def _got_relocations(live: list[Assignment]) -> int:
    sections = {(a.file, a.section.index) for a in live}
    files = {a.file for a in live}
    return sum(
        1
        for file in files
        for r in file.relocations
        if r.type in _GOT_RELOCATIONS and (file, r.section) in sections
    )


def _page_up(size: int, page: int) -> int:
    return -(-size // page) * page


def _entropy(
    bases: int,
    functions: int,
    padding_choices: int,
    boot: bool,
    objects: dict[str, int],
    *,
    written: Mapping[str, Realised],
) -> Entropy:
    """The bits, counted on the layout as written (order): named units and the ordered line
    are each shuffled among themselves, so n units split into a named and b ordered ones give
    log2(a!) + log2(b!) bits of order (log2(n!) when none is named)."""
    text = written.get(".text", Realised(functions, 0, True, False))
    groups = (text.ordered, text.named) if text.wildcard else (functions, 0)
    order = sum((_log2_factorial(n) for n in groups), Decimal(0))
    # One given function lands in the ordered line (or, if there is none, among the named units).
    landing = groups[0] or groups[1]
    # The boot code takes one of the gaps of the run it is in.
    entry_gaps = (groups[0] if text.fixed_ordered or not text.wildcard else groups[1]) + 1 if boot else 1
    padding = _log2(padding_choices)
    return Entropy(
        base_bits=_bits(_log2(bases)),
        order_bits=_bits(order),
        order_bits_per_function=_bits(order / functions if functions else Decimal(0)),
        function_position_bits=_bits(_log2(landing) if landing else Decimal(0)),
        padding_bits_per_function=_bits(padding),
        padding_bits=_bits(padding * functions),
        entry_position_bits=_bits(_log2(entry_gaps)),
        rodata_order_bits=_bits(_objects_order(objects, written, ".rodata")),
        data_order_bits=_bits(_objects_order(objects, written, ".data")),
        bss_order_bits=_bits(_objects_order(objects, written, ".bss")),
    )


def _objects_order(objects: dict[str, int], written: Mapping[str, Realised], name: str) -> Decimal:
    count = objects.get(name, 0)
    realised = written.get(name)
    if realised is None or not realised.wildcard:
        return _log2_factorial(count)
    return _log2_factorial(realised.ordered) + _log2_factorial(realised.named)


# Decimal, not float: its ln() is correctly rounded, so the manifest's
# numbers are the same on every machine and Python.
def _log2(value: int) -> Decimal:
    with localcontext() as context:
        context.prec = 40
        return Decimal(value).ln() / Decimal(2).ln()


def _log2_factorial(n: int) -> Decimal:
    """log2(n!) from the top 256 bits of n! (and how many bits were dropped).

    Converting all of n! to a Decimal costs time quadratic in its digits
    (456,574 of them at n = 100,000); the bits dropped change the result by
    less than 2**-255 relative, far below the 40 digits computed.
    """
    if n <= 1:
        return Decimal(0)
    value = math.factorial(n)
    dropped = max(value.bit_length() - 256, 0)
    with localcontext() as context:
        context.prec = 40
        return _log2(value >> dropped) + dropped


def _bits(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.0001")))


def method() -> dict[str, str]:
    """How each choice is made and its entropy computed, for the manifest."""
    return {
        "generator": (
            "SHA-256 in counter mode over (seed, purpose, counter); one stream per purpose "
            f"('{ORDER}', '{PADDING}', '{ENTRY}', '{BASE}', "
            + ", ".join(f"'{purpose}'" for purpose in DATA_SECTIONS.values())
            + "); integers by rejection sampling. With a secret seed file the streams' seed is "
            "'secret:' + hex(HMAC-SHA256(secret, 'rules_unikernel layout seed\\0' || seed)), and "
            "seed_id = hex(HMAC-SHA256(secret, 'rules_unikernel seed id'))"
        ),
        "order": (
            "Fisher-Yates shuffle of the live function sections of .text; "
            "order_bits = log2(n!), order_bits_per_function = log2(n!)/n, "
            "function_position_bits = log2(n) (where one given function lands). "
            "Units no symbol of a name of their own identifies (named_units, a of them) go on lines "
            "of their own before the ordered line, each group in its shuffled order: then "
            "order_bits = log2(a!) + log2((n-a)!) and function_position_bits = log2(n-a)"
        ),
        "entry": (
            "the boot code (.text.boot) goes to one of the n + 1 gaps between the shuffled functions, "
            "uniformly; entry_position_bits = log2(n + 1), the entry's offset from the base "
            "(with a named units: log2(n - a + 1) in the ordered line, log2(a + 1) if it is named)"
        ),
        "data": (
            "Fisher-Yates shuffle of the data objects (input sections) of .rodata, .data and .bss, "
            "each with its own stream; linker sets, constructor arrays, notes and the GOT stay; "
            "<section>_order_bits = log2(m!) for its m objects (log2(a!) + log2((m-a)!) with a named units)"
        ),
        "padding": (
            f"before each shuffled function, {PADDING_STEP} * uniform{{0..max/{PADDING_STEP}}} bytes; "
            f"padding_bits_per_function = log2(max/{PADDING_STEP} + 1), padding_bits = n times that"
        ),
        "base": (
            "uniform page-aligned base in [window_start + size_bound, window_end - size_bound], "
            "size_bound being an upper bound on the image size: the image never overlaps the "
            "unrandomised image at window_start, so every function moves against seed none; "
            "base_bits = log2(bases). Between two seeds a given function keeps its address with "
            "probability at most 1/bases"
        ),
    }
