"""Issue 11's figures: a backtest and a suggested version on the scored 100k-lead world.

The world of phase 4 (bench/rescore_world.py) spans 90 days and carries its CRM outcomes. Both
commands run as one process each (`manage.py backtest`, `manage.py suggest_version`), as an
operator would run them, against the bench database: `backtest_seconds` and
`suggest_version_seconds` are their wall times (target: under 120 s each). The suggested
version (learnt from what was known before as-of) is then backtested on the horizon after it, as
the live one was, and the two precisions at capacity are printed side by side.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 120


def add_insights_arguments(parser) -> None:
    parser.add_argument(
        "--insights-as-of-days",
        type=int,
        default=25,
        help="Backtest and suggest as of this many days before now (default 25: the 90-day world leaves the "
        "suggestion two horizons of history before its validation cut-off).",
    )
    parser.add_argument("--insights-horizon", type=int, default=25, help="Days of outcomes after as-of (25).")
    parser.add_argument("--insights-capacity", type=int, default=2000, help="Leads the team can work (2000).")


class CommandFailed(RuntimeError):
    pass


def _command(env: dict, work: Path, name: str, *arguments: str) -> tuple[float, dict[str, str]]:
    """Run one management command, return its wall time and the `name: value` lines it printed."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), name, *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    (work / f"{name}.out").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise CommandFailed(f"{name} failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
    printed = {}
    for line in completed.stdout.splitlines():
        key, separator, value = line.partition(": ")
        if separator and key and " " not in key:
            printed[key] = value.strip()
    return seconds, printed


def insights_figures(options, figures, work: Path, env: dict) -> None:
    import django

    django.setup()
    from scoring.selectors import rule_version_live

    live = rule_version_live()
    if live is None:
        raise RuntimeError("the insights phase needs a scored world with a live version")
    as_of = (datetime.now(UTC) - timedelta(days=options.insights_as_of_days)).date().isoformat()
    common = ["--as-of", as_of, "--capacity", str(options.insights_capacity)]
    horizon = ["--horizon", str(options.insights_horizon)]

    seconds, live_figures = _command(env, work, "backtest", str(live.id), *common, *horizon)
    figures["backtest_seconds"] = round(seconds, 1)
    figures["backtest_candidates"] = live_figures.get("candidates", "?")
    figures["backtest_positives"] = live_figures.get("positives", "?")
    figures["backtest_live_precision_at_capacity"] = live_figures.get("precision_at_capacity", "?")

    started = time.monotonic()
    try:
        seconds, suggested = _command(env, work, "suggest_version", *common, *horizon)
    except CommandFailed as refusal:
        if "No version suggested" not in str(refusal):
            raise
        # A world too small or too young to learn from (the smoke test's): said, not hidden.
        seconds, suggested = time.monotonic() - started, {}
        figures["suggest_version_refused"] = str(refusal).rsplit("CommandError: ", 1)[-1][:200]
    figures["suggest_version_seconds"] = round(seconds, 1)
    version_id = suggested.get("version_id")
    if version_id:
        # Learnt from what was known before as-of; measured on the horizon after it, which it never saw.
        _, measured = _command(env, work, "backtest", version_id, *common, *horizon)
        figures["backtest_suggested_precision_at_capacity"] = measured.get("precision_at_capacity", "?")
    met = figures["backtest_seconds"] < TARGET_SECONDS and figures["suggest_version_seconds"] < TARGET_SECONDS
    figures["insights_target_met"] = "yes" if met else f"no (target {TARGET_SECONDS} s each)"
