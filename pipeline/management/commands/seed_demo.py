import argparse
import os
import time
from datetime import datetime, timedelta

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from leads.demo.loader import (
    SOURCE_NAMES,
    default_now,
    demo_accounts_assign_owners,
    demo_is_loaded,
    demo_outcome_fields,
    demo_users_create,
    demo_world_load,
)
from leads.demo.world import MARKETING, WorldSpec
from leads.models import Source
from pipeline.demo_history import demo_history_redate
from routing.demo import routing_demo_assignments, routing_demo_setup
from routing.services.outcomes import REJECTED, outcomes_record


def _aware_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-01-01T00:00:00Z")
    return moment


class Command(BaseCommand):
    help = (
        "Load a realistic, deterministic B2B demo world (accounts, people, 90 days of marketing and product "
        "events, CRM outcomes) through the real ingestion path, and create a login per role."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="Same seed, same world (default 7).")
        parser.add_argument(
            "--accounts", type=int, default=300, help="Companies (default 300: ~1,400 leads, ~50k events)."
        )
        parser.add_argument("--leads-per-account", type=int, default=6, help="Average people per company.")
        parser.add_argument("--days", type=int, default=90, help="History length in days, ending at --now.")
        parser.add_argument("--now", type=_aware_datetime, help="End of the history (ISO 8601; default: now).")
        parser.add_argument("--batch-size", type=int, default=500, help="Messages per ingestion batch.")
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.getenv("PORT") or 8000),
            help="The port the demo is served on, for the address printed (default: $PORT, else 8000).",
        )
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when events or leads exist.")
        parser.add_argument("--users", action=argparse.BooleanOptionalAction, default=True, help="Create demo logins.")
        parser.add_argument(
            "--rules",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="Publish the default scoring rules first unless a version is live: leads get scored as they load.",
        )
        parser.add_argument(
            "--process",
            choices=["inline", "app"],
            default="inline",
            help="inline: process each batch here, right after it is stored (default); "
            "app: leave processing to the configured Celery workers.",
        )

    def handle(self, *args, **options):
        if options["accounts"] < 0 or options["leads_per_account"] < 1 or options["days"] < 1:
            raise CommandError("--accounts must be >= 0, --leads-per-account and --days >= 1.")
        if options["if_empty"] and demo_is_loaded():
            self.stdout.write("Data already present: demo not loaded again (--if-empty).")
            return
        spec = WorldSpec(
            seed=options["seed"],
            accounts=options["accounts"],
            leads_per_account=options["leads_per_account"],
            days=options["days"],
            now=options["now"] or default_now(),
        )
        logins = demo_users_create() if options["users"] else []
        if logins:
            # Queues, rules and SLAs first, so qualified leads are routed as they load.
            routing_demo_setup()
        if options["rules"] and "install_default_rules" in get_commands():
            call_command("install_default_rules", stdout=self.stdout)
        self.stdout.write(
            f"Loading the demo world: seed {spec.seed}, {spec.accounts} accounts, "
            f"{spec.days} days up to {spec.now:%Y-%m-%d %H:%M} UTC"
        )

        def progress(report):
            self.stdout.write(f"  {report.messages} messages in {report.batches} batches", ending="\r")
            self.stdout.flush()

        # The demo's people have made-up addresses: their assignment emails go nowhere.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            report = demo_world_load(
                spec=spec,
                batch_size=options["batch_size"],
                process_inline=options["process"] == "inline",
                progress=progress,
            )
            # Demo requests routed to each rep at business-time ages up to --now: breached, at risk and on
            # track, and weeks of first touches (within the SLA and late), so the pages open on real work.
            inbound = (
                routing_demo_assignments(source=Source.objects.get(name=SOURCE_NAMES[MARKETING]), now=spec.now)
                if logins
                else 0
            )
            # Last, as the CRM reports them: closed-won leads are won, their assignments closed.
            recorded = outcomes_record(items=demo_outcome_fields(report.demo_outcomes))
            report.outcomes = sum(result.status != REJECTED for result in recorded)
        # Scored and moved at the wall clock, the history is re-dated as it would have happened (once
        # processed: with --process app the workers score it later, at their wall clock).
        started, redated = time.monotonic(), 0
        if options["process"] == "inline":
            demo_sources = Source.objects.filter(name__in=SOURCE_NAMES.values()).values_list("id", flat=True)
            start = spec.now - timedelta(days=spec.days)
            redated = demo_history_redate(source_ids=demo_sources, start=start, now=spec.now)
        redating = time.monotonic() - started
        owned = report.owned + (demo_accounts_assign_owners() if options["users"] else 0)
        rate = report.messages / report.seconds if report.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {report.messages} messages ({report.stored} stored, {report.rejected} rejected) in "
                f"{report.batches} batches, {report.outcomes} outcomes, {owned} accounts given an owner, "
                f"{inbound} demo requests routed at their business-time ages, "
                f"in {report.seconds:.1f}s ({rate:.0f} messages/s); "
                f"{redated} stage changes dated when they would have happened, in {redating:.1f}s."
            )
        )
        if report.unprocessed:
            where = "see the errors above" if options["process"] == "inline" else "the workers will process them"
            self.stdout.write(self.style.WARNING(f"{report.unprocessed} events are not processed yet: {where}."))
        for name, key in report.write_keys.items():
            self.stdout.write(f"Write key of source {name!r}: {key}  (shown once)")
        if logins:
            self.stdout.write(f"Demo logins (sign in at http://127.0.0.1:{options['port']}/):")
            for login in logins:
                password = login.password or "(existing user: password unchanged)"
                self.stdout.write(f"  {login.role:<14} {login.username:<8} {password:<16} {login.full_name}")
