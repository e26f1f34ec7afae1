"""Run the test suite against real PostgreSQL and Redis when they are reachable.

`make test` calls this. It probes the services named by DATABASE_URL and
REDIS_URL (defaulting to the local ones), points the suite at them, and when
one is unreachable either fails (QUALIFY_REQUIRE_SERVICES=1, as in CI) or runs
the rest on SQLite and says clearly which tests it skipped and why.
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


def main() -> int:
    require = os.getenv("QUALIFY_REQUIRE_SERVICES") == "1"
    database_url = os.getenv("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.getenv("REDIS_URL") or DEFAULT_REDIS_URL
    problems = {}
    if why := reachable(database_url, 5432):
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
        if require:
            print(f"FAIL: {service} is required (QUALIFY_REQUIRE_SERVICES=1) but {why}", file=sys.stderr)
        else:
            print(f"NOTE: {service} {why}: tests that need it are SKIPPED (listed at the end).", file=sys.stderr)
    if problems and require:
        return 2
    print(
        f"Testing against: database={'PostgreSQL' if 'PostgreSQL' not in problems else 'SQLite'}, "
        f"broker={'Redis' if 'Redis' not in problems else 'none (eager)'}",
        flush=True,
    )
    args = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    os.execve(sys.executable, args, env)  # noqa: S606 - replaces this process with pytest


if __name__ == "__main__":
    sys.exit(main())
