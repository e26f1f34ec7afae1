import pytest

from tests.insights.conversion_history import History, build_history


@pytest.fixture
def funnel_history(django_user_model) -> History:
    """The conversion tests' hand-built history (tests/insights/conversion_history.py)."""
    return build_history(django_user_model)
