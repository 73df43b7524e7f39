"""The export doors: bars of chosen ETFs over a date range, and the (filtered) security list."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse

from etfs.exports import (
    SECURITY_COLUMNS,
    SECURITY_SUMMARY_COLUMNS,
    bar_csv,
    csv_lines,
    securities_with_codes,
    security_rows,
)
from etfs.limits import check_codes, sample
from etfs.models import StockInfo


class BarExportForm(forms.Form):
    codes = forms.CharField(
        label="ETF codes",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Six-digit codes separated by spaces or commas; "
        "leave empty and tick “all listed ETFs” for every fund.",
        required=False,
    )
    all_etfs = forms.BooleanField(label="All listed ETFs", required=False)
    adjust = forms.ChoiceField(
        label="Prices",
        choices=[
            ("none", "Unadjusted (as stored)"),
            ("qfq", "Forward adjusted (today's prices stay)"),
            ("hfq", "Backward adjusted (the first day's prices stay)"),
        ],
        initial="none",
        required=False,
    )
    start = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))

    def clean_codes(self) -> list[str]:
        codes = [code for code in re.split(r"[\s,;]+", self.cleaned_data["codes"]) if code]
        if not codes:
            return []
        try:
            codes = list(check_codes(codes))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        known = securities_with_codes(codes).values_list("code", flat=True)
        unknown = sorted(set(codes) - set(known))
        if unknown:
            raise forms.ValidationError(f"unknown code(s): {sample(unknown)}")
        return codes

    def clean(self):
        data = super().clean()
        if not data.get("all_etfs") and not data.get("codes") and not self.errors:
            raise forms.ValidationError("Give at least one code, or tick “all listed ETFs”.")
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("“From” is after “To”.")
        return data

    def securities(self):
        if self.cleaned_data["all_etfs"]:
            return StockInfo.objects.etfs()
        return securities_with_codes(self.cleaned_data["codes"])

    def filename(self) -> str:
        data = self.cleaned_data
        who = "all-etfs" if data["all_etfs"] else "-".join(data["codes"][:3])
        if not data["all_etfs"] and len(data["codes"]) > 3:
            who = f"{len(data['codes'])}-etfs"
        parts = [who, *(str(day) for day in (data["start"], data["end"]) if day)]
        if data["adjust"] and data["adjust"] != "none":
            parts.append(data["adjust"])
        return f"bars-{'-'.join(parts)}.csv"


def streamed_csv(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def bar_export_view(model_admin, request):
    """GET with ``download`` streams the CSV; without it (or when invalid) shows the form."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied("You may not view bars.")
    form = BarExportForm(request.GET or None)
    if "download" in request.GET and form.is_valid():
        data = form.cleaned_data
        lines = bar_csv(form.securities(), data["start"], data["end"], data["adjust"] or "none")
        return streamed_csv(lines, form.filename())
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Export daily bars",
        "form": form,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/etfs/dailybar/export.html", context)


def security_export_view(model_admin, request):
    """The security list as filtered and searched on its page, as CSV."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied("You may not view securities.")
    changelist = model_admin.get_changelist_instance(request)
    rows = security_rows(changelist.get_queryset(request))
    header = SECURITY_COLUMNS + SECURITY_SUMMARY_COLUMNS
    return streamed_csv(csv_lines(header, rows), "securities.csv")
