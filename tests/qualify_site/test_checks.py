import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

from qualify_site.checks import DEV_SECRET_KEY, check_production_settings, production_problems

ROOT = Path(__file__).resolve().parent.parent.parent


def _ids(problems):
    return {problem.id for problem in problems}


def _production(**overrides):
    """The problems of a sound production configuration, with some settings changed."""
    sound = {
        "secret_key": "x" * 50,
        "database_engine": "django.db.backends.postgresql",
        "is_celery_eager": False,
        "is_debug": False,
        "allowed_hosts": ["qualify.example.com"],
        "secure_proxy_ssl_header": ("HTTP_X_FORWARDED_PROTO", "https"),
        "is_ssl_redirect": True,
    }
    return production_problems(**(sound | overrides))


def test_it_flags_the_development_secret_key_sqlite_and_eager_celery():
    problems = _production(
        secret_key=DEV_SECRET_KEY, database_engine="django.db.backends.sqlite3", is_celery_eager=True
    )

    assert _ids(problems) == {"qualify.E001", "qualify.W001", "qualify.W002"}


def test_it_is_silent_for_a_real_production_configuration():
    assert _production() == []


@pytest.mark.parametrize("allowed_hosts", [["*"], ["qualify.example.com", "*"]])
def test_it_flags_any_host_allowed_with_debug_off(allowed_hosts):
    assert _ids(_production(allowed_hosts=allowed_hosts)) == {"qualify.W003"}


@pytest.mark.parametrize(
    "overrides",
    [{"secure_proxy_ssl_header": None}, {"is_ssl_redirect": False}],
    ids=["no-proxy-header", "no-redirect"],
)
def test_it_flags_production_without_tls_and_names_the_setting(overrides):
    problems = _production(**overrides)

    assert _ids(problems) == {"qualify.W004"}
    assert "BEHIND_TLS_PROXY" in problems[0].hint


def test_development_may_allow_any_host_over_plain_http():
    problems = _production(is_debug=True, allowed_hosts=["*"], secure_proxy_ssl_header=None, is_ssl_redirect=False)

    assert problems == []


def test_the_check_runs_with_deploy_checks():
    assert check_production_settings in checks.registry.registry.get_checks(include_deployment_checks=True)


@pytest.mark.parametrize("value", ["1", "yes", "true", ""])
def test_envbool_refuses_anything_but_true_or_false(monkeypatch, value):
    from qualify_site.settings import envbool

    monkeypatch.setenv("SOME_FLAG", value)
    with pytest.raises(ValueError, match="SOME_FLAG must be True or False"):
        envbool("SOME_FLAG", "False")


@pytest.mark.parametrize(
    ("environment", "flagged"),
    [
        ({"ALLOWED_HOSTS": "*", "BEHIND_TLS_PROXY": "True"}, "qualify.W003"),
        ({"ALLOWED_HOSTS": "qualify.example.com", "BEHIND_TLS_PROXY": "False"}, "qualify.W004"),
    ],
    ids=["any-host", "no-tls"],
)
def test_check_deploy_reports_it_from_the_environment(environment, flagged):
    # given: production settings read from the environment, as in the README
    env = {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "s" * 50,
        "DATABASE_URL": "postgresql://qualify@127.0.0.1:5432/qualify",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CELERY_TASK_ALWAYS_EAGER": "False",
        **environment,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)

    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    # then
    assert flagged in result.stdout + result.stderr
