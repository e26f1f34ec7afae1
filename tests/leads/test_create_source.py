"""`manage.py create_source NAME --kind ...` and the sources service behind it."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leads.models import Source
from leads.services.sources import SourceError, source_create, source_get_by_write_key

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_source", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["product", "marketing", "crm"])
def test_it_creates_a_source_and_prints_a_write_key_that_authenticates(kind):
    # when
    output = run("Web app", "--kind", kind)

    # then
    write_key = output.strip().splitlines()[-1]
    source = Source.objects.get(name="Web app")
    assert source.kind == kind
    assert source.is_active
    assert source_get_by_write_key(write_key) == source


def test_it_stores_only_a_hash_and_a_prefix_of_the_key():
    # when
    source, write_key = source_create(name="Web app", kind="product")

    # then
    assert len(write_key) >= 40
    assert source.write_key_hash == hashlib.sha256(write_key.encode()).hexdigest()
    assert source.write_key_prefix == write_key[:8]
    assert write_key not in str(Source.objects.filter(pk=source.pk).values().get())


def test_each_source_gets_a_different_key():
    # when
    keys = {source_create(name=f"Source {n}", kind="crm")[1] for n in range(5)}

    # then
    assert len(keys) == 5


def test_a_duplicate_name_is_a_clear_error():
    # given
    run("Web app", "--kind", "product")

    # when
    with pytest.raises(CommandError, match="already exists"):
        run("Web app", "--kind", "marketing")

    # then
    assert Source.objects.count() == 1


def test_an_unknown_kind_is_refused_by_the_command():
    # when
    with pytest.raises(CommandError, match="invalid choice"):
        run("Web app", "--kind", "billing")

    # then
    assert not Source.objects.exists()


@pytest.mark.parametrize(("name", "kind", "message"), [("  ", "crm", "needs a name"), ("X", "billing", "Unknown kind")])
def test_the_service_refuses_bad_input_in_plain_words(name, kind, message):
    with pytest.raises(SourceError, match=message):
        source_create(name=name, kind=kind)


@pytest.mark.parametrize("write_key", ["", "wrong", "x" * 500])
def test_an_unknown_key_finds_no_source(write_key):
    # given
    source_create(name="Web app", kind="product")

    # then
    assert source_get_by_write_key(write_key) is None
