"""The beat schedule's tasks, run in this process: the periodic jobs of the embedded default.

Celery beat needs a broker, and the embedded default (SQLite, Celery eager) has none, so
without this the demo's SLA clocks never move: nothing flags at-risk or breached assignments,
rescores decayed leads or sweeps unprocessed events. `make demo` starts it beside runserver.
It reads the same CELERY_BEAT_SCHEDULE beat reads, so the two never disagree on what runs.
With a broker, run Celery beat and workers instead (`make beat`, `make worker`).
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every: float  # seconds


def periodic_jobs(schedule: dict, *, interval: float | None = None) -> list[PeriodicJob]:
    """The schedule's entries, each every `interval` seconds at most when one is given."""
    jobs = []
    for name, entry in schedule.items():
        every = entry["schedule"]
        if isinstance(every, timedelta):
            every = every.total_seconds()
        if not isinstance(every, int | float):
            raise CommandError(f"{name}: only schedules in seconds run here, not {every!r}; use Celery beat.")
        jobs.append(PeriodicJob(name, entry["task"], float(every if interval is None else min(every, interval))))
    return jobs


class Command(BaseCommand):
    help = (
        "Run the Celery beat schedule's tasks in this process, each at its interval (the embedded default's "
        "periodic jobs: SLA sweep, rescoring, sweepers). Stop with Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            help="Run every task at least this often, in seconds (default: each task's own schedule).",
        )
        parser.add_argument("--iterations", type=int, help="Stop after this many rounds (default: run until stopped).")

    def handle(self, *args, interval=None, iterations=None, **options):
        if interval is not None and interval < 0:
            raise CommandError("--interval must be >= 0.")
        jobs = periodic_jobs(settings.CELERY_BEAT_SCHEDULE, interval=interval)
        # Each run gets one line below; Celery's own "task succeeded" record would repeat it at length.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        self.stdout.write(f"Periodic jobs: {', '.join(f'{job.name} every {job.every:g}s' for job in jobs)}")
        last_run: dict[str, float] = {}
        rounds = 0
        try:
            while iterations is None or rounds < iterations:
                now = time.monotonic()
                due = [job for job in jobs if job.name not in last_run or now - last_run[job.name] >= job.every]
                if not due:
                    time.sleep(min(last_run[job.name] + job.every for job in jobs) - now)
                    continue
                for job in due:
                    last_run[job.name] = now
                    self._run(job)
                rounds += 1
        except KeyboardInterrupt:
            self.stdout.write("Periodic jobs stopped.")

    def _run(self, job: PeriodicJob) -> None:
        # apply(): in this process whatever the broker settings; one failing job never stops the others.
        result = import_string(job.task).apply(throw=False)
        if result.failed():
            self.stderr.write(f"{job.name} failed: {result.result!r}")
        else:
            self.stdout.write(f"{job.name}: {result.result}")
        self.stdout.flush()
