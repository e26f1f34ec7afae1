"""python manage.py backtest VERSION_ID --as-of YYYY-MM-DD --horizon DAYS --capacity N [--unit lead|account]
[--positive won|opportunity|meeting] [--ranking-csv FILE]

Scores every candidate with the version as of the date (only what was known before it),
labels each by the outcomes of the following DAYS, and prints the figures one a line as
`name: value`. The ranking CSV lists the candidates in rank order. When no outcome follows the
date yet (today's world), it still ranks and writes the CSV, and says precision cannot be
measured yet.
"""

import csv
from argparse import ArgumentTypeError
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from insights.engine.measures import at_capacity, at_threshold, ranked
from insights.models import BacktestUnit, PositiveKind
from insights.selectors.backtest import POSITIVE_KINDS, day_start
from insights.selectors.backtest_ranking import candidate_stages
from insights.selectors.snapshot import snapshot_scored
from scoring.models import RuleVersion

NOT_YET = "cannot be measured yet"


# Argument errors are argparse's: on the command line a usage line and the message (exit 2),
# through call_command a CommandError; never a traceback.
def _positive_int(name: str):
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ArgumentTypeError(f"{name} must be a whole number, not {value!r}") from None
        if number < 1:
            raise ArgumentTypeError(f"{name} must be at least 1, not {number}")
        return number

    return parse


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}") from None


def _fraction(value: float | None) -> str:
    return NOT_YET if value is None else f"{value:.4f}"


class Command(BaseCommand):
    help = (
        "Backtest a rule version as of a date: precision, recall and lift at capacity; optionally the ranking as CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=_positive_int("VERSION_ID"), help="The rule version's id.")
        parser.add_argument("--as-of", dest="as_of", required=True, type=_day, help="YYYY-MM-DD (midnight UTC).")
        parser.add_argument("--horizon", required=True, type=_positive_int("--horizon"), help="Days of outcomes after.")
        parser.add_argument(
            "--capacity", required=True, type=_positive_int("--capacity"), help="Leads the team can work."
        )
        parser.add_argument("--unit", default=BacktestUnit.LEAD, choices=BacktestUnit.values)
        parser.add_argument(
            "--positive", default=PositiveKind.WON, choices=PositiveKind.values, help="What converted means."
        )
        parser.add_argument("--ranking-csv", dest="ranking_csv", help="Write the ranking here (one row per candidate).")

    def handle(self, *args, version_id, as_of, horizon, capacity, unit, positive, ranking_csv, **options):
        version = RuleVersion.objects.filter(id=version_id).first()
        if version is None:
            raise CommandError(f"VERSION_ID: no rule version has id {version_id}")
        moment = day_start(as_of)
        now = timezone.now()
        if moment > now:
            raise CommandError(f"--as-of {as_of} is in the future: nothing is known as of it yet")
        snapshot = snapshot_scored(version=version, as_of=moment, horizon_days=horizon, unit=unit, now=now)
        rows = snapshot.scored(POSITIVE_KINDS[positive])
        order = {row.id: rank for rank, row in enumerate(ranked(rows), start=1)}
        if ranking_csv:
            self._write_ranking(ranking_csv, snapshot, order, moment)
        measurable = snapshot.outcomes_after > 0
        top, qualified = at_capacity(rows, capacity), at_threshold(rows)
        lines = [
            ("version", f"v{version.number} {version.name}"),
            ("as_of", as_of.isoformat()),
            ("horizon_days", horizon),
            ("unit", unit),
            ("positive", positive),
            ("candidates", len(rows)),
            ("positives", top.recall.total),
            ("capacity", capacity),
            ("labels_complete", "yes" if snapshot.labels_complete else "no (the horizon has not passed yet)"),
        ]
        if measurable:
            lines += [
                ("base_rate", _fraction(top.base_rate.rate)),
                ("hits_at_capacity", top.precision.count),
                ("precision_at_capacity", _fraction(top.precision.rate)),
                ("precision_at_capacity_interval", _interval(top.precision.interval)),
                ("recall_at_capacity", _fraction(top.recall.rate)),
                ("lift_at_capacity", _fraction(top.lift)),
                ("qualified", qualified.selected),
                ("precision_at_threshold", _fraction(qualified.precision.rate)),
                ("recall_at_threshold", _fraction(qualified.recall.rate)),
            ]
        else:
            lines += [(name, NOT_YET) for name in ("base_rate", "precision_at_capacity", "recall_at_capacity")]
            lines += [("lift_at_capacity", NOT_YET), ("qualified", qualified.selected)]
            lines.append(
                ("note", f"no outcome follows {as_of} yet: the ranking stands, precision cannot be measured yet")
            )
        if ranking_csv:
            lines.append(("ranking_csv", ranking_csv))
        for name, value in lines:
            self.stdout.write(f"{name}: {value}")

    def _write_ranking(self, path, snapshot, order, moment) -> None:
        stages = candidate_stages(snapshot=snapshot, as_of=moment)
        by_id = {candidate.id: candidate for candidate in snapshot.candidates}
        key = "domain" if snapshot.unit == BacktestUnit.ACCOUNT else "email"
        try:
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["rank", "id", key, "score", "stage", "qualified", "pql_path", "outcomes"])
                for candidate_id, rank in sorted(order.items(), key=lambda pair: pair[1]):
                    candidate = by_id[candidate_id]
                    writer.writerow(
                        [
                            rank,
                            candidate.id,
                            candidate.key,
                            f"{candidate.total:g}",
                            stages.get(candidate.id, ""),
                            "yes" if candidate.is_qualified else "no",
                            candidate.pql_path or "",
                            " ".join(sorted(candidate.outcomes)),
                        ]
                    )
        except OSError as error:
            raise CommandError(f"--ranking-csv: cannot write {path}: {error.strerror}") from None


def _interval(interval) -> str:
    return NOT_YET if interval is None else f"{interval[0]:.4f}-{interval[1]:.4f}"
