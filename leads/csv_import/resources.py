"""django-import-export resources: one per kind of CSV import, declaring its columns and how each is checked.

What a cell may hold and what a row writes are the business rules of
leads.services.import_rows; a resource maps columns to them and collects every
problem of a row, not only the first. Outcomes only declare their columns
here (OutcomeColumns): routing writes their rows (leads.services.imports.csv_rows_import),
since recording one moves the leads' stages.
"""

from functools import partial

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from import_export import fields, resources, widgets

from leads.models import Account, Lead, Outcome
from leads.services.import_rows import (
    account_import_save,
    check_account,
    check_campaign,
    check_count,
    check_domain,
    check_email,
    check_owner,
    lead_import_save,
)

# The non-field error a row gets when the reader found a problem in it (a byte that is not UTF-8,
# too many cells): the reader's own problem, with its exact line, is what the import reports.
UNREADABLE_ROW = "the row is not readable as it stands"


class CheckWidget(widgets.Widget):
    """Cleans a cell with a check_* function; its ValueError becomes a problem of the row."""

    def __init__(self, check):
        super().__init__()
        self.check = check

    def clean(self, value, row=None, **kwargs):
        return self.check(value)


def _checked(column: str, check) -> fields.Field:
    return fields.Field(attribute=column, column_name=column, widget=CheckWidget(check))


class CsvResource(resources.ModelResource):
    """A row upserts on its key column; an empty cell never blanks a value already stored."""

    # Other spellings of a column, as CRMs and spreadsheets export them.
    column_aliases: dict[str, str] = {}

    def __init__(self, *, unreadable: dict[int, frozenset[str]] | None = None, may_set_owner: bool = True, **kwargs):
        super().__init__(**kwargs)
        # Row number (from 1, as import-export counts) -> columns whose cells the reader could not read.
        self.unreadable = unreadable or {}
        self.may_set_owner = may_set_owner

    @classmethod
    def columns(cls) -> list[str]:
        return [field.column_name for field in cls.fields.values()]

    @classmethod
    def key_columns(cls) -> list[str]:
        return [cls.fields[name].column_name for name in cls._meta.import_id_fields]

    def column_of(self, attribute: str) -> str:
        """The CSV column that set a model attribute ('' for a problem of the whole row)."""
        for field in self.fields.values():
            if field.attribute == attribute:
                return field.column_name
        return "" if attribute == NON_FIELD_ERRORS else attribute

    def get_queryset(self):
        # Locked until the import commits: two imports of one row cannot interleave their writes.
        return super().get_queryset().select_for_update()

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            # An unreadable key: the row is new to us; import_instance reports the key with its other problems.
            return None

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.column_name in self.unreadable.get(kwargs.get("row_number"), ()):
            # Checking its garbled text would only add noise to the reader's own problem.
            return
        if not row.get(field.column_name):
            if field.column_name in self.key_columns():
                raise ValueError("missing")
            return
        if field.attribute == "owner" and not self.may_set_owner:
            # As in the admin and the API (routing.services.ownership): who works a lead is sales management's call.
            raise ValueError("only admins set owners by import; leave the column empty or ask an admin")
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if kwargs.get("row_number") in self.unreadable:
            errors.setdefault(NON_FIELD_ERRORS, []).append(UNREADABLE_ROW)
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The model's field validation (lengths, choices, formats) with the cells' problems.

        Not uniqueness or constraints: Django checks each with a query per row, which made imports three
        times slower, and the database enforces them anyway; a row it refuses is reported (save_instance).
        """
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=errors.keys(), validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            # A savepoint of its own: the import goes on after a value the database refuses.
            with transaction.atomic():
                self.save_row(instance)
        except DatabaseError as error:
            raise ValidationError({NON_FIELD_ERRORS: f"not saved: {str(error).splitlines()[0]}"}) from error

    def save_row(self, instance) -> None:
        raise NotImplementedError

    def after_import(self, dataset, result, **kwargs):
        # Deliberately not ModelResource's: it resets the id sequence to max(id), which races with
        # ingestion inserting leads at the same time, and imports never carry ids.
        pass


class AccountResource(CsvResource):
    domain = _checked("domain", check_domain)
    employee_count = _checked("employee_count", check_count)
    seats = _checked("seats", check_count)
    owner = _checked("owner", check_owner)

    column_aliases = {"website": "domain", "employees": "employee_count"}

    class Meta:
        model = Account
        name = "Accounts"
        fields = ["domain", "name", "industry", "employee_count", "country", "region", "plan", "seats", "owner"]
        import_id_fields = ["domain"]
        skip_unchanged = True
        report_skipped = True
        store_instance = True
        # The model's own field validation too (lengths, choices), listed with the cells' problems.
        clean_model_instances = True

    def save_row(self, instance) -> None:
        account_import_save(account=instance)


class LeadResource(CsvResource):
    email = _checked("email", check_email)
    account_domain = fields.Field(attribute="account", column_name="account_domain", widget=CheckWidget(check_account))
    campaign = _checked("campaign", partial(check_campaign, may_create=False))
    owner = _checked("owner", check_owner)

    column_aliases = {"company_domain": "account_domain"}

    class Meta:
        model = Lead
        name = "Leads"
        fields = [
            "email",
            "first_name",
            "last_name",
            "title",
            "department",
            "seniority",
            "country",
            "region",
            "phone",
            "account_domain",
            "campaign",
            "owner",
        ]
        import_id_fields = ["email"]
        skip_unchanged = True
        report_skipped = True
        store_instance = True
        # The model's own field validation too (lengths, choices), listed with the cells' problems.
        clean_model_instances = True

    def __init__(self, *, create_campaigns: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fields["campaign"].widget = CheckWidget(partial(check_campaign, may_create=create_campaigns))

    def save_row(self, instance) -> None:
        lead_import_save(lead=instance)


IMPORT_RESOURCES: dict[str, type[CsvResource]] = {"accounts": AccountResource, "leads": LeadResource}


class OutcomeColumns(CsvResource):
    """The columns of an outcomes file, for the reader and the admin's import page; never imports itself:
    routing.services.outcome_import writes the rows, with routing.services.outcomes."""

    column_aliases = {
        "id": "external_id",
        "crm_id": "external_id",
        "date": "occurred_at",
        "email": "lead_email",
        "domain": "account_domain",
        "company_domain": "account_domain",
        "website": "account_domain",
    }

    class Meta:
        model = Outcome
        name = "Outcomes"
        # The last one is optional: a closed deal's opportunity creation.
        fields = [
            "external_id",
            "kind",
            "occurred_at",
            "amount",
            "currency",
            "lead_email",
            "account_domain",
            "opened_at",
        ]
        import_id_fields = ["external_id"]

    def import_data(self, *args, **kwargs):
        raise NotImplementedError("Outcomes are imported by routing.services.outcome_import.")
