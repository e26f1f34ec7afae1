"""The Procfile's web process, run for real with production settings: neither
gunicorn's access log nor the application's log lines carry a write key,
however the client sends it (HTTP Basic user name, body, query string)."""

import base64
import json
import os
import signal
import urllib.error
import urllib.request

import pytest

from tests.test_production_stack import (  # noqa: F401 - production_env is a fixture
    _health,
    _honcho_start,
    _manage,
    _wait_for,
    production_env,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def _post(port: int, path: str, body: dict, write_key: str | None = None) -> int:
    headers = {"Content-Type": "application/json", "X-Forwarded-Proto": "https"}
    if write_key is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_no_write_key_reaches_the_access_log_or_the_application_log(production_env):  # noqa: F811
    # given: gunicorn started from the Procfile, with production settings
    env, port = production_env
    _manage(env, "migrate", "--noinput")
    write_key = _manage(env, "create_source", "web-app", "--kind", "product").strip().splitlines()[-1].split()[-1]
    unknown_key = "wk-unknown-3f9a0c2b7d5e4a1b"
    web = _honcho_start(env, "web")
    try:
        _wait_for(lambda: _health(port), 30, "gunicorn to answer /health/")
        track = {"type": "track", "userId": "u1", "event": "Signed Up"}

        # when: a client sends its key every way clients do, good and bad (the query string is not
        # a way Qualify reads it, but some clients try it)
        statuses = [
            _post(port, "/v1/batch", {"batch": [track]}, write_key),
            _post(port, "/v1/track", {**track, "writeKey": write_key}),
            _post(port, f"/v1/track?writeKey={write_key}", track),
            _post(port, "/v1/batch", {"batch": [track]}, unknown_key),
            _post(port, f"/v1/track?writeKey={unknown_key}", track),
        ]
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        output, _ = web.communicate(timeout=30)

    # then: each request left an access line and a JSON line, and no key anywhere
    assert statuses == [200, 200, 401, 401, 401]
    access_lines = [line for line in output.splitlines() if '"POST /v1/' in line and "ms request_id=" in line]
    app_lines = [line for line in output.splitlines() if '"event": "request_finished"' in line]
    assert len(access_lines) == len(statuses), output[-3000:]
    assert len(app_lines) >= len(statuses), output[-3000:]
    assert write_key not in output
    assert unknown_key not in output
    assert "writeKey=[redacted]" in output
