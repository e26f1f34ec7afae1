"""Rates that show how small they are: every proportion travels with its count and an interval.

A conversion rate of 50% means little from 2 leads and a lot from 2,000; a page that shows the
rate shows `Rate.count`/`Rate.total` and the Wilson interval beside it. Wilson rather than the
normal approximation: it stays inside [0, 1] and is honest at 0 of n and n of n, which is what
a young team's numbers look like.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the two-sided 95% normal quantile


def wilson_interval(successes: int, total: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of `successes` out of `total` (None when there is nothing to measure)."""
    if total <= 0:
        return None
    if not 0 <= successes <= total:
        raise ValueError(f"{successes} successes out of {total}")
    p = successes / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = (z / (1 + z2 / total)) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # Exact at the edges (floating point leaves 1e-17 below zero at 0 of n).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Rate:
    """`count` out of `total`, with the rate and its 95% Wilson interval (None when total is 0)."""

    count: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.count / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.count, self.total)

    @property
    def low(self) -> float | None:
        interval = self.interval
        return interval[0] if interval else None

    @property
    def high(self) -> float | None:
        interval = self.interval
        return interval[1] if interval else None

    def to_dict(self) -> dict:
        return {"count": self.count, "total": self.total, "rate": self.rate, "low": self.low, "high": self.high}


def lift(rate: Rate, base: Rate) -> float | None:
    """How many times the base rate `rate` converts (None when either cannot be measured)."""
    if rate.rate is None or not base.rate:
        return None
    return rate.rate / base.rate


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) with linear interpolation between order statistics (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def median(values: Iterable[float]) -> float | None:
    return quantile(list(values), 0.5)
