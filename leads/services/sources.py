"""Sources: where events come from, and the write keys that authenticate them."""

import hashlib
import hmac
import secrets

from django.db import transaction

from leads.models import Source, SourceKind

# 32 random bytes, URL-safe: 43 characters, well beyond guessing range.
_WRITE_KEY_BYTES = 32
_PREFIX_LENGTH = 8


class SourceError(ValueError):
    """A source could not be created; the message says why in plain words."""


def write_key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()


@transaction.atomic
def source_create(*, name: str, kind: str) -> tuple[Source, str]:
    """Create a source and return it with its write key.

    The key is returned once and never stored: only its SHA-256 and its first
    characters (to tell keys apart in the admin) are kept.
    """
    name = name.strip()
    if not name:
        raise SourceError("A source needs a name.")
    if kind not in SourceKind.values:
        raise SourceError(f"Unknown kind {kind!r}: use one of {', '.join(SourceKind.values)}.")
    if Source.objects.filter(name=name).exists():
        raise SourceError(f"A source named {name!r} already exists.")
    write_key = secrets.token_urlsafe(_WRITE_KEY_BYTES)
    source = Source.objects.create(
        name=name,
        kind=kind,
        write_key_hash=write_key_hash(write_key),
        write_key_prefix=write_key[:_PREFIX_LENGTH],
    )
    return source, write_key


def source_get_by_write_key(write_key: str) -> Source | None:
    """The source the key belongs to, active or not; None for an unknown key.

    Lookup is by the key's hash (an index lookup on a unique column), so the
    database never sees the key itself; the final comparison is constant time
    so response timing says nothing about how much of a hash matched.
    """
    if not write_key:
        return None
    digest = write_key_hash(write_key)
    source = Source.objects.filter(write_key_hash=digest).first()
    if source is None or not hmac.compare_digest(source.write_key_hash, digest):
        return None
    return source
