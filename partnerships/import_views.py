"""Staff pages for public-data imports: upload a file (GIAS, links, outcomes …), watch the task's
progress (a small JSON status endpoint polled by the page; without JavaScript the page refreshes
itself), read the report. Staff and admins only; imports are of public data, so every staff
member sees every import."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from partnerships import imports
from partnerships.models import DataImport
from portal.decorators import staff_required

OUTCOME_PRESETS = [
    ("", "—"),
    ("ks2", "DfE KS2 (england_ks2final.csv)"),
    ("ks4", "DfE KS4 (england_ks4final.csv)"),
    ("ks5", "DfE KS5 (england_ks5final.csv)"),
]


class DataImportForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of file")
    file = forms.FileField(label="CSV file")
    year = forms.CharField(
        required=False,
        max_length=4,
        help_text="Outcomes only: the year the academic year ends in (2024 for 2023/24).",
    )
    preset = forms.ChoiceField(required=False, choices=OUTCOME_PRESETS, label="Outcomes layout")
    measure = forms.CharField(required=False, max_length=40, help_text="Outcomes only, for a URN,value file.")
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Outcomes only: one COLUMN=MEASURE per line, for any other file.",
    )
    publication = forms.CharField(
        required=False,
        max_length=100,
        help_text='Outcomes and Ofsted: e.g. "2023/24 revised", "as at 31 August 2025"',
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, i.label) for k, i in imports.IMPORTERS.items()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.DATA_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload

    def clean(self):
        data = super().clean()
        if data.get("kind") == "outcomes":
            if not data.get("year"):
                self.add_error("year", "Give the year of the outcomes.")
            if not (data.get("preset") or data.get("measure") or data.get("mapping")):
                self.add_error("preset", "Choose a layout, or give a measure or a mapping.")
        return data

    def options(self) -> dict:
        data = self.cleaned_data
        if data["kind"] == "ofsted":
            return {"publication": data["publication"].strip()}
        if data["kind"] != "outcomes":
            return {}
        return {
            "year": data["year"],
            "preset": data["preset"],
            "measure": data["measure"].strip(),
            "mapping": [line.strip() for line in data["mapping"].splitlines() if line.strip()],
            "publication": data["publication"].strip(),
        }


@staff_required
def data_imports(request):
    # Bound on every POST, even an empty one (`request.POST or None` would leave it unbound, silent).
    form = DataImportForm(request.POST, request.FILES) if request.method == "POST" else DataImportForm()
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    record = imports.data_import_start(
                        kind=form.cleaned_data["kind"],
                        upload=form.cleaned_data["file"],
                        by=request.user,
                        options=form.options(),
                    )
            except imports.ImportFailed as exc:
                form.add_error("kind", str(exc))
            else:
                messages.info(request, f"{record.file_name} is being imported.")
                return redirect("partnerships:data_import_detail", pk=record.pk)
        return render(request, "partnerships/data_imports.html", _list_context(form), status=400)
    return render(request, "partnerships/data_imports.html", _list_context(form))


def _list_context(form) -> dict:
    return {"form": form, "recent": DataImport.objects.select_related("created_by")[:30]}


@never_cache
@staff_required
def data_import_detail(request, pk):
    record = get_object_or_404(DataImport, pk=pk)
    importer = imports.IMPORTERS.get(record.kind)
    return render(
        request,
        "partnerships/data_import_detail.html",
        {"record": record, "label": importer.label if importer else record.kind},
    )


@never_cache
@staff_required
def data_import_status(request, pk):
    record = get_object_or_404(DataImport, pk=pk)
    return JsonResponse(
        {
            "state": record.state,
            "busy": record.is_busy,
            "percent": record.percent,
            "rows_done": record.rows_done,
            "rows_expected": record.rows_expected,
            "summary": record.report.get("summary", ""),
            "error": record.error,
        }
    )
