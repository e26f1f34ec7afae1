from django.core.management.base import BaseCommand, CommandError

from leads.services.imports import accounts_import_csv, leads_import_csv

IMPORTERS = {"accounts": accounts_import_csv, "leads": leads_import_csv}


class Command(BaseCommand):
    help = "Import accounts or leads from a CSV file (header on line 1). Good rows are imported, bad rows listed."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(IMPORTERS))
        parser.add_argument("path")

    def handle(self, *args, kind, path, **options):
        try:
            with open(path, "rb") as file:
                result = IMPORTERS[kind](file=file)
        except OSError as error:
            raise CommandError(f"Cannot open {path}: {error.strerror}") from None
        self.stdout.write(f"{kind}: {result.created} created, {result.updated} updated, {len(result.errors)} bad rows")
        if result.ignored_columns:
            self.stdout.write(f"Ignored unknown columns: {', '.join(result.ignored_columns)}")
        for error in result.errors:
            self.stderr.write(str(error))
        if result.errors:
            # Non-zero exit so scripts notice, after the good rows were imported.
            raise CommandError(f"{len(result.errors)} bad rows (see above); the other rows were imported.")
