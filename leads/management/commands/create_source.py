"""`manage.py create_source NAME --kind product|marketing|crm`: create a source and print its write key."""

from django.core.management.base import BaseCommand, CommandError

from leads.models import SourceKind
from leads.services.sources import SourceError, source_create


class Command(BaseCommand):
    help = "Create an event source and print its write key (shown once: only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A unique name, e.g. 'Product app'.")
        parser.add_argument("--kind", required=True, choices=SourceKind.values, help="What sends the events.")

    def handle(self, *args, name: str, kind: str, **options):
        try:
            source, write_key = source_create(name=name, kind=kind)
        except SourceError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Created source {source.name!r} ({source.kind}).")
        self.stdout.write("Write key (shown once, store it now):")
        self.stdout.write(write_key)
