"""Run the test suite against real PostgreSQL and Redis when they are reachable.

`make test` calls this. It probes the services named by DATABASE_URL and
REDIS_URL (defaulting to the local ones), points the suite at them, and when
one is unreachable either fails (QUALIFY_REQUIRE_SERVICES=1, as in CI) or runs
the rest on SQLite and says clearly which tests it skipped and why.

`--sqlite` (`make test-sqlite`, CI's second pass) forces the embedded default
whatever is reachable: no DATABASE_URL, so the suite runs on SQLite (an
in-memory test database), with QUALIFY_SKIP_POSTGRES set so the tests marked
`postgres` are skipped with that reason. Redis is still used when reachable.
This is how the portable twins of the PostgreSQL statements get tested.
"""

import os
import socket
import sys
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def reachable(url: str, default_port: int) -> str | None:
    """None when a TCP connection to the URL's host opens, else the reason."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as error:
        return f"{host}:{port} unreachable ({error.strerror or error})"


SQLITE_PASS_REASON = "SQLite pass (--sqlite): this test needs PostgreSQL and runs in the PostgreSQL pass"  # noqa: S105


def main() -> int:
    argv = sys.argv[1:]
    sqlite_pass = "--sqlite" in argv
    argv = [arg for arg in argv if arg != "--sqlite"]
    require = os.getenv("QUALIFY_REQUIRE_SERVICES") == "1"
    database_url = os.getenv("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.getenv("REDIS_URL") or DEFAULT_REDIS_URL
    problems = {}
    if sqlite_pass:
        problems["PostgreSQL"] = SQLITE_PASS_REASON
    elif why := reachable(database_url, 5432):
        problems["PostgreSQL"] = why
    if why := reachable(redis_url, 6379):
        problems["Redis"] = why

    env = dict(os.environ)
    # Tests run tasks in-process unless a test starts a real worker itself.
    env.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")
    if "PostgreSQL" in problems:
        env.pop("DATABASE_URL", None)
        env["QUALIFY_SKIP_POSTGRES"] = problems["PostgreSQL"]
    else:
        env["DATABASE_URL"] = database_url
    if "Redis" in problems:
        env.pop("REDIS_URL", None)
        env["QUALIFY_SKIP_REDIS"] = problems["Redis"]
    else:
        env["REDIS_URL"] = redis_url

    for service, why in problems.items():
        if sqlite_pass and service == "PostgreSQL":
            print(
                "NOTE: SQLite pass (--sqlite): tests marked postgres are SKIPPED (the PostgreSQL pass runs them).",
                file=sys.stderr,
            )
        elif require:
            print(f"FAIL: {service} is required (QUALIFY_REQUIRE_SERVICES=1) but {why}", file=sys.stderr)
        else:
            print(f"NOTE: {service} {why}: tests that need it are SKIPPED (listed at the end).", file=sys.stderr)
    if require and any(service != "PostgreSQL" or not sqlite_pass for service in problems):
        return 2
    print(
        f"Testing against: database={'PostgreSQL' if 'PostgreSQL' not in problems else 'SQLite'}, "
        f"broker={'Redis' if 'Redis' not in problems else 'none (eager)'}",
        flush=True,
    )
    # The SQLite pass lists failures and errors only: its skips are the postgres-marked tests, by design.
    report = ["-rfE"] if sqlite_pass else []
    args = [sys.executable, "-m", "pytest", *report, *argv]
    os.execve(sys.executable, args, env)  # noqa: S606 - replaces this process with pytest


if __name__ == "__main__":
    sys.exit(main())
