"""How well a score ranks what later converted: at capacity, at a threshold, by band, as probabilities.

Input is a list of `Scored` rows (one lead or account, its score as of a moment, whether the
version qualified it then, and whether it converted within the horizon after). The ranking is
by score, highest first, ties broken by id so two runs over the same rows agree exactly.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from insights.engine.stats import Rate, lift


@dataclass(frozen=True)
class Scored:
    id: int
    score: float
    is_qualified: bool
    is_positive: bool


@dataclass(frozen=True)
class Selection:
    """Some of the candidates picked (the top `capacity`, or those over a threshold), measured."""

    selected: int
    precision: Rate  # converted among the picked
    recall: Rate  # picked among the converted
    base_rate: Rate  # converted among all candidates
    lift: float | None  # precision over the base rate

    def to_dict(self) -> dict:
        return {
            "selected": self.selected,
            "precision": self.precision.to_dict(),
            "recall": self.recall.to_dict(),
            "base_rate": self.base_rate.to_dict(),
            "lift": self.lift,
        }


def ranked(rows: Sequence[Scored]) -> list[Scored]:
    return sorted(rows, key=lambda row: (-row.score, row.id))


def _selection(picked: Sequence[Scored], rows: Sequence[Scored]) -> Selection:
    positives = sum(row.is_positive for row in rows)
    hits = sum(row.is_positive for row in picked)
    precision = Rate(hits, len(picked))
    base = Rate(positives, len(rows))
    return Selection(len(picked), precision, Rate(hits, positives), base, lift(precision, base))


def at_capacity(rows: Sequence[Scored], capacity: int) -> Selection:
    """The `capacity` best-scored candidates: what a team that can work that many would have worked."""
    return _selection(ranked(rows)[: max(capacity, 0)], rows)


def at_threshold(rows: Sequence[Scored]) -> Selection:
    """The candidates the version qualified (its MQL threshold, or a PQL path)."""
    return _selection([row for row in rows if row.is_qualified], rows)


@dataclass(frozen=True)
class Band:
    number: int  # 1 is the best-scored band
    low_score: float
    high_score: float
    converted: Rate
    lift: float | None

    def to_dict(self) -> dict:
        return {
            "band": self.number,
            "low_score": self.low_score,
            "high_score": self.high_score,
            "converted": self.converted.to_dict(),
            "lift": self.lift,
        }


def score_bands(rows: Sequence[Scored], bands: int = 10) -> list[Band]:
    """Rank bands (deciles by default) of near-equal size, best first, each with its conversion and lift."""
    ordered = ranked(rows)
    base = Rate(sum(row.is_positive for row in rows), len(rows))
    result = []
    for number in range(bands):
        chunk = ordered[number * len(ordered) // bands : (number + 1) * len(ordered) // bands]
        if not chunk:
            continue
        converted = Rate(sum(row.is_positive for row in chunk), len(chunk))
        result.append(Band(number + 1, chunk[-1].score, chunk[0].score, converted, lift(converted, base)))
    return result


def brier_score(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Mean squared gap between the probability and what happened (0 is perfect; None when empty)."""
    if not probabilities:
        return None
    return sum((p - float(o)) ** 2 for p, o in zip(probabilities, outcomes, strict=True)) / len(probabilities)


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    mean_predicted: float
    observed: Rate

    def to_dict(self) -> dict:
        return {
            "low": self.low,
            "high": self.high,
            "mean_predicted": self.mean_predicted,
            "observed": self.observed.to_dict(),
        }


def reliability(probabilities: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width probability bins: mean predicted vs observed rate (a calibrated score sits on the diagonal)."""
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, o in zip(probabilities, outcomes, strict=True):
        clipped = min(max(p, 0.0), 1.0)
        grouped[min(int(clipped * bins), bins - 1)].append((clipped, o))
    return [
        ReliabilityBin(
            low=index / bins,
            high=(index + 1) / bins,
            mean_predicted=sum(p for p, _ in members) / len(members),
            observed=Rate(sum(o for _, o in members), len(members)),
        )
        for index, members in enumerate(grouped)
        if members
    ]


@dataclass(frozen=True)
class ThresholdSuggestion:
    threshold: float
    objective: str
    value: float
    selection: Selection


def suggest_threshold(rows: Sequence[Scored], *, objective: str = "f1", capacity: int | None = None):
    """The score threshold that maximises `objective` over the rows (None when nothing converted).

    Objectives: "f1" (precision and recall weighed equally), "f2" (recall twice), "capacity" (the
    score of the `capacity`-th best candidate: qualify as many as the team can work). A suggestion:
    nothing applies it.
    """
    ordered = ranked(rows)
    if not ordered or not any(row.is_positive for row in ordered):
        return None
    if objective == "capacity":
        if not capacity:
            raise ValueError("objective 'capacity' needs a capacity")
        picked = ordered[:capacity]
        selection = _selection(picked, ordered)
        return ThresholdSuggestion(picked[-1].score, objective, selection.precision.rate or 0.0, selection)
    beta = {"f1": 1.0, "f2": 2.0}.get(objective)
    if beta is None:
        raise ValueError(f"unknown objective {objective!r}: f1, f2 or capacity")
    positives = sum(row.is_positive for row in ordered)
    best: tuple[float, int] | None = None
    hits = 0
    for index, row in enumerate(ordered):
        hits += row.is_positive
        # A threshold sits between distinct scores: only cut after the last row of a score.
        if index + 1 < len(ordered) and ordered[index + 1].score == row.score:
            continue
        precision, recall = hits / (index + 1), hits / positives
        denominator = beta * beta * precision + recall
        value = (1 + beta * beta) * precision * recall / denominator if denominator else 0.0
        if best is None or value > best[0]:
            best = (value, index + 1)
    value, cut = best
    return ThresholdSuggestion(ordered[cut - 1].score, objective, value, _selection(ordered[:cut], ordered))
