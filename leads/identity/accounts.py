"""A batch's accounts, as identity resolution finds and folds them. Pure Python, no Django.

Rule 5 of README.md: a group call's groupId (its traits set the fields), else a product
event's `context.groupId` (a bare account until its group call), else the business email
domain (never a free-mail or student domain). The same company known by groupId and by
domain is folded into one account. `BatchAccounts` holds the accounts the database knows
and the ones the batch creates (negative ids, drawn from the engine's one counter), and
says at the end which to insert, which changed and which stored ones to fold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from leads.emails import is_free_mail_domain, is_student_domain
from leads.identity.facts import AccountFacts, MessageFacts
from leads.identity.traits import AccountTraits, company_name_from_domain

_FOLD_FIELDS = ("name", "industry", "employee_count", "country", "region", "plan", "seats", "owner_id")


def is_account_domain(domain: str) -> bool:
    """Thousands of unrelated people share gmail.com; students are not buyers."""
    return not (is_free_mail_domain(domain) or is_student_domain(domain))


class BatchAccounts:
    """The accounts of one batch, by id, groupId and domain; created, changed and folded ones."""

    def __init__(self, known: Iterable[AccountFacts], messages: Sequence[MessageFacts], *, new_id: Callable[[], int]):
        self.new_id = new_id
        self.rows: dict[int, AccountFacts] = {}
        self.by_group: dict[str, int] = {}
        self.by_domain: dict[str, int] = {}
        self.new_ids: list[int] = []
        self.dirty_ids: set[int] = set()
        self.aliases: dict[int, int] = {}  # folded account -> the account it became
        self.folds: list[tuple[int, int]] = []  # stored accounts to fold: (folded, into)
        self.batch_group_domains: dict[str, str] = {}  # groupId -> domain, from this batch's group calls
        for account in known:
            self.rows[account.id] = account
            if account.group_id:
                self.by_group[account.group_id] = account.id
            if account.domain:
                self.by_domain[account.domain] = account.id
        for message in messages:
            if message.account_traits is not None and message.account_traits.domain:
                self.batch_group_domains.setdefault(message.group_id, message.account_traits.domain)

    def new(self, **values) -> int:
        account = AccountFacts(id=self.new_id(), **values)
        self.rows[account.id] = account
        self.new_ids.append(account.id)
        if account.group_id:
            self.by_group[account.group_id] = account.id
        if account.domain:
            self.by_domain[account.domain] = account.id
        return account.id

    def change(self, account_id: int, **changes) -> None:
        self.rows[account_id] = replace(self.rows[account_id], **changes)
        if account_id > 0:
            self.dirty_ids.add(account_id)

    def for_group_id(self, group_id: str) -> int:
        """The account a product event's context.groupId names; created bare until its group call arrives."""
        account_id = self.by_group.get(group_id)
        if account_id is not None:
            return account_id
        # A group call later in this batch may name the domain of a known account.
        owner = self.by_domain.get(self.batch_group_domains.get(group_id, ""))
        if owner is not None and self.rows[owner].group_id is None:
            self.change(owner, group_id=group_id)
            self.by_group[group_id] = owner
            return owner
        return self.new(group_id=group_id)

    def from_group_call(self, message: MessageFacts) -> int:
        """The account a group call names, its traits applied."""
        parsed = message.account_traits or AccountTraits()
        account_id = self.by_group.get(message.group_id)
        if account_id is None and parsed.domain:
            account_id = self.by_domain.get(parsed.domain)
            if account_id is not None and self.rows[account_id].group_id is None:
                self.change(account_id, group_id=message.group_id)
                self.by_group[message.group_id] = account_id
        elif parsed.domain and self.rows[account_id].domain is None:
            owner = self.by_domain.get(parsed.domain)
            if owner is not None and owner != account_id and self.rows[owner].group_id is None:
                # The same company twice: known by its groupId (say from a
                # product event's context) and by its domain (from an email).
                account_id = self.fold(folded=account_id, into=owner, group_id=message.group_id)
        if account_id is None:
            account_id = self.new(group_id=message.group_id)
        if parsed.domain and self.rows[account_id].domain is None and parsed.domain not in self.by_domain:
            self.change(account_id, domain=parsed.domain)
            self.by_domain[parsed.domain] = account_id
        changes = dict(parsed.fields)
        if parsed.extra:
            changes["traits"] = {**self.rows[account_id].traits, **parsed.extra}
        self.change(account_id, **changes)
        return account_id

    def for_email_domain(self, domain: str) -> int:
        """The account of a business email domain, created (named after the domain) when new."""
        account_id = self.by_domain.get(domain)
        if account_id is None:
            account_id = self.new(domain=domain, name=company_name_from_domain(domain))
        return account_id

    def fold(self, *, folded: int, into: int, group_id: str) -> int:
        """Make `into` the one account of a company also recorded as `folded`.

        An account is not a person: nothing about the folded row is worth
        keeping once everything pointing at it points at the survivor, so the
        service deletes a stored one after moving its relations.
        """
        old, new = self.rows[folded], self.rows[into]
        changes: dict = {
            name: getattr(old, name)
            for name in _FOLD_FIELDS
            if getattr(new, name) in (None, "") and getattr(old, name) not in (None, "")
        }
        changes["traits"] = {**old.traits, **new.traits}
        changes["group_id"] = group_id
        self.by_group[group_id] = into
        self.aliases[folded] = into
        if folded < 0:
            self.new_ids.remove(folded)
        else:
            self.dirty_ids.discard(folded)
            self.folds.append((folded, into))
        self.change(into, **changes)
        return into

    def resolved(self, account_id: int | None) -> int | None:
        """The account `account_id` became, through any folds."""
        while account_id is not None and account_id in self.aliases:
            account_id = self.aliases[account_id]
        return account_id

    def new_accounts(self) -> tuple[AccountFacts, ...]:
        # Unique columns are written in one order by every worker (sorted account keys):
        # no two transactions wait on each other's rows crosswise.
        return tuple(
            sorted(
                (self.rows[account_id] for account_id in self.new_ids),
                key=lambda account: (account.group_id or "", account.domain or ""),
            )
        )

    def changed_accounts(self) -> tuple[AccountFacts, ...]:
        return tuple(self.rows[account_id] for account_id in sorted(self.dirty_ids))
