"""Fixtures shared by the leads tests: sources with their write keys."""

import pytest

from leads.models import SourceKind
from leads.services.sources import source_create


@pytest.fixture
def source_with_key(db):
    """An active product source and its write key: (source, write_key)."""
    return source_create(name="Product app", kind=SourceKind.PRODUCT)


@pytest.fixture
def marketing_source_with_key(db):
    """An active marketing source and its write key: (source, write_key)."""
    return source_create(name="Marketing site", kind=SourceKind.MARKETING)
