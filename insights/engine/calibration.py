"""Reading scores as probabilities, and how over-represented a trait is among buyers.

Points are not probabilities: a total of 80 says nothing by itself about the chance of a deal.
`platt_fit` learns the mapping (a logistic curve over the score, Platt scaling) from one set of
rows and `platt_apply` reads another set with it; callers fit on an earlier period and measure
on a later one, so the Brier score and the reliability diagram are out of sample.

`ratio_of_shares` is the lift of "what precedes buying": the share of buyers with a trait over
the share of the others with it, with Katz's log interval (the usual interval of a risk ratio).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from insights.engine.measures import Scored
from insights.engine.stats import Z_95, Rate

# Fewer rows of either class than this and a curve fitted on them would be noise.
MIN_PER_CLASS = 2


@dataclass(frozen=True)
class HistogramBin:
    low: float
    high: float
    converted: int
    not_converted: int

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "converted": self.converted, "not_converted": self.not_converted}


def score_histogram(rows: Sequence[Scored], bins: int = 10) -> list[HistogramBin]:
    """Equal-width bins of the score from the lowest to the highest, with the converted and the
    others counted apart (the last bin includes the highest score). One bin when all scores agree."""
    if not rows:
        return []
    low, high = min(row.score for row in rows), max(row.score for row in rows)
    if high == low:
        converted = sum(row.is_positive for row in rows)
        return [HistogramBin(low, high, converted, len(rows) - converted)]
    width = (high - low) / bins
    counts = [[0, 0] for _ in range(bins)]
    for row in rows:
        index = min(int((row.score - low) / width), bins - 1)
        counts[index][0 if row.is_positive else 1] += 1
    return [
        HistogramBin(low + index * width, low + (index + 1) * width, converted, others)
        for index, (converted, others) in enumerate(counts)
    ]


@dataclass(frozen=True)
class PlattCurve:
    """p = 1 / (1 + exp(-(slope * score + intercept))), fitted on `rows` rows of which `positives` converted."""

    slope: float
    intercept: float
    rows: int
    positives: int

    def probability(self, score: float) -> float:
        z = self.slope * score + self.intercept
        # Both branches avoid overflow for large |z|.
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def to_dict(self) -> dict:
        return {"slope": self.slope, "intercept": self.intercept, "rows": self.rows, "positives": self.positives}


def platt_fit(rows: Sequence[Scored]) -> PlattCurve | None:
    """A logistic curve of conversion over the score, fitted by maximum likelihood (scikit-learn,
    unpenalised, on the standardised score). None when either class has fewer than MIN_PER_CLASS
    rows or every score is the same: there is nothing to learn a curve from."""
    positives = sum(row.is_positive for row in rows)
    if positives < MIN_PER_CLASS or len(rows) - positives < MIN_PER_CLASS:
        return None
    scores = [row.score for row in rows]
    mean = sum(scores) / len(scores)
    spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    if spread == 0:
        return None
    # Imported here: scikit-learn takes a second to load and only this function needs it.
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=math.inf, tol=1e-10, max_iter=1000)  # C=inf: unpenalised
    model.fit([[(s - mean) / spread] for s in scores], [row.is_positive for row in rows])
    slope = float(model.coef_[0][0]) / spread
    intercept = float(model.intercept_[0]) - slope * mean
    return PlattCurve(slope, intercept, len(rows), positives)


def platt_apply(curve: PlattCurve, rows: Sequence[Scored]) -> list[float]:
    return [curve.probability(row.score) for row in rows]


@dataclass(frozen=True)
class ShareRatio:
    """A trait among two groups: `with_a` of `total_a` (buyers) and `with_b` of `total_b` (the others)."""

    in_a: Rate
    in_b: Rate
    lift: float | None  # share among a over share among b
    low: float | None
    high: float | None

    def to_dict(self) -> dict:
        return {"lift": self.lift, "low": self.low, "high": self.high}


def ratio_of_shares(with_a: int, total_a: int, with_b: int, total_b: int, *, z: float = Z_95) -> ShareRatio:
    """(with_a / total_a) / (with_b / total_b) with Katz's 95% log interval. When a group is all
    with the trait (a cell of the two-by-two table is zero) the interval is taken on the counts
    plus one half each (Haldane-Anscombe), else it would shrink to nothing at 100%. With no one
    of either group with the trait the ratio is 0 or unbounded and the interval undefined: they
    are None where they cannot be computed, and a caller shows the counts instead."""
    in_a, in_b = Rate(with_a, total_a), Rate(with_b, total_b)
    if not total_a or not total_b or not with_b:
        return ShareRatio(in_a, in_b, None, None, None)
    value = in_a.rate / in_b.rate
    if not with_a:
        return ShareRatio(in_a, in_b, 0.0, None, None)
    a, n_a, b, n_b = with_a, total_a, with_b, total_b
    if with_a == total_a or with_b == total_b:
        a, n_a, b, n_b = a + 0.5, n_a + 1, b + 0.5, n_b + 1
    centre = math.log((a / n_a) / (b / n_b))
    spread = z * math.sqrt(1 / a - 1 / n_a + 1 / b - 1 / n_b)
    return ShareRatio(in_a, in_b, value, math.exp(centre - spread), math.exp(centre + spread))
