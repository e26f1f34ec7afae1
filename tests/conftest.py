"""Shared fixtures. Tests build data through the real services, not factories
that bypass them, and talk to real PostgreSQL and Redis (see scripts/run_tests.py).
"""

import os

import pytest
from django.contrib.auth.models import Group

from leads.models import SourceKind
from leads.services.sources import source_create
from qualify_site.roles import Role


def pytest_collection_modifyitems(config, items):
    skip_postgres = os.getenv("QUALIFY_SKIP_POSTGRES")
    skip_redis = os.getenv("QUALIFY_SKIP_REDIS")
    for item in items:
        if skip_postgres and ("postgres" in item.keywords or "worker" in item.keywords):
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL: {skip_postgres}"))
        if skip_redis and ("redis" in item.keywords or "worker" in item.keywords):
            item.add_marker(pytest.mark.skip(reason=f"Redis: {skip_redis}"))


def _user_with_role(django_user_model, username: str, role: Role | None, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.add(group)
    return user


@pytest.fixture
def alice(django_user_model):
    """A sales rep."""
    return _user_with_role(django_user_model, "alice", Role.REP)


@pytest.fixture
def bob(django_user_model):
    """Another sales rep."""
    return _user_with_role(django_user_model, "bob", Role.REP)


@pytest.fixture
def charlie(django_user_model):
    """A sales manager."""
    return _user_with_role(django_user_model, "charlie", Role.MANAGER, is_staff=True)


@pytest.fixture
def dana(django_user_model):
    """Another sales manager (of another team than Charlie's, where a test sets teams up)."""
    return _user_with_role(django_user_model, "dana", Role.MANAGER, is_staff=True)


@pytest.fixture
def erin(django_user_model):
    """A rep for the other team."""
    return _user_with_role(django_user_model, "erin", Role.REP)


@pytest.fixture
def olivia(django_user_model):
    """Marketing ops."""
    return _user_with_role(django_user_model, "olivia", Role.MARKETING_OPS, is_staff=True)


@pytest.fixture
def admin_user_qualify(django_user_model):
    """An admin (superuser)."""
    return django_user_model.objects.create_superuser(username="root", password="pw-root", email="root@example.com")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default hasher costs ~0.5 s per user created; tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def source_with_key(db):
    """An active product source and its write key: (source, write_key)."""
    return source_create(name="Product app", kind=SourceKind.PRODUCT)


@pytest.fixture
def marketing_source_with_key(db):
    """An active marketing source and its write key: (source, write_key)."""
    return source_create(name="Marketing site", kind=SourceKind.MARKETING)
