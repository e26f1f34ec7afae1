"""What precedes buying: each trait's over-representation among buyers, with its verdict in words.

A trait is something an account (or lead) did in the window before its win (an event, or an
event with a property value) or something it is (a fit attribute). Its lift is the share of
buyers with it over the share of the others with it (`ratio_of_shares`, Katz interval). Every
trait measured is kept, the ones that do not predict included: a page that hid them would let
whitepaper downloads keep their points.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from insights.engine.calibration import ratio_of_shares

# Fewer accounts with the trait than this (buyers and others together): too few to say.
MIN_WITH = 5

OVER = "over"
UNDER = "under"
NO_SIGNAL = "no_signal"
TOO_FEW = "too_few"
VERDICTS = {
    OVER: "Over-represented among buyers",
    UNDER: "Under-represented: buyers do this less",
    NO_SIGNAL: "Does not predict: no clear difference",
    TOO_FEW: "Too few to tell",
}


@dataclass(frozen=True)
class Trait:
    group: str  # "event", "property" or "fit"
    name: str  # what a person reads: "Asset Downloaded · asset_type = whitepaper"
    with_winners: int
    with_others: int


def verdict(with_count: int, low: float | None, high: float | None, *, min_with: int = MIN_WITH) -> str:
    if with_count < min_with or low is None or high is None:
        return TOO_FEW
    if low > 1:
        return OVER
    if high < 1:
        return UNDER
    return NO_SIGNAL


def traits_measured(traits: Iterable[Trait], *, winners: int, others: int, min_with: int = MIN_WITH) -> list[dict]:
    """Each trait with its counts, shares (Wilson), lift (Katz) and verdict, by lift, highest first;
    traits whose lift cannot be computed last, by how many have them."""
    rows = []
    for trait in traits:
        ratio = ratio_of_shares(trait.with_winners, winners, trait.with_others, others)
        with_count = trait.with_winners + trait.with_others
        key = verdict(with_count, ratio.low, ratio.high, min_with=min_with)
        rows.append(
            {
                "group": trait.group,
                "name": trait.name,
                "winners_with": trait.with_winners,
                "winners_without": winners - trait.with_winners,
                "others_with": trait.with_others,
                "others_without": others - trait.with_others,
                "share_of_winners": ratio.in_a.to_dict(),
                "share_of_others": ratio.in_b.to_dict(),
                "lift": ratio.lift,
                "lift_low": ratio.low,
                "lift_high": ratio.high,
                "verdict": key,
                "verdict_words": VERDICTS[key],
            }
        )
    rows.sort(
        key=lambda row: (
            row["lift"] is None,
            -(row["lift"] or 0.0),
            -(row["winners_with"] + row["others_with"]),
            row["name"],
        )
    )
    return rows
