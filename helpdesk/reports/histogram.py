"""Log-scale histograms of durations, for percentiles over large ranges.

A duration falls in bucket 0 under a minute, else in bucket 1 + floor(log_1.1(s / 60)):
each bucket is 10 % wider than the one before, so a percentile read from the buckets
(the geometric middle of each bucket, interpolated between ranks) is within 5 % of
the exact value,
and a day's histogram has a few dozen buckets at most whatever the number of tickets.
"""

import math
from collections import Counter
from collections.abc import Iterable, Mapping

BASE = 60.0
RATIO = 1.1


def bucket(seconds: float) -> int:
    if seconds < BASE:
        return 0
    return 1 + math.floor(math.log(seconds / BASE, RATIO) + 1e-9)


def middle(b: int) -> float:
    if b == 0:
        return BASE / 2
    return BASE * RATIO ** (b - 1) * math.sqrt(RATIO)


def histogram(values: Iterable[float]) -> dict[str, int]:
    """{bucket: count} with string keys (as JSON stores them)."""
    return {str(b): n for b, n in sorted(Counter(bucket(v) for v in values).items())}


def merge(into: Counter, hist: Mapping[str, int]) -> None:
    for b, n in hist.items():
        into[int(b)] += n


def percentile(hist: Counter, fraction: float) -> float | None:
    """As PostgreSQL's percentile_cont: the values at the ranks either side of
    fraction * (n - 1), interpolated, each value the middle of its bucket."""
    total = sum(hist.values())
    if not total:
        return None
    rank = fraction * (total - 1)
    low, high = math.floor(rank), math.ceil(rank)
    values: dict[int, float] = {}
    seen = 0
    for b in sorted(hist):
        for index in (low, high):
            if index not in values and seen <= index < seen + hist[b]:
                values[index] = middle(b)
        seen += hist[b]
    return values[low] + (values[high] - values[low]) * (rank - low)
