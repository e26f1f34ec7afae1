import pytest
from django.core import checks

from qualify_site.checks import DEV_SECRET_KEY, check_production_settings, production_problems


def _ids(problems):
    return {problem.id for problem in problems}


def test_it_flags_the_development_secret_key_sqlite_and_eager_celery():
    problems = production_problems(
        secret_key=DEV_SECRET_KEY, database_engine="django.db.backends.sqlite3", is_celery_eager=True
    )

    assert _ids(problems) == {"qualify.E001", "qualify.W001", "qualify.W002"}


def test_it_is_silent_for_a_real_production_configuration():
    problems = production_problems(
        secret_key="x" * 50, database_engine="django.db.backends.postgresql", is_celery_eager=False
    )

    assert problems == []


def test_the_check_runs_with_deploy_checks():
    assert check_production_settings in checks.registry.registry.get_checks(include_deployment_checks=True)


@pytest.mark.parametrize("value", ["1", "yes", "true", ""])
def test_envbool_refuses_anything_but_true_or_false(monkeypatch, value):
    from qualify_site.settings import envbool

    monkeypatch.setenv("SOME_FLAG", value)
    with pytest.raises(ValueError, match="SOME_FLAG must be True or False"):
        envbool("SOME_FLAG", "False")
