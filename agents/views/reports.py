"""Supervisor reports (issue 15): the status report (table and CSV), the timeline and the
staffing curve of a day, and the customer's time zone, on the selectors of `agents.reports`.

The pictures are SVG drawn here and in the templates (no chart library): geometry is computed
in Python, colours come from the board's status classes in the stylesheet, and each picture has
a table with the same numbers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from agents.models import Agent, Customer
from agents.reports import periods, selectors
from agents.reports.selectors import STATUSES, Figures, StatusReport
from agents.services import customer_update
from tags.models import Tag
from voipbin_admin.console import add_domain_error, admin_required, console_customer_id, supervisor_required
from voipbin_admin.errors import DomainError

TIMELINE_PAGE_SIZE = 50
CHART_WIDTH = 1000
CURVE_HEIGHT = 220
TAG_CURVE_HEIGHT = 44
SORT_KEYS = (
    "username",
    "available",
    "ringing",
    "busy",
    "away",
    "offline",
    "signed_in",
    "occupancy",
    "changes",
)


def _customer(request: HttpRequest) -> Customer:
    return Customer.objects.get(pk=console_customer_id(request))


def _today(customer: Customer) -> date:
    return timezone.now().astimezone(periods.customer_zone(customer.time_zone)).date()


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


class _SelectionForm(forms.Form):
    tags = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    agents = forms.MultipleChoiceField(required=False, widget=forms.SelectMultiple(attrs={"size": 6}))

    def __init__(self, data, *, customer: Customer, with_agents: bool = True):
        super().__init__(data)
        tags = Tag.objects.filter(customer_id=customer.pk, tm_delete__isnull=True).order_by("name")
        _choice_field(self, "tags").choices = [(str(tag.pk), tag.name) for tag in tags]
        if with_agents:
            agents = (
                Agent.objects.filter(customer_id=customer.pk)
                .order_by("username")
                .only("id", "username", "tm_delete")
            )
            _choice_field(self, "agents").choices = [
                (str(agent.pk), f"{agent.username}{' (deleted)' if agent.tm_delete else ''}")
                for agent in agents
            ]
        else:
            del self.fields["agents"]

    def selection(self) -> tuple[list[UUID] | None, list[UUID] | None]:
        data = self.cleaned_data if self.is_valid() else {}
        agents = [UUID(value) for value in data.get("agents") or []] or None
        tags = [UUID(value) for value in data.get("tags") or []] or None
        return agents, tags


class ReportForm(_SelectionForm):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["start", "end", "tags", "agents"]


class DayForm(_SelectionForm):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["day", "tags", "agents"]


def _query(request: HttpRequest, defaults: dict) -> dict:
    data = request.GET.copy()
    for key, value in defaults.items():
        if not data.get(key):
            data[key] = value
    return data


# --- the status report --------------------------------------------------------------------------


def _report(request: HttpRequest, customer: Customer) -> tuple[ReportForm, StatusReport | None, str]:
    today = _today(customer).isoformat()
    form = ReportForm(_query(request, {"start": today, "end": today}), customer=customer)
    if not form.is_valid():
        return form, None, ""
    zone = periods.customer_zone(customer.time_zone)
    agent_ids, tag_ids = form.selection()
    first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    try:
        start, stop = periods.clean_range(first.isoformat(), (last + timedelta(days=1)).isoformat(), zone)
    except DomainError as error:
        form.add_error(None, error.message)
        return form, None, ""
    report = selectors.agent_status_report(
        customer=customer, start=start, stop=stop, interval="total", agent_ids=agent_ids, tag_ids=tag_ids
    )
    period = first.strftime("%a %b %-d, %Y") if first == last else f"{first:%b %-d} to {last:%b %-d, %Y}"
    return form, report, period


def _sort_value(row: selectors.AgentFigures, key: str):
    figures = row.totals
    if key == "username":
        return row.username.casefold()
    if key == "signed_in":
        return figures.signed_in_seconds
    if key == "occupancy":
        return figures.occupancy
    if key == "changes":
        return figures.changes
    return figures.seconds[key]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    url: str
    sort: str  # aria-sort: ascending, descending or none


@require_GET
@supervisor_required
def report(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    form, result, period = _report(request, customer)
    sort = request.GET.get("sort") or ""
    if sort not in SORT_KEYS:
        sort = "username"
    descending = request.GET.get("dir") == "desc"
    rows = []
    if result is not None:
        rows = sorted(result.rows, key=lambda row: _sort_value(row, sort), reverse=descending)
    params = request.GET.copy()
    columns = []
    for key, label in [
        ("username", "Agent"),
        ("available", "Available"),
        ("ringing", "Ringing"),
        ("busy", "Busy"),
        ("away", "Away"),
        ("offline", "Offline"),
        ("signed_in", "Signed in"),
        ("occupancy", "Occupancy"),
        ("changes", "Changes"),
    ]:
        params["sort"] = key
        params["dir"] = (
            "asc" if key == sort and descending else "desc" if key == sort or key != "username" else "asc"
        )
        aria = ("descending" if descending else "ascending") if key == sort else "none"
        columns.append(Column(key, label, f"?{params.urlencode()}", aria))
    export = request.GET.copy()
    export.pop("sort", None)
    export.pop("dir", None)
    return render(
        request,
        "reports/report_status.html",
        {
            "form": form,
            "report": result,
            "rows": rows,
            "columns": columns,
            "period": period,
            "customer": customer,
            "export_url": f"{reverse('console:report_export')}?{export.urlencode()}",
            "statuses": STATUSES,
        },
    )


@require_GET
@supervisor_required
def report_export(request: HttpRequest) -> HttpResponse:
    """The report's numbers as CSV: the same seconds as the page and the API's totals."""
    customer = _customer(request)
    form, result, _ = _report(request, customer)
    if result is None:
        problems = "\n".join(str(error) for error in form.non_field_errors())
        return HttpResponse(problems or "Invalid report parameters.", status=400, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    response["Content-Disposition"] = f'attachment; filename="status-report-{first}-{last}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "username",
            "name",
            *(f"{status}_seconds" for status in STATUSES),
            "signed_in_seconds",
            "occupancy",
            "changes",
            "away_reasons",
        ]
    )

    def line(username: str, name: str, figures: Figures) -> list:
        data = figures.as_dict()
        reasons = "; ".join(
            f"{item['reason'] or '(no reason)'}={item['seconds']}" for item in data["away_reasons"]
        )
        return [
            _csv_cell(username),
            _csv_cell(name),
            *(data["seconds"][status] for status in STATUSES),
            data["signed_in_seconds"],
            data["occupancy"],
            data["changes"],
            _csv_cell(reasons),
        ]

    for row in result.rows:
        writer.writerow(line(row.username, row.name, row.totals))
    writer.writerow(line("(total)", f"{len(result.rows)} agents", result.totals))
    return response


def _csv_cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading `'` (as the agents' export)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- the timeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


def _ticks(start: datetime, stop: datetime, zone, every_hours: int = 3) -> list[Tick]:
    span = (stop - start).total_seconds()
    ticks: list[Tick] = []
    for bucket in periods.buckets(start, stop, zone, "hour"):
        local = bucket.start.astimezone(zone)
        if local.hour % every_hours == 0 and (not ticks or ticks[-1].label != f"{local:%H}:00"):
            ticks.append(
                Tick(round((bucket.start - start).total_seconds() / span * CHART_WIDTH, 2), f"{local:%H}:00")
            )
    return ticks


def _day_form(request: HttpRequest, customer: Customer, *, with_agents: bool) -> tuple[DayForm, date]:
    today = _today(customer)
    form = DayForm(_query(request, {"day": today.isoformat()}), customer=customer, with_agents=with_agents)
    day = form.cleaned_data["day"] if form.is_valid() else today
    return form, day


def _duration_text(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


@require_GET
@supervisor_required
def timeline(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    zone = periods.customer_zone(customer.time_zone)
    form, day = _day_form(request, customer, with_agents=True)
    agent_ids, tag_ids = form.selection()
    start, stop = periods.day_bounds(day, zone)
    # The agents that existed that day, a page of them at a time, by username.
    existed = Agent.objects.filter(customer_id=customer.pk, tm_create__lt=stop).filter(
        Q(tm_delete__isnull=True) | Q(tm_delete__gt=start)
    )
    if agent_ids is not None:
        existed = existed.filter(pk__in=agent_ids)
    if tag_ids is not None:
        existed = existed.filter(tag_links__tag_id__in=tag_ids).distinct()
    page = Paginator(
        existed.order_by("username", "id").values_list("id", flat=True), TIMELINE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    result = selectors.agent_timeline(
        customer=customer, day=day, agent_ids=list(page.object_list), tag_ids=tag_ids
    )
    span = (stop - start).total_seconds()
    rows = []
    for row in result.rows:
        segments = []
        for segment in row.segments:
            local_from, local_to = segment.start.astimezone(zone), segment.end.astimezone(zone)
            who = segment.changed_by_name or "system"
            if segment.changed_by_type == "access_key":
                who = f"access key {who}"
            reason = f", reason “{segment.reason}”" if segment.reason else ""
            description = (
                f"{segment.status.capitalize()} from {local_from:%H:%M:%S} to {local_to:%H:%M:%S}"
                f" ({_duration_text(segment.seconds)}){reason}, changed by {who}"
            )
            segments.append(
                {
                    "status": segment.status,
                    "x": round((segment.start - start).total_seconds() / span * CHART_WIDTH, 3),
                    "width": max(round(segment.seconds / span * CHART_WIDTH, 3), 0.4),
                    "description": description,
                    "from": f"{local_from:%H:%M:%S}",
                    "to": f"{local_to:%H:%M:%S}",
                    "duration": _duration_text(segment.seconds),
                    "reason": segment.reason,
                    "who": who,
                }
            )
        rows.append(
            {"row": row, "segments": segments, "url": reverse("console:agent_detail", args=[row.agent_id])}
        )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "reports/report_timeline.html",
        {
            "form": form,
            "day": day,
            "customer": customer,
            "timeline": result,
            "rows": rows,
            "page": page,
            "page_query": params.urlencode(),
            "ticks": _ticks(start, stop, zone),
            "hours": round(span / 3600),
            "previous_day": (day - timedelta(days=1)).isoformat(),
            "next_day": (day + timedelta(days=1)).isoformat(),
            "width": CHART_WIDTH,
            "statuses": STATUSES,
        },
    )


# --- the staffing curve -------------------------------------------------------------------------


@require_GET
@supervisor_required
def curve(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    zone = periods.customer_zone(customer.time_zone)
    form, day = _day_form(request, customer, with_agents=False)
    _, tag_ids = form.selection()
    result = selectors.staffing_curve(customer=customer, day=day, tag_ids=tag_ids)
    slots = len(result.slots)
    slot_width = CHART_WIDTH / slots
    peak = max([result.slot_total(index) for index in range(slots)] + [1.0])
    scale = max(1, int(peak + 0.999))
    bars = []
    table = []
    for index, slot in enumerate(result.slots):
        y = float(CURVE_HEIGHT)
        parts = []
        counts = {status: result.counts[status][index] for status in STATUSES}
        for status in STATUSES:
            height = counts[status] / scale * CURVE_HEIGHT
            if height > 0:
                y -= height
                parts.append({"status": status, "y": round(y, 3), "height": round(height, 3)})
        local = slot.start.astimezone(zone)
        label = f"{local:%H:%M}"
        summary = ", ".join(f"{status} {counts[status]:.1f}" for status in STATUSES)
        bars.append({"x": round(index * slot_width, 3), "parts": parts, "title": f"{label}: {summary}"})
        table.append({"label": label, "counts": [counts[status] for status in STATUSES]})
    tag_peak = max([max(tag.available, default=0.0) for tag in result.tags] + [1.0])
    tag_rows = []
    for tag in result.tags:
        tag_bars = [
            {
                "x": round(index * slot_width, 3),
                "y": round(TAG_CURVE_HEIGHT - value / tag_peak * TAG_CURVE_HEIGHT, 3),
                "height": round(value / tag_peak * TAG_CURVE_HEIGHT, 3),
            }
            for index, value in enumerate(tag.available)
            if value > 0
        ]
        uncovered = sum(
            1
            for index, value in enumerate(tag.available)
            if value == 0 and result.slot_total(index) - result.counts["offline"][index] > 0
        )
        tag_rows.append(
            {"tag": tag, "bars": tag_bars, "uncovered": uncovered, "peak": max(tag.available, default=0)}
        )
    gridlines = [
        {"y": round(CURVE_HEIGHT - value / scale * CURVE_HEIGHT, 3), "label": value}
        for value in sorted({round(scale * fraction) for fraction in (0.25, 0.5, 0.75, 1.0)})
        if value > 0
    ]
    return render(
        request,
        "reports/report_curve.html",
        {
            "form": form,
            "day": day,
            "customer": customer,
            "curve": result,
            "bars": bars,
            "slot_width": round(slot_width, 3),
            "table": table,
            "tag_rows": tag_rows,
            "tag_peak": tag_peak,
            "gridlines": gridlines,
            "ticks": _ticks(result.start, result.stop, zone),
            "width": CHART_WIDTH,
            "height": CURVE_HEIGHT,
            "tag_height": TAG_CURVE_HEIGHT,
            "statuses": STATUSES,
            "previous_day": (day - timedelta(days=1)).isoformat(),
            "next_day": (day + timedelta(days=1)).isoformat(),
            "hours": round((result.stop - result.start).total_seconds() / 3600),
        },
    )


# --- the customer's time zone -----------------------------------------------------------------


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(label="Time zone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _choice_field(self, "time_zone").choices = [(name, name) for name in sorted(available_timezones())]


@require_http_methods(["GET", "POST"])
@admin_required
def time_zone(request: HttpRequest) -> HttpResponse:
    """The customer's time zone, in which reports and history count days and hours (admins)."""
    customer = _customer(request)
    form = TimeZoneForm(request.POST or None, initial={"time_zone": customer.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(actor=request.user, customer=customer, time_zone=form.cleaned_data["time_zone"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            zone = form.cleaned_data["time_zone"]
            messages.success(request, f"Reports now count days and hours in {zone}.")
            return redirect(reverse("console:report"))
    return render(request, "reports/report_time_zone.html", {"form": form, "customer": customer})
