"""Run in a separate process by test_concurrency: route leads against the test database."""

import os
import sys
import time


def route(database_url: str, lead_ids: list[int], start_at: float) -> int:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "qualify_site.settings"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    import django

    django.setup()
    from django.db import transaction

    # Notifications would go to the broker: not what this process is testing.
    transaction.on_commit = lambda *args, **kwargs: None
    from routing.services.assignments import leads_route

    # Start together: the point is to contend for the same queue and reps.
    time.sleep(max(0.0, start_at - time.time()))
    return len(leads_route(lead_ids=lead_ids, trigger="qualified"))


if __name__ == "__main__":
    ids = [int(value) for value in sys.argv[2].split(",")]
    print(route(sys.argv[1], ids, float(sys.argv[3])))
