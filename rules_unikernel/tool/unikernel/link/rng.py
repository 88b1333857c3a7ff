"""A deterministic random stream for layout randomisation.

SHA-256 in counter mode. Block ``i`` of the stream for a seed and a purpose
label is

    SHA-256( b"rules_unikernel.rng.v1\\0"
             || u32le(len(seed)) || seed || u32le(len(purpose)) || purpose
             || u64le(i) )

with ``seed`` and ``purpose`` UTF-8 encoded; the stream is block 0, block 1,
... concatenated. Length prefixes keep (seed, purpose) pairs apart ("ab"+"c"
and "a"+"bc" give different streams). Each purpose (text order, padding,
image base) has a stream of its own, so changing one choice, for instance
the padding, leaves the others as they were.

Python's ``random`` is not used: its algorithms and seeding may change
between Python versions, and a layout must not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

DOMAIN = b"rules_unikernel.rng.v1\0"
BLOCK_SIZE = 32

T = TypeVar("T")


def block(seed: str, purpose: str, counter: int) -> bytes:
    """Block ``counter`` of the stream (see the module docstring)."""
    seed_bytes, purpose_bytes = seed.encode(), purpose.encode()
    message = b"".join(
        (
            DOMAIN,
            len(seed_bytes).to_bytes(4, "little"),
            seed_bytes,
            len(purpose_bytes).to_bytes(4, "little"),
            purpose_bytes,
            counter.to_bytes(8, "little"),
        )
    )
    return hashlib.sha256(message).digest()


class Stream:
    """The bytes of one (seed, purpose) stream, read front to back."""

    def __init__(self, seed: str, purpose: str) -> None:
        self._seed = seed
        self._purpose = purpose
        self._counter = 0
        self._buffer = b""

    def read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._buffer += block(self._seed, self._purpose, self._counter)
            self._counter += 1
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound), by rejection sampling.

        Draws the fewest whole bytes that hold ``bound - 1``, keeps the low
        bits up to its bit length, and draws again when the value is out of
        range: every value in range is equally likely, and at most half of
        the draws are rejected on average.
        """
        if bound < 1:
            raise ValueError(f"below({bound}): the bound must be at least 1")
        if bound == 1:
            return 0
        bits = (bound - 1).bit_length()
        mask = (1 << bits) - 1
        size = (bits + 7) // 8
        while True:
            value = int.from_bytes(self.read(size), "little") & mask
            if value < bound:
                return value


def shuffle(items: Sequence[T], stream: Stream) -> tuple[T, ...]:
    """Fisher-Yates: a uniformly random permutation of ``items``.

    For i from the last index down to 1, swap item i with item
    ``below(i + 1)``.
    """
    result = list(items)
    for i in range(len(result) - 1, 0, -1):
        j = stream.below(i + 1)
        result[i], result[j] = result[j], result[i]
    return tuple(result)
