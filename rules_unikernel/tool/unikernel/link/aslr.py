"""Compile-time layout randomisation: a seed decides function order, padding and base.

With ``--seed none`` (the default) the plan is left as it is: base
``IMAGE_BASE``, functions in lld's input order, no padding. With any other
seed, three independent streams (rng) derived from it decide:

* order: a Fisher-Yates shuffle of the movable function sections of
  ``.text`` (every live ``.text.*`` input section and code placed by its
  flags). ``.text.boot`` stays first: the PVH entry is 32-bit code that only
  has to stay below 4 GiB, so it could move, but keeping it first keeps the
  entry address easy to find and costs the shuffle nothing.
* padding: with ``--aslr-padding MAX``, 16 * uniform{0 .. MAX/16} bytes
  before each shuffled function (lld fills the gap with int3).
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

Entropy is reported in bits: log2 of the number of bases; log2(n!) for the
order of n functions (log2(n!)/n per function, and log2(n) for where one
given function lands); log2(MAX/16 + 1) per function for padding. Between
two different seeds a given function keeps its address with probability at
most 1/(number of bases): for a fixed difference of its offsets, two
independent uniform bases differ by exactly that amount at most that often.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from .errors import LinkError
from .plan import BUILD_ID_SECTION, IMAGE_BASE, Assignment, LayoutPlan
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

# Relocations for which lld may have to make a GOT entry (8 bytes each):
# R_X86_64_GOT32, GOTPCREL, GOT64, GOTPCREL64, GOTPLT64, GOTPCRELX, REX_GOTPCRELX.
_GOT_RELOCATIONS = frozenset({3, 9, 27, 28, 30, 41, 42})
_GOT_ENTRY = 8
_GOT_HEADER = 24  # .got.plt's three reserved entries
_BUILD_ID_NOTE = 36  # 12-byte header, "GNU\0", a 20-byte SHA-1
_SLACK = 64  # ALIGN()s between the output sections of a group


@dataclass(frozen=True)
class AslrOptions:
    seed: str = NONE
    padding: int = 0
    window_end: int = DEFAULT_WINDOW_END

    @property
    def enabled(self) -> bool:
        return self.seed != NONE


@dataclass(frozen=True)
class Entropy:
    """Bits of uncertainty for someone who knows everything but the seed."""

    base_bits: float
    order_bits: float
    order_bits_per_function: float
    function_position_bits: float
    padding_bits_per_function: float
    padding_bits: float


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
    end = options.window_end
    if end % IMAGE_BASE or not WINDOW_START < end <= MAX_WINDOW_END:
        raise LinkError(
            f"--aslr-window-end must be a multiple of {IMAGE_BASE:#x} above {WINDOW_START:#x} "
            f"and at most {MAX_WINDOW_END:#x}, not {end:#x}"
        )


def randomise(plan: LayoutPlan, options: AslrOptions) -> tuple[LayoutPlan, Randomisation]:
    """Apply the seed's choices to ``plan``; ``none`` returns it unchanged."""
    text = plan.output_section(".text")
    fixed = tuple(p for p in text.placements if not p.movable)
    movable = tuple(p for p in text.placements if p.movable)
    bound = size_bound(plan, options.padding if options.enabled else 0)
    if not options.enabled:
        entropy = Entropy(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return plan, Randomisation(NONE, plan.base, WINDOW_START, options.window_end, bound, 0, 0, 1, entropy)

    order = shuffle(movable, Stream(options.seed, ORDER))
    choices = options.padding // PADDING_STEP + 1
    pads = Stream(options.seed, PADDING)
    shuffled = tuple(replace(p, pad=PADDING_STEP * pads.below(choices)) for p in order)

    low = WINDOW_START + bound
    high = options.window_end - bound
    if high < low:
        raise LinkError(
            f"--seed: the image may need up to {bound} bytes; to lie wholly above the unrandomised "
            f"image it needs a load window up to at least {WINDOW_START + 2 * bound:#x}, and the "
            f"window ends at {options.window_end:#x}; raise --aslr-window-end"
        )
    bases = (high - low) // plan.page_size + 1
    base = low + plan.page_size * Stream(options.seed, BASE).below(bases)

    new_text = replace(text, placements=(*fixed, *shuffled))
    randomised = replace(plan.replace_section(new_text), base=base)
    return randomised, Randomisation(
        seed=options.seed,
        base=base,
        window_start=WINDOW_START,
        window_end=options.window_end,
        size_bound=bound,
        functions=len(movable),
        padding_max=options.padding,
        bases=bases,
        entropy=_entropy(bases, len(movable), choices),
    )


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
            movable = sum(1 for p in section.placements if p.movable)
            size += padding * movable
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


def _entropy(bases: int, functions: int, padding_choices: int) -> Entropy:
    order = _log2_factorial(functions)
    padding = _log2(padding_choices)
    return Entropy(
        base_bits=_bits(_log2(bases)),
        order_bits=_bits(order),
        order_bits_per_function=_bits(order / functions if functions else Decimal(0)),
        function_position_bits=_bits(_log2(functions) if functions else Decimal(0)),
        padding_bits_per_function=_bits(padding),
        padding_bits=_bits(padding * functions),
    )


# Decimal, not float: its ln() is correctly rounded, so the manifest's
# numbers are the same on every machine and Python.
def _log2(value: int) -> Decimal:
    with localcontext() as context:
        context.prec = 40
        return Decimal(value).ln() / Decimal(2).ln()


def _log2_factorial(n: int) -> Decimal:
    return _log2(math.factorial(n)) if n > 1 else Decimal(0)


def _bits(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.0001")))


def method() -> dict[str, str]:
    """How each choice is made and its entropy computed, for the manifest."""
    return {
        "generator": (
            "SHA-256 in counter mode over (seed, purpose, counter); one stream per purpose "
            f"('{ORDER}', '{PADDING}', '{BASE}'); integers by rejection sampling"
        ),
        "order": (
            "Fisher-Yates shuffle of the live function sections of .text after .text.boot; "
            "order_bits = log2(n!), order_bits_per_function = log2(n!)/n, "
            "function_position_bits = log2(n) (where one given function lands)"
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
