"""The business rules of one imported account or lead row: checks of its cells, then its write.

The django-import-export resources (leads.csv_import.resources) call these, so
what a cell may hold and what a row writes is decided here, once, whether the
row comes from the admin import page or the import_csv command. A check_*
function returns the cleaned value or raises ValueError naming the problem,
which the resource lists with the other problems of the row.
"""

import difflib

from django.contrib.auth import get_user_model
from django.db.models import Q

from leads.emails import email_domain, is_free_mail_domain, is_student_domain, normalize_domain, normalize_email
from leads.identity.traits import campaign_type_for, company_name_from_domain
from leads.models import Account, Campaign, Identity, IdentityKind, Lead


def check_domain(raw: str) -> str:
    """A company's domain: `https://www.Acme.com/about` -> `acme.com`.

    Free-mail domains are never companies: thousands of unrelated people share gmail.com.
    """
    domain = normalize_domain(raw)
    if domain is None:
        raise ValueError(f"{raw!r} is not a domain")
    if is_free_mail_domain(domain):
        raise ValueError(f"{domain} is a free-mail domain, never a company")
    return domain


def check_email(raw: str) -> str:
    email = normalize_email(raw)
    if email is None:
        raise ValueError(f"{raw!r} is not an email address")
    return email


def check_count(raw: str) -> int:
    """A whole number as spreadsheets write it: `1,200` or `1_200`."""
    try:
        number = int(raw.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{number} is negative")
    return number


def check_owner(raw: str):
    """The user named by username or email."""
    user = get_user_model().objects.filter(Q(username=raw) | Q(email__iexact=raw)).order_by("id").first()
    if user is None:
        raise ValueError(f"no user {raw!r}")
    return user


def check_account(raw: str) -> Account:
    """The account of a domain; a new, unsaved one when none has it yet (lead_import_save creates it)."""
    domain = check_domain(raw)
    return Account.objects.filter(domain=domain).first() or Account(domain=domain)


def check_campaign(raw: str, *, may_create: bool) -> Campaign:
    """The campaign of that exact name. An unknown name is an error unless the import was told to create campaigns:
    a misspelt name would otherwise split a campaign's leads in two without anyone noticing.
    """
    campaign = Campaign.objects.filter(name=raw).first()
    if campaign is not None:
        return campaign
    if may_create:
        return Campaign(name=raw, type=campaign_type_for(None, raw))
    names = list(Campaign.objects.values_list("name", flat=True))
    close = difflib.get_close_matches(raw, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; create it first, or import with campaign creation on"
    raise ValueError(f"no campaign {raw!r}{hint}")


def account_import_save(*, account: Account) -> None:
    if not account.name:
        # A readable placeholder until the file or a group call names it, as identity resolution does.
        account.name = company_name_from_domain(account.domain)
    account.save()


def _account_by_email_domain(email: str) -> Account | None:
    """The account of a business email's domain, created if new; none for free-mail or student addresses
    (the same rule as identity resolution: they are not companies, and students are not buyers)."""
    domain = email_domain(email)
    if is_free_mail_domain(domain) or is_student_domain(domain):
        return None
    account, _ = Account.objects.get_or_create(domain=domain, defaults={"name": company_name_from_domain(domain)})
    return account


def lead_import_save(*, lead: Lead) -> None:
    """Save an imported lead with its campaign and account, and make its email an identity.

    The account is the one the row names (account_domain), else the one the lead already has
    (set by a group call or by hand), else the one of its business email domain.
    """
    if lead.campaign is not None and lead.campaign.pk is None:
        lead.campaign, _ = Campaign.objects.get_or_create(
            name=lead.campaign.name, defaults={"type": lead.campaign.type}
        )
    account = lead.account
    if account is not None and account.pk is None:
        account, _ = Account.objects.get_or_create(
            domain=account.domain, defaults={"name": company_name_from_domain(account.domain)}
        )
    lead.account = account or _account_by_email_domain(lead.email)
    lead.save()
    # The email is also an identity, so events that later identify with it resolve to this lead.
    Identity.objects.get_or_create(kind=IdentityKind.EMAIL, value=lead.email, defaults={"lead": lead})
