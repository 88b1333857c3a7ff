"""The layout generator: SHA-256 counter mode, rejection sampling, Fisher-Yates.

Known-answer vectors were computed once with this implementation and are
pinned: a layout must never change because the generator did.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from itertools import permutations

import pytest

from unikernel.link.rng import DOMAIN, Stream, block, shuffle


def chi_square(counts: Counter, cells: list, total: int) -> float:
    expected = total / len(cells)
    return sum((counts[cell] - expected) ** 2 / expected for cell in cells)


def test_block_is_the_documented_hash():
    message = DOMAIN + (3).to_bytes(4, "little") + b"abc" + (4).to_bytes(4, "little") + b"test"
    message += (1).to_bytes(8, "little")

    assert block("abc", "test", 1) == hashlib.sha256(message).digest()


def test_known_answers():
    assert block("abc", "test", 0).hex() == "f42f7739a9f443f1f5b9825ed9feb4494dff0f2033566de1344e70489d0656f7"
    assert block("abc", "test", 1).hex() == "533fe9a9f411e89ea0ad5983e1ff024fa7db9cdb1dc6dcfdcc31cc798d670943"
    assert block("", "", 0).hex() == "960ec62fb66c19536a865fae6bec6c902e1ee99fa400918ff1b3ff7ffa702716"
    stream = Stream("abc", "test")
    # The first 2-byte draw (1012) is out of range and rejected.
    assert [stream.below(1000) for _ in range(10)] == [375, 169, 323, 501, 642, 729, 436, 845, 15, 563]
    assert shuffle(list(range(10)), Stream("kat", "text-order")) == (3, 0, 9, 2, 4, 1, 6, 7, 5, 8)
    assert "".join(shuffle("abcdefghijklmnopqrstuvwxyz", Stream("seed-1", "text-order"))) == (
        "kqnomticwrzulbyeafhxgjvdps"
    )
    wide = Stream("wide", "test")
    assert [wide.below(2**40 + 1) for _ in range(3)] == [71588558867, 429679254376, 24035458110]


def test_stream_reads_across_blocks_in_order():
    assert Stream("abc", "test").read(40) == block("abc", "test", 0) + block("abc", "test", 1)[:8]


def test_seed_and_purpose_are_length_prefixed():
    assert block("ab", "c", 0) != block("a", "bc", 0)
    assert block("a", "b", 0) != block("b", "a", 0)


@pytest.mark.parametrize("bound", [1, 2, 3, 7, 255, 256, 257, 1000, 2**32 + 3])
def test_below_stays_in_range(bound):
    stream = Stream("range", str(bound))

    assert all(0 <= stream.below(bound) < bound for _ in range(500))


def test_below_refuses_an_empty_range():
    with pytest.raises(ValueError, match="at least 1"):
        Stream("x", "y").below(0)


@pytest.mark.parametrize("bound", [3, 6, 129])
def test_below_is_uniform(bound):
    # 129 = 2^7 + 1 rejects almost half of the 8-bit draws: the worst case.
    draws = 300 * bound
    stream = Stream("uniformity", str(bound))
    counts = Counter(stream.below(bound) for _ in range(draws))

    # Fixed seed, so deterministic; the bound is the chi-square 99.9% point
    # for bound - 1 degrees of freedom (a biased generator lands far above).
    limits = {3: 13.8, 6: 20.5, 129: 182.0}
    assert chi_square(counts, list(range(bound)), draws) < limits[bound]


def _naive_shuffle(items, stream):
    """The classic mistake (swap with any index): 4^4 equally likely runs onto 24 orders."""
    result = list(items)
    for i in range(len(result)):
        j = stream.below(len(result))
        result[i], result[j] = result[j], result[i]
    return tuple(result)


@pytest.mark.parametrize(("method", "uniform"), [(shuffle, True), (_naive_shuffle, False)])
def test_shuffle_is_a_permutation_and_uniform(method, uniform):
    items = ("a", "b", "c", "d")
    cells = list(permutations(items))
    runs = 24 * 250
    counts = Counter(method(items, Stream(f"seed-{i}", "text-order")) for i in range(runs))

    assert set(counts) == set(cells)
    # 99.9% point for 23 degrees of freedom; the naive shuffle shows the
    # check can tell a biased order from a uniform one.
    assert (chi_square(counts, cells, runs) < 49.7) == uniform


def test_shuffle_depends_on_the_seed_only():
    items = list(range(50))

    assert shuffle(items, Stream("s", "text-order")) == shuffle(items, Stream("s", "text-order"))
    assert shuffle(items, Stream("s", "text-order")) != shuffle(items, Stream("t", "text-order"))
    assert sorted(shuffle(items, Stream("s", "text-order"))) == items
    assert shuffle([], Stream("s", "x")) == () and shuffle([1], Stream("s", "x")) == (1,)
