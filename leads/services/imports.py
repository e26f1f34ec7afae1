"""CSV import: good rows are imported, bad rows reported by line with every problem.

One service for every interface: the admin import page (preview, then
confirm) and `manage.py import_csv` both call csv_import. The file is read by
leads.csv_import.reader (encoding, delimiter, physical lines) and each row of
accounts and leads checked and written by a django-import-export resource,
whose rules live in leads.services.import_rows. A kind whose rows a higher
layer writes (outcomes: routing moves the leads' stages with them) goes
through csv_rows_import with that layer's row writer: the same reading,
columns, line numbers, savepoints and report.

Line numbers are the file's physical lines, the header being line 1, so a
marketing ops person can open the file and find the row. The import runs in
one transaction with a savepoint per row: one bad row never takes the good
ones down, and a dry run rolls everything back after computing exactly what
would happen (new, updated, unchanged, or bad with all its problems).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from leads.csv_import.reader import CsvTable, column_key, csv_table_read
from leads.csv_import.resources import IMPORT_RESOURCES, UNREADABLE_ROW, CsvResource
from qualify_site.roles import Role, user_has_role


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.column})" if self.column else ""
        return f"line {self.line}{where}: {self.message}"


class RowStatus:
    NEW = "new"
    UPDATED = "updated"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class RowOutcome:
    line: int
    status: str
    label: str = ""
    problems: tuple[RowError, ...] = ()
    # The import-export diff of the row's columns (HTML), for the admin preview.
    diff: tuple = ()
    # Worth a word besides the status (an outcome kept unmatched).
    note: str = ""


@dataclass
class ImportResult:
    kind: str
    dry_run: bool = False
    rows: list[RowOutcome] = field(default_factory=list)
    # Problems of the file itself (a missing key column, an unreadable line), not of one row.
    file_errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    # import-export's own result, for the admin's log entries.
    details: object = None

    def _count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def created(self) -> int:
        return self._count(RowStatus.NEW)

    @property
    def updated(self) -> int:
        return self._count(RowStatus.UPDATED)

    @property
    def skipped(self) -> int:
        return self._count(RowStatus.SKIPPED)

    @property
    def bad_rows(self) -> int:
        return self._count(RowStatus.ERROR)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    @property
    def errors(self) -> list[RowError]:
        """Every problem, in file order."""
        return [*self.file_errors, *(problem for row in self.rows for problem in row.problems)]

    @property
    def noted(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.note]

    def summary(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.skipped} unchanged, {self.bad_rows} bad rows" + (
            " (dry run: nothing written)" if self.dry_run else ""
        )


def _columns(resource_class: type[CsvResource], header: list[str], result: ImportResult) -> list[str | None]:
    """The resource's column for each header cell; None for a column it does not know (listed as ignored)."""
    known = set(resource_class.columns())
    columns: list[str | None] = []
    for raw in header:
        name = column_key(raw)
        name = resource_class.column_aliases.get(name, name)
        if name not in known or name in columns:
            if raw:
                result.ignored_columns.append(raw)
            name = None
        columns.append(name)
    return columns


def _table_columns(resource_class: type[CsvResource], data: bytes, result: ImportResult):
    """Read the file; its table and each header cell's column, or None when a key column is missing."""
    table = csv_table_read(data)
    result.file_errors += [RowError(p.line, p.column, p.message) for p in table.problems]
    columns = _columns(resource_class, table.header, result)
    result.columns = [name for name in columns if name]
    missing = [name for name in resource_class.key_columns() if name not in columns]
    if missing:
        result.file_errors += [RowError(1, name, f"the header has no {name!r} column") for name in missing]
        return table, None
    return table, columns


def _dataset(table: CsvTable, columns: list[str | None]) -> tablib.Dataset:
    dataset = tablib.Dataset(headers=[name for name in columns if name])
    for row in table.rows:
        cells = [*row.cells, *[""] * (len(columns) - len(row.cells))]
        dataset.append([cell.strip() for cell, name in zip(cells, columns, strict=False) if name])
    return dataset


def _row_problems(resource: CsvResource, line: int, row_result) -> list[RowError]:
    problems = []
    if row_result.validation_error is not None:
        for attribute, messages in row_result.validation_error.message_dict.items():
            column = "" if attribute == NON_FIELD_ERRORS else resource.column_of(attribute)
            problems += [RowError(line, column, message) for message in messages if message != UNREADABLE_ROW]
    # Anything else is a defect of ours, not of the file: still named, on its line.
    problems += [RowError(line, "", f"unexpected error: {error.error!r}") for error in row_result.errors]
    return problems


def _outcomes(resource: CsvResource, table: CsvTable, details) -> list[RowOutcome]:
    # report_skipped is on, so import-export keeps one result per dataset row, in file order.
    outcomes = []
    for row, row_result in zip(table.rows, details.rows, strict=True):
        problems = [RowError(p.line, p.column, p.message) for p in row.problems]
        problems += _row_problems(resource, row.line, row_result)
        if problems:
            outcomes.append(RowOutcome(row.line, RowStatus.ERROR, problems=tuple(problems)))
            continue
        status = {"new": RowStatus.NEW, "update": RowStatus.UPDATED}.get(row_result.import_type, RowStatus.SKIPPED)
        outcomes.append(RowOutcome(row.line, status, row_result.object_repr or "", diff=tuple(row_result.diff or ())))
    return outcomes


def csv_import(
    *, kind: str, data: bytes, dry_run: bool = False, create_campaigns: bool = False, user=None
) -> ImportResult:
    """Import a CSV file of `kind` (accounts or leads); with dry_run, say what would happen and write nothing.

    Leads naming a campaign that does not exist are bad rows unless create_campaigns is given. Owners are
    set only by the operator (the command, no user) and admins: for anyone else an owner cell is a bad row.
    """
    resource_class = IMPORT_RESOURCES[kind]
    result = ImportResult(kind=kind, dry_run=dry_run)
    table, columns = _table_columns(resource_class, data, result)
    if columns is None:
        return result
    canonical = dict(zip(table.header, columns, strict=False))
    resource = resource_class(
        create_campaigns=create_campaigns,
        # The command (user None) is the operator's.
        may_set_owner=user is None or user_has_role(user, Role.ADMIN),
        # import-export numbers rows from 1 in dataset order.
        unreadable={
            number: frozenset(canonical.get(problem.column) for problem in row.problems)
            for number, row in enumerate(table.rows, 1)
            if row.problems
        },
    )
    details = resource.import_data(_dataset(table, columns), dry_run=dry_run, use_transactions=True, user=user)
    result.details = details
    result.rows = _outcomes(resource, table, details)
    if details.has_errors() and not dry_run:
        # import-export rolls the whole import back after an unexpected error: say so rather than count rows.
        result.file_errors.append(RowError(1, "", "nothing was imported: an unexpected error stopped the import"))
        result.rows = [row for row in result.rows if row.status == RowStatus.ERROR]
    return result


@dataclass(frozen=True)
class RowWritten:
    status: str  # RowStatus.NEW, UPDATED or SKIPPED
    label: str
    note: str = ""


class _RowNotWritten(Exception):
    """Undoes a row's savepoint: the reader could not read all of it, so it was only checked."""


def _row_problems_of(error: ValidationError, line: int, *, unreadable: set[str]) -> list[RowError]:
    return [
        RowError(line, "" if name == NON_FIELD_ERRORS else name, message)
        for name, messages in error.message_dict.items()
        if name not in unreadable
        for message in messages
    ]


def csv_rows_import(
    *,
    kind: str,
    columns_class: type[CsvResource],
    data: bytes,
    row_write: Callable[[dict[str, str]], RowWritten],
    dry_run: bool = False,
) -> ImportResult:
    """Import a CSV file whose rows `row_write` checks and writes, one savepoint each.

    `row_write` gets the row's cells by column (stripped; '' when empty) and raises a ValidationError
    by column for a bad row. A row the reader could not wholly read is checked (its other problems are
    listed too) but never written. With dry_run everything is rolled back once the report is made.
    """
    result = ImportResult(kind=kind, dry_run=dry_run)
    table, columns = _table_columns(columns_class, data, result)
    if columns is None:
        return result
    canonical = dict(zip(table.header, columns, strict=False))
    with transaction.atomic():
        for row in table.rows:
            unreadable = {canonical.get(problem.column) for problem in row.problems} - {None}
            problems = [RowError(p.line, p.column, p.message) for p in row.problems]
            cells = {
                name: "" if name in unreadable else cell.strip()
                for cell, name in zip(row.cells, columns, strict=False)
                if name
            }
            try:
                with transaction.atomic():
                    written = row_write(cells)
                    if problems:
                        raise _RowNotWritten
            except _RowNotWritten:
                pass
            except ValidationError as error:
                problems += _row_problems_of(error, row.line, unreadable=unreadable)
            if problems:
                result.rows.append(RowOutcome(row.line, RowStatus.ERROR, problems=tuple(problems)))
            else:
                result.rows.append(RowOutcome(row.line, written.status, written.label, note=written.note))
        if dry_run:
            transaction.set_rollback(True)
    return result
