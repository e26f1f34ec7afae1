"""`manage.py backtest`: a version scored as of a date, labelled by the outcomes after, its figures
one a line, and the ranking as CSV; bad arguments named, never a traceback."""

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from leads.models import StageChange
from tests.insights.history import account, days, demo_only_version, lead, outcome, track

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def history():
    """As of 1 March: ada and dan asked for a demo; ada, cleo (a minute late) and eve won within 30 days."""
    seen = AS_OF - days(28)
    acme = account("acme.example")
    ada = lead("ada@acme.example", seen=seen, company=acme)
    track(ada, "Demo Requested", AS_OF - days(4))
    outcome("closed_won", AS_OF + days(9), person=ada)
    ben = lead("ben@initech.example", seen=seen)
    cleo = lead("cleo@globex.example", seen=seen)
    track(cleo, "Demo Requested", AS_OF + timedelta(minutes=1))
    outcome("closed_won", AS_OF + days(19), person=cleo)
    dan = lead("dan@acme.example", seen=seen, company=acme)
    track(dan, "Demo Requested", AS_OF - days(9))
    StageChange.objects.create(lead=dan, from_stage="new", to_stage="mql", changed_at=AS_OF - days(8))
    StageChange.objects.create(lead=dan, from_stage="mql", to_stage="sql", changed_at=AS_OF + days(2))  # after
    eve = lead("eve@umbrella.example", seen=seen)
    outcome("closed_won", AS_OF + days(14), person=eve)
    return {"ada": ada, "ben": ben, "cleo": cleo, "dan": dan, "eve": eve}


def _backtest(*args) -> dict[str, str]:
    out = io.StringIO()
    call_command("backtest", *[str(arg) for arg in args], stdout=out)
    lines = out.getvalue().splitlines()
    assert all(": " in line for line in lines), lines
    return dict(line.split(": ", 1) for line in lines)


def test_it_prints_precision_recall_and_lift_at_capacity_one_a_line(history):
    # given a version that qualifies a demo request
    version = demo_only_version()

    # when backtested as of 1 March, 30 days of outcomes, capacity 2
    figures = _backtest(version.id, "--as-of", "2026-03-01", "--horizon", 30, "--capacity", 2)

    # then ada and dan are the top two (cleo's demo came a minute late): one of the three wins
    assert figures["candidates"] == "5"
    assert figures["positives"] == "3"
    assert figures["base_rate"] == "0.6000"
    assert figures["precision_at_capacity"] == "0.5000"
    assert figures["recall_at_capacity"] == "0.3333"
    assert figures["lift_at_capacity"] == "0.8333"
    assert figures["labels_complete"] == "yes"


def test_the_ranking_csv_lists_every_lead_in_rank_order_with_its_stage_as_of_the_date(history, tmp_path):
    path = tmp_path / "ranking.csv"

    _backtest(demo_only_version().id, "--as-of", "2026-03-01", "--horizon", 30, "--capacity", 2, "--ranking-csv", path)

    rows = list(csv.DictReader(path.open()))
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert [row["email"] for row in rows] == [
        "ada@acme.example",
        "dan@acme.example",
        "ben@initech.example",
        "cleo@globex.example",
        "eve@umbrella.example",
    ]
    assert [row["score"] for row in rows] == ["40", "40", "0", "0", "0"]
    # dan was an MQL on 1 March; his move to SQL two days later is not known yet
    assert rows[1]["stage"] == "mql" and rows[0]["stage"] == "new"
    assert rows[0]["id"] == str(history["ada"].id)


def test_accounts_rank_by_domain(history, tmp_path):
    path = tmp_path / "accounts.csv"

    figures = _backtest(
        demo_only_version().id, "--as-of", "2026-03-01", "--horizon", 30, "--capacity", 1, "--unit", "account",
        "--ranking-csv", path,
    )  # fmt: skip

    rows = list(csv.DictReader(path.open()))
    assert [(row["rank"], row["domain"], row["score"], row["stage"]) for row in rows] == [
        ("1", "acme.example", "40", "mql")
    ]
    assert figures["candidates"] == "1" and figures["precision_at_capacity"] == "1.0000"


def test_with_no_outcome_after_the_date_it_still_ranks_and_says_precision_cannot_be_measured_yet(history, tmp_path):
    # given today's world: no outcome has happened after today yet
    path = tmp_path / "today.csv"
    today = timezone.now().date().isoformat()

    figures = _backtest(
        demo_only_version().id, "--as-of", today, "--horizon", 30, "--capacity", 2, "--ranking-csv", path
    )

    assert figures["precision_at_capacity"] == "cannot be measured yet"
    assert "precision cannot be measured yet" in figures["note"]
    # ada, cleo and eve have won since: ben and dan are still in play (dan's demo is past its 60 days)
    assert figures["candidates"] == "2"
    assert [row["email"] for row in csv.DictReader(path.open())] == ["ben@initech.example", "dan@acme.example"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["abc", "--as-of", "2026-03-01", "--horizon", "30", "--capacity", "2"], "VERSION_ID"),
        (["999999", "--as-of", "2026-03-01", "--horizon", "30", "--capacity", "2"], "VERSION_ID"),
        (["{version}", "--as-of", "1 March", "--horizon", "30", "--capacity", "2"], "--as-of"),
        (["{version}", "--as-of", "2999-01-01", "--horizon", "30", "--capacity", "2"], "--as-of"),
        (["{version}", "--as-of", "2026-03-01", "--horizon", "0", "--capacity", "2"], "--horizon"),
        (["{version}", "--as-of", "2026-03-01", "--horizon", "30", "--capacity", "-3"], "--capacity"),
        (["{version}", "--as-of", "2026-03-01", "--horizon", "30", "--capacity", "2", "--unit", "team"], "--unit"),
        (
            [
                "{version}",
                "--as-of",
                "2026-03-01",
                "--horizon",
                "30",
                "--capacity",
                "2",
                "--ranking-csv",
                "/no/such/dir/x.csv",
            ],
            "--ranking-csv",
        ),  # noqa: E501
    ],
)
def test_a_bad_argument_is_a_clear_error_naming_it(history, args, named):
    version = demo_only_version()
    with pytest.raises(CommandError) as refused:
        call_command("backtest", *[arg.format(version=version.id) for arg in args], stdout=io.StringIO())
    assert named in str(refused.value)


def test_on_the_command_line_a_bad_argument_prints_usage_and_no_traceback():
    done = subprocess.run(
        [sys.executable, "manage.py", "backtest", "7", "--as-of", "yesterday", "--horizon", "30", "--capacity", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--as-of must be a date as YYYY-MM-DD" in done.stderr
    assert "Traceback" not in done.stderr
