"""CSV import of outcomes (`import_csv outcomes FILE` and the admin's import page).

Columns `external_id,kind,occurred_at,amount,currency,lead_email,account_domain`. The file is
read, numbered by line and reported like the account and lead imports
(leads.services.imports.csv_rows_import); each row is checked as the API checks an outcome
(routing.services.outcome_input) and recorded by routing.services.outcomes, so a file imported
twice changes nothing the second time, and a row naming a lead or account nobody has yet is kept
and listed (its note), and linked when it appears.
"""

from leads.csv_import.resources import OutcomeColumns
from leads.models import Outcome
from leads.services.imports import ImportResult, RowStatus, RowWritten, csv_rows_import
from routing.services.outcome_input import outcome_input_check
from routing.services.outcomes import RecordStatus, outcome_record

_ROW_STATUS = {
    RecordStatus.CREATED: RowStatus.NEW,
    RecordStatus.UPDATED: RowStatus.UPDATED,
    RecordStatus.UNCHANGED: RowStatus.SKIPPED,
}


def outcome_not_known_yet(outcome: Outcome) -> list[str]:
    """What an unmatched outcome named that nobody has yet (`lead ann@acme.com`), to link when it appears."""
    missing = []
    if outcome.lead_id is None and outcome.lead_email:
        missing.append(f"lead {outcome.lead_email}")
    if outcome.account_id is None and outcome.account_domain:
        missing.append(f"account {outcome.account_domain}")
    return missing


def outcome_unmatched_note(outcome: Outcome) -> str:
    """What an unmatched outcome waits for, in words ('' when it is linked)."""
    missing = outcome_not_known_yet(outcome)
    if not missing:
        return ""
    return f"kept unmatched (no {' and no '.join(missing)} yet): linked when it appears"


def _row_write(cells: dict[str, str]) -> RowWritten:
    recorded = outcome_record(data=outcome_input_check(cells))
    outcome = recorded.outcome
    named = outcome.lead_email or outcome.account_domain or ""
    label = f"{outcome.external_id}: {outcome.get_kind_display()}" + (f", {named}" if named else "")
    return RowWritten(_ROW_STATUS[recorded.status], label, outcome_unmatched_note(outcome))


def outcomes_csv_import(*, data: bytes, dry_run: bool = False) -> ImportResult:
    """Import an outcomes CSV file; with dry_run, say what each row would do and write nothing."""
    return csv_rows_import(
        kind="outcomes", columns_class=OutcomeColumns, data=data, row_write=_row_write, dry_run=dry_run
    )
