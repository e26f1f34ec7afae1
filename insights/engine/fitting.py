"""Fitting a suggested rule version: a time split, a regularised logistic regression, points.

Pure (numpy and scikit-learn, no Django): plain feature matrices in, coefficients out. The
service builds the matrices from what each candidate looked like at a cut-off and reads the
coefficients back into rules marketing ops can read.

Why these choices:
- A time split, never a random one: a rule version is used on the future, so it is fitted on
  older cut-offs whose outcome windows end before the validation cut-off starts; a random
  split would let the model learn from the very weeks it is judged on.
- L1-regularised logistic regression on standardised features: a feature that does not
  predict gets exactly zero (the rule is pruned), and the penalty treats a 0/1 fit rule and a
  0-to-3 engagement count alike. Positives are rare, so classes are balanced by weight.
- Coefficients are log-odds per unit of a feature; a rule's points are its coefficient times
  one scale for the whole version, so the points stay on the version's familiar scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from insights.engine.stats import Rate, lift

DEFAULT_C = 0.05  # inverse penalty strength on standardised features: noise goes to zero from a few hundred rows
ZERO = 1e-6  # a coefficient this small is no evidence either way
MAX_POINTS = 1000  # the rule document's limit (scoring.engine.validation.MAX_POINTS)


# --- the time split -------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSplit:
    """Training cut-offs (oldest first) and the validation cut-off, for outcomes up to `as_of`.

    Rows at a training cut-off are labelled by the outcomes of (cut-off, cut-off + horizon],
    which ends at or before the validation cut-off; validation rows are labelled by
    (validation, as_of]. No outcome labels both a training row and a validation row.
    """

    as_of: datetime
    horizon: timedelta
    training: tuple[datetime, ...]
    validation: datetime

    def training_window(self, cutoff: datetime) -> tuple[datetime, datetime]:
        return cutoff, cutoff + self.horizon

    @property
    def validation_window(self) -> tuple[datetime, datetime]:
        return self.validation, self.as_of


def time_split(
    *, as_of: datetime, horizon_days: int, cutoffs: int = 3, step_days: int | None = None, earliest: datetime
) -> TimeSplit:
    """Validation at as_of - horizon; up to `cutoffs` training cut-offs from as_of - 2 x horizon back
    by `step_days` (half a horizon, at least a week), none before `earliest` (the first lead seen)."""
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    horizon = timedelta(days=horizon_days)
    step = timedelta(days=step_days or max(horizon_days // 2, 7))
    validation = as_of - horizon
    training = []
    cutoff = validation - horizon
    while len(training) < cutoffs and cutoff > earliest:
        training.append(cutoff)
        cutoff -= step
    return TimeSplit(as_of, horizon, tuple(reversed(training)), validation)


# --- fitting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    names: tuple[str, ...]
    coefficients: tuple[float, ...]  # log-odds per unit of each feature, in the feature's own units
    intercept: float

    def coefficient(self, name: str) -> float:
        return self.coefficients[self.names.index(name)]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.coefficients, strict=True))


def balanced_weights(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weights rescaled so positives and negatives weigh the same in total (rare positives count)."""
    positive, negative = weights[labels].sum(), weights[~labels].sum()
    total = positive + negative
    return np.where(labels, weights * total / (2 * positive), weights * total / (2 * negative))


def fit_logistic(
    matrix: Sequence[Sequence[float]] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    *,
    names: Sequence[str],
    sample_weight: Sequence[float] | np.ndarray | None = None,
    c: float = DEFAULT_C,
    seed: int = 0,
) -> Fitted:
    """An L1 logistic regression of `labels` on the columns of `matrix`, classes balanced by weight.

    Columns are standardised for the fit and the coefficients mapped back to the columns' own
    units; a constant column gets zero. Deterministic for a given `seed`.
    """
    x = np.asarray(matrix, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[1] != len(names):
        raise ValueError("the matrix needs one row per label and one column per name")
    if y.all() or not y.any():
        raise ValueError("fitting needs both outcomes: some rows that converted and some that did not")
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    weights = balanced_weights(y, weights)
    mean, spread = x.mean(axis=0), x.std(axis=0)
    varies = spread > 0
    standard = np.zeros_like(x)
    standard[:, varies] = (x[:, varies] - mean[varies]) / spread[varies]
    model = LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear", random_state=seed, max_iter=1000)
    model.fit(standard, y, sample_weight=weights)
    scaled = np.where(varies, model.coef_[0] / np.where(varies, spread, 1.0), 0.0)
    coefficients = tuple(float(value) if abs(value) > ZERO else 0.0 for value in scaled)
    intercept = float(model.intercept_[0] - np.dot(scaled, mean))
    return Fitted(tuple(names), coefficients, intercept)


C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def choose_c(
    older: tuple[np.ndarray, np.ndarray, np.ndarray],
    newer: tuple[np.ndarray, np.ndarray],
    *,
    names: Sequence[str],
    grid: Sequence[float] = C_GRID,
    seed: int = 0,
) -> float | None:
    """The penalty that ranks `newer` rows best when fitted on `older` ones (matrix, labels, weights),
    by average precision: a time split inside the training cut-offs. None when either side lacks
    both outcomes. Ties go to the stronger penalty (fewer rules)."""
    x_old, y_old, w_old = older
    x_new, y_new = newer
    if y_old.all() or not y_old.any() or y_new.all() or not y_new.any():
        return None
    best: tuple[float, float] | None = None
    for c in sorted(grid):
        fitted = fit_logistic(x_old, y_old, names=names, sample_weight=w_old, c=c, seed=seed)
        scores = np.asarray(x_new, dtype=float) @ np.asarray(fitted.coefficients)
        value = average_precision_score(y_new, scores)
        if best is None or value > best[1] + 1e-9:
            best = (c, value)
    return best[0]


# --- from coefficients to points -----------------------------------------------------------------


def points_scale(coefficients: dict[str, float], base_points: dict[str, float]) -> float:
    """Points per unit of log-odds, so the rules that keep their sign keep the version's total points.

    `base_points`: the base version's points of the rules that are features (fit, engagement and
    negative rules). 10 points per unit when no rule keeps its sign.
    """
    kept = [name for name, points in base_points.items() if points * coefficients.get(name, 0.0) > 0]
    spent = sum(abs(base_points[name]) for name in kept)
    weight = sum(abs(coefficients[name]) for name in kept)
    return spent / weight if weight else 10.0


def to_points(coefficient: float, scale: float) -> int:
    """A coefficient as whole points on the version's scale (bounded like any rule's points)."""
    return int(max(-MAX_POINTS, min(MAX_POINTS, round(coefficient * scale))))


# --- evidence ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """How a feature's presence relates to converting: its rate among those with it, and lift."""

    present: int  # rows where the feature is above zero
    converted: Rate  # converted among them
    base_rate: Rate
    lift: float | None

    def to_dict(self) -> dict:
        return {
            "present": self.present,
            "converted": self.converted.to_dict(),
            "base_rate": self.base_rate.to_dict(),
            "lift": self.lift,
        }


def evidence(
    column: Sequence[float] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> Evidence:
    """`weights`: how many candidates each row stands for (a sampled row, several), counts rounded."""
    present = np.asarray(column, dtype=float) > 0
    y = np.asarray(labels, dtype=bool)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    had = round(float(w[present].sum()))
    converted = Rate(round(float(w[present & y].sum())), had)
    base = Rate(round(float(w[y].sum())), round(float(w.sum())))
    return Evidence(had, converted, base, lift(converted, base))


def lift_ranked(
    matrix: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    *,
    min_present: int,
    min_lift: float,
    weights: np.ndarray | None = None,
) -> list[tuple[str, Evidence]]:
    """Columns over-represented among converters, highest lift first: at least `min_present` rows with
    the feature, three of them converting, and `min_lift` times the base rate. Whether one is worth a
    rule is the fit's call; this only keeps the fit from drowning in a long tail of rare behaviours."""
    found = []
    for index, name in enumerate(names):
        found_evidence = evidence(matrix[:, index], labels, weights)
        if found_evidence.present < min_present or found_evidence.converted.count < 3:
            continue
        if found_evidence.lift is not None and found_evidence.lift >= min_lift:
            found.append((name, found_evidence))
    return sorted(found, key=lambda item: (-(item[1].lift or 0.0), item[0]))


# --- validation on weighted rows -----------------------------------------------------------------


@dataclass(frozen=True)
class AtCapacity:
    """The best-scored candidates up to `capacity`, measured; rows carry weights (a sampled row stands for
    several candidates), so on a sampled world these are estimates and on a full one exact counts."""

    picked: float
    precision: float | None
    recall: float | None
    lift: float | None
    base_rate: float | None
    positives: float


def weighted_at_capacity(rows: Sequence[tuple[int, float, bool, float]], capacity: int) -> AtCapacity:
    """`rows`: (id, score, is_positive, weight). Ranked like insights.engine.measures (score, then id)."""
    ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
    total = sum(row[3] for row in ordered)
    positives = sum(row[3] for row in ordered if row[2])
    picked = hits = 0.0
    for _, _, is_positive, weight in ordered:
        if picked >= capacity:
            break
        picked += weight
        hits += weight if is_positive else 0.0
    precision = hits / picked if picked else None
    base_rate = positives / total if total else None
    return AtCapacity(
        picked=picked,
        precision=precision,
        recall=hits / positives if positives else None,
        lift=precision / base_rate if precision is not None and base_rate else None,
        base_rate=base_rate,
        positives=positives,
    )
