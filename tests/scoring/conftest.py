"""Fixtures shared by the scoring tests."""

import pytest

from scoring.services import rule_version_install_default


@pytest.fixture
def live_rules(django_capture_on_commit_callbacks):
    """The default rule version, published (its full rescore run at once)."""
    with django_capture_on_commit_callbacks(execute=True):
        return rule_version_install_default()
