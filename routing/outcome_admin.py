"""The outcome admin pages, here because recording an outcome moves its leads' stages (routing's).

Adding or changing an outcome goes through routing.services.outcomes, as the API and the
CSV import do: the stage moves, the evidence and the assignments closed are the same
whichever way an outcome comes in. Importing a CSV (upload, preview, confirm) is for
those who may add and change outcomes: marketing ops and admins.
"""

from django.contrib import admin

from leads.csv_import.admin import CsvImportMixin
from leads.csv_import.resources import OutcomeColumns
from leads.models import UNMATCHED_OUTCOME, Outcome
from leads.services.imports import ImportResult
from qualify_site.admin_site import ServiceRefusalAdmin, service_refusals
from routing.services.outcome_import import outcome_not_known_yet, outcomes_csv_import
from routing.services.outcome_input import FIELDS, outcome_input_check
from routing.services.outcomes import outcome_record


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("unmatched", "Unmatched: names a lead or account not known yet"), ("matched", "Matched")]

    def queryset(self, request, queryset):
        if self.value() == "unmatched":
            return queryset.filter(UNMATCHED_OUTCOME)
        if self.value() == "matched":
            return queryset.exclude(UNMATCHED_OUTCOME)
        return queryset


@admin.register(Outcome)
class OutcomeAdmin(CsvImportMixin, ServiceRefusalAdmin, admin.ModelAdmin):
    csv_import_kind = "outcomes"
    csv_import_resource = OutcomeColumns
    list_display = ["external_id", "kind", "occurred_at", "amount_shown", "lead", "account", "not_known_yet"]
    list_filter = [MatchedFilter, "kind", "currency"]
    search_fields = ["=external_id", "lead__email", "lead_email", "account__name", "account__domain", "account_domain"]
    list_select_related = ["lead", "account"]
    raw_id_fields = ["lead", "account"]
    date_hierarchy = "occurred_at"
    fields = [
        "external_id",
        "kind",
        "occurred_at",
        "opened_at",
        "amount",
        "currency",
        "lead",
        "lead_email",
        "account",
        "account_domain",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # The CRM's id is what keeps the record one record: a different id is a different outcome.
        return [*self.readonly_fields, "external_id"] if obj else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "external_id" in form.base_fields:
            form.base_fields["external_id"].required = True
        return form

    @admin.display(description="Not known yet")
    def not_known_yet(self, obj) -> str:
        return ", ".join(outcome_not_known_yet(obj)) or "-"

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, obj) -> str:
        return f"{obj.amount:,.2f} {obj.currency}" if obj.amount is not None else "-"

    def csv_import_run(self, request, *, data: bytes, dry_run: bool, create_campaigns: bool) -> ImportResult:
        return outcomes_csv_import(data=data, dry_run=dry_run)

    def save_model(self, request, obj, form, change):
        # The model's attributes are the service's fields (lead_id, account_id included).
        raw = {name: getattr(obj, name) for name in FIELDS}
        with service_refusals():
            recorded = outcome_record(data=outcome_input_check(raw))
        obj.pk = recorded.outcome.pk
        obj.refresh_from_db()
