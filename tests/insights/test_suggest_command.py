"""`manage.py suggest_version`: a draft and its figures one `name: value` a line; bad arguments named."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from insights.models import VersionSuggestion
from leads.models import Outcome
from scoring.models import RuleVersion, VersionStatus
from scoring.services.versions import rule_version_publish
from tests.insights.test_suggest import _base, signal_history

pytestmark = pytest.mark.django_db

FIGURES = (
    "precision_at_capacity",
    "recall_at_capacity",
    "lift_at_capacity",
    "base_precision_at_capacity",
    "base_recall_at_capacity",
    "base_lift_at_capacity",
    "base_rate",
    "train_candidates",
    "validation_candidates",
    "train_positives_closed_won",
    "train_positives_opportunity",
    "train_positives_meeting",
    "weight_closed_won",
    "weight_opportunity",
    "weight_meeting",
)


def _run(*args: str) -> dict[str, str]:
    out = StringIO()
    call_command("suggest_version", *args, stdout=out)
    return dict(line.split(": ", 1) for line in out.getvalue().splitlines())


def test_it_prints_the_draft_and_its_validation_figures_one_a_line():
    # given a history and its base version, live
    signal_history()
    base = _base()
    rule_version_publish(version_id=base.id)

    # when
    printed = _run("--as-of", "2026-06-01", "--capacity", "20", "--horizon", "14")

    # then the first line names the new draft, and each figure has its line
    version = RuleVersion.objects.get(pk=int(printed["version_id"]))
    assert version.status == VersionStatus.DRAFT and version.based_on_id == base.id
    assert set(FIGURES) <= set(printed)
    assert float(printed["precision_at_capacity"]) > float(printed["base_precision_at_capacity"])
    assert VersionSuggestion.objects.get(version=version).figures["capacity"] == 20


def test_a_named_base_version_is_used_for_accounts_too():
    signal_history(with_accounts=True)
    base = _base()

    arguments = ["--capacity", "20", "--horizon", "14", "--unit", "account", "--base", str(base.id)]
    printed = _run("--as-of", "2026-06-01", *arguments)

    assert VersionSuggestion.objects.get(version_id=int(printed["version_id"])).unit == "account"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--as-of", "2026-13-01", "--capacity", "20"], "--as-of"),
        (["--as-of", "yesterday", "--capacity", "20"], "--as-of"),
        (["--as-of", "2026-06-01", "--capacity", "0"], "--capacity"),
        (["--as-of", "2026-06-01", "--capacity", "many"], "--capacity"),
        (["--as-of", "2026-06-01", "--capacity", "20", "--unit", "team"], "--unit"),
        (["--as-of", "2026-06-01", "--capacity", "20", "--horizon", "-3"], "--horizon"),
        (["--as-of", "2026-06-01", "--capacity", "20", "--base", "999999"], "--base"),
        (["--capacity", "20"], "--as-of"),
    ],
)
def test_a_bad_argument_is_named_and_nothing_is_created(args, named):
    # given
    signal_history(people=20)
    _base()

    # when / then
    with pytest.raises(CommandError, match=named):
        _run(*args)
    assert RuleVersion.objects.count() == 1
    assert not VersionSuggestion.objects.exists()


def test_too_few_outcomes_stop_it_with_a_clear_message_and_nothing_created():
    # given a history with no outcome at all
    signal_history(people=30, buyer_outcome="meeting")
    Outcome.objects.all().delete()
    base = _base()

    # when / then
    with pytest.raises(CommandError, match="No version suggested: too few outcomes to learn from before 2026-06-01"):
        _run("--as-of", "2026-06-01", "--capacity", "20", "--horizon", "14", "--base", str(base.id))
    assert list(RuleVersion.objects.all()) == [base]


def test_without_a_live_version_or_a_base_it_says_so():
    signal_history(people=20)

    with pytest.raises(CommandError, match="no live version to start from"):
        _run("--as-of", "2026-06-01", "--capacity", "20")
