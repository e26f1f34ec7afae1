"""`manage.py suggest_version --as-of YYYY-MM-DD --capacity N [--unit lead|account] [--base ID] [--horizon DAYS]`.

Learns from what was known before the date, creates a draft rule version (nothing is published)
and prints `version_id` and its time-split validation figures, one `name: value` a line.
"""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from insights.selectors.snapshot import UNITS
from insights.services.suggest import SuggestionError, suggestion_figures_lines, version_suggest
from scoring.models import RuleVersion


def _positive(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise CommandError(f"{name}: give a whole number of at least 1, not {value!r}")
    return number


class Command(BaseCommand):
    help = "Suggest a draft rule version from the outcomes before a date, with its validation figures."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="Learn from what was known before this day (YYYY-MM-DD).")
        parser.add_argument("--capacity", required=True, help="How many the team can work (MQL thresholds).")
        parser.add_argument("--unit", default="lead", help="lead (default) or account.")
        parser.add_argument("--base", help="The version to start from (default: the live one).")
        parser.add_argument("--horizon", default="30", help="Days after a cut-off in which an outcome counts (30).")

    def handle(self, *args, as_of: str, capacity: str, unit: str, base: str | None, horizon: str, **options):
        try:
            moment = datetime.strptime(as_of, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise CommandError(f"--as-of: give a day as YYYY-MM-DD, not {as_of!r}") from None
        if unit not in UNITS:
            raise CommandError(f"--unit: one of {', '.join(UNITS)}, not {unit!r}")
        base_version = None
        if base is not None:
            base_version = RuleVersion.objects.filter(pk=_positive("--base", base)).first()
            if base_version is None:
                raise CommandError(f"--base: no rule version with id {base}")
        try:
            suggestion = version_suggest(
                as_of=moment,
                capacity=_positive("--capacity", capacity),
                unit=unit,
                base=base_version,
                horizon_days=_positive("--horizon", horizon),
            )
        except SuggestionError as error:
            raise CommandError(f"No version suggested: {error}") from None
        for line in suggestion_figures_lines(suggestion):
            self.stdout.write(line)
