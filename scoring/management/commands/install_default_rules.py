from django.core.management.base import BaseCommand

from scoring.selectors import rule_version_live
from scoring.services import rule_version_install_default


class Command(BaseCommand):
    help = "Publish the default rule version (scoring/engine/defaults.py) unless a version is already live."

    def handle(self, *args, **options):
        live = rule_version_live()
        if live is not None:
            self.stdout.write(f"v{live.number} '{live.name}' is already live; nothing installed.")
            return
        version = rule_version_install_default()
        self.stdout.write(f"Published v{version.number} '{version.name}'; every lead is being rescored.")
