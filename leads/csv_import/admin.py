"""The admin's CSV import page: django-import-export's flow (upload, preview, confirm) over leads.services.imports.

Two of ImportMixin's views are replaced, for reasons of the business, not taste:
- import_action decodes the whole upload before reading it (a byte that is not
  UTF-8 fails the file with no line), numbers records rather than physical
  lines, and offers "Confirm" only when every row is valid; here the upload is
  previewed by csv_import(dry_run=True), which reads it with our reader, and
  the good rows can be confirmed while the bad ones are listed with all their
  problems.
- process_import rolls everything back on any row error; here it calls
  csv_import again, which imports the good rows, each in its own savepoint.
The rest is import-export's: forms, the temporary storage between the two
steps, the templates, the change list button and the admin log entries.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm

from leads.csv_import.resources import IMPORT_RESOURCES
from leads.services.imports import ImportResult, csv_import
from qualify_site.roles import Role, user_has_role


class CsvBytes(base_formats.CSV):
    """CSV kept as bytes until our reader decodes it, so a byte that is not UTF-8 is named on its line."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"


_CREATE_CAMPAIGNS_HELP = (
    "Create the campaigns the file names that do not exist yet. Off: a row naming an unknown (or misspelt) "
    "campaign is a bad row."
)


class CsvImportForm(ImportForm):
    create_campaigns = forms.BooleanField(
        required=False, label="Create new campaigns", help_text=_CREATE_CAMPAIGNS_HELP
    )


class CsvConfirmImportForm(ConfirmImportForm):
    create_campaigns = forms.BooleanField(required=False, widget=forms.HiddenInput())


class CsvImportMixin(ImportMixin):
    """Adds the Import page to an admin; set csv_import_kind to a key of IMPORT_RESOURCES.

    A kind imported by a higher layer (outcomes) sets csv_import_resource to the class
    declaring its columns and overrides csv_import_run.
    """

    csv_import_kind: str = ""
    csv_import_resource = None
    import_template_name = "admin/leads/csv_import.html"
    import_form_class = CsvImportForm
    confirm_form_class = CsvConfirmImportForm
    # Shared by every web process (Redis in production): the confirm step may reach another one.
    tmp_storage_class = "import_export.tmp_storages.CacheStorage"

    def init_change_list_template(self):
        # Keep Django's per-model change list templates (templates/admin/leads/*/change_list.html link here).
        self.ie_base_change_list_template = None

    @property
    def resource_classes(self):
        return [self.csv_import_resource or IMPORT_RESOURCES[self.csv_import_kind]]

    def csv_import_run(self, request, *, data: bytes, dry_run: bool, create_campaigns: bool) -> ImportResult:
        return csv_import(
            kind=self.csv_import_kind,
            data=data,
            dry_run=dry_run,
            create_campaigns=create_campaigns,
            user=request.user,
        )

    def get_import_formats(self):
        return [CsvBytes]

    def has_import_permission(self, request):
        # Imports upsert: marketing ops and admins, with the permissions to add and change the rows.
        return (
            user_has_role(request.user, Role.MARKETING_OPS, Role.ADMIN)
            and self.has_add_permission(request)
            and self.has_change_permission(request)
        )

    def create_import_form(self, request):
        form = super().create_import_form(request)
        if "campaign" not in self.resource_classes[0].columns():
            del form.fields["create_campaigns"]
        return form

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["create_campaigns"] = import_form.cleaned_data.get("create_campaigns", False)
        return initial

    def _render(self, request, form, **context):
        resource = self.resource_classes[0]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import {resource.get_display_name().lower()} from CSV",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "fields_list": [(resource.get_display_name(), resource.columns())],
            "aliases": resource.column_aliases,
            "key_columns": resource.key_columns(),
            **context,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def import_action(self, request, **kwargs):
        """Upload, then a dry run shows what each row would do; Confirm appears when some rows would import."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_import_form(request)
        if not (request.method == "POST" and form.is_valid()):
            return self._render(request, form)
        upload = form.cleaned_data["import_file"]
        preview = self.csv_import_run(
            request,
            data=b"".join(upload.chunks()),
            dry_run=True,
            create_campaigns=form.cleaned_data.get("create_campaigns", False),
        )
        confirm_form = None
        if preview.imported:
            upload.tmp_storage_name = self.write_to_tmp_storage(upload, CsvBytes()).name
            confirm_form = self.create_confirm_form(request, import_form=form)
        return self._render(request, form, preview=preview, confirm_form=confirm_form)

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """Import the file previewed: the good rows are written, the bad ones left out."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        storage = None
        if confirm_form.is_valid():
            name = confirm_form.cleaned_data["import_file_name"]
            storage = self.get_tmp_storage_class()(name=name, read_mode="rb", **self.get_tmp_storage_class_kwargs())
        data = storage.read() if storage else None
        if data is None:
            # Expired, or already imported by a first click on Confirm.
            messages.error(request, "The uploaded file is no longer here; upload it again.")
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        result = self.csv_import_run(
            request, data=data, dry_run=False, create_campaigns=confirm_form.cleaned_data["create_campaigns"]
        )
        storage.remove()
        if result.details is not None:
            self.generate_log_entries(result.details, request)
        message = f"Import finished: {result.summary()}."
        if result.errors:
            lines = ", ".join(str(line) for line in sorted({error.line for error in result.errors}))
            message += f" Left out, as previewed: line {lines}."
        messages.add_message(request, messages.WARNING if result.errors else messages.SUCCESS, message)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
