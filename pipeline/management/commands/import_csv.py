"""`manage.py import_csv accounts|leads|outcomes FILE`: here, above the apps, because outcomes are routing's.

Accounts and leads are imported by leads (leads.services.imports.csv_import); outcomes by routing
(routing.services.outcome_import), which moves the leads' stages with them. After accounts or
leads, the outcomes that named them before they existed are linked at once rather than at the
next sweep.
"""

from django.core.management.base import BaseCommand, CommandError

from leads.csv_import.resources import IMPORT_RESOURCES
from leads.services.imports import RowStatus, csv_import
from routing.services.outcome_import import outcomes_csv_import
from routing.services.outcomes import outcomes_link_unmatched

OUTCOMES = "outcomes"


class Command(BaseCommand):
    help = (
        "Import accounts, leads or outcomes from a CSV file (header on line 1; comma, semicolon or tab separated; "
        "UTF-8). Good rows are imported, bad rows listed with every problem and their line."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted([*IMPORT_RESOURCES, OUTCOMES]))
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="Print what each row would do; write nothing.")
        parser.add_argument(
            "--create-campaigns",
            action="store_true",
            help="Create the campaigns the file names that do not exist yet (otherwise those rows are bad).",
        )

    def handle(self, *args, kind, path, dry_run, create_campaigns, **options):
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as error:
            raise CommandError(f"Cannot open {path}: {error.strerror}") from None
        if kind == OUTCOMES:
            result = outcomes_csv_import(data=data, dry_run=dry_run)
        else:
            result = csv_import(kind=kind, data=data, dry_run=dry_run, create_campaigns=create_campaigns)
        self.stdout.write(f"{kind}: {result.summary()}")
        if result.ignored_columns:
            self.stdout.write(f"Ignored unknown columns: {', '.join(result.ignored_columns)}")
        if dry_run:
            for row in result.rows:
                if row.status != RowStatus.ERROR:
                    self.stdout.write(f"line {row.line}: {row.status} {row.label}")
        for row in result.noted:
            self.stdout.write(f"line {row.line}: {row.note}")
        if kind != OUTCOMES and not dry_run and result.imported:
            linked = outcomes_link_unmatched()
            if linked:
                self.stdout.write(f"Linked {linked} outcomes that named these {kind} before they existed.")
        for error in result.errors:
            self.stderr.write(str(error))
        if result.errors:
            done = "nothing was written (dry run)" if dry_run else "the other rows were imported"
            # Non-zero exit so scripts notice, after the good rows were imported.
            raise CommandError(
                f"{result.bad_rows} bad rows, {len(result.file_errors)} file problems (see above); {done}."
            )
