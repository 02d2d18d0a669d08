"""The CSV import pages: upload, preview, apply (a background task), and the import's own page."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from agents import csv_format, selectors
from agents.forms import CsvImportForm
from agents.models import AgentImport, AgentImportState
from agents.services import csv_import
from voipbin_admin.console import console_customer_id, console_object_or_404, supervisor_required
from voipbin_admin.errors import DomainError

#: A queued import no worker has taken up for this long gets a hint that none may be running.
WORKER_LATE_AFTER = timedelta(seconds=30)


def _render_import_page(
    request: HttpRequest, form: CsvImportForm, status: int = 200, **context
) -> HttpResponse:
    context = {
        "form": form,
        "columns": csv_format.IMPORT_COLUMNS,
        "recent_imports": selectors.agent_import_list(customer_id=console_customer_id(request)),
        **context,
    }
    return render(request, "agents/agent_import.html", context, status=status)


@supervisor_required
def agent_import(request: HttpRequest) -> HttpResponse:
    """Upload -> preview (a dry run, in this request) -> apply (a background task, all or nothing).

    The preview page carries the uploaded text in a hidden field and posts it back to apply;
    applying stores it for the worker (which empties it once done) and sends the supervisor to
    the import's page. The worker runs every rule again, so what is applied is checked as it is
    applied.
    """
    if request.method != "POST":
        return _render_import_page(request, CsvImportForm())
    form = CsvImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_import_page(request, form, status=400)
    content = form.cleaned_data["content"]
    customer_id = console_customer_id(request)
    if request.POST.get("step") == "apply":
        try:
            agent_import = csv_import.agent_import_create(
                actor=request.user, customer_id=customer_id, content=content
            )
        except DomainError as error:
            file_errors = [detail.message for detail in error.details] or [error.message]
            return _render_import_page(
                request,
                CsvImportForm(),
                status=400,
                result=csv_import.ImportResult(errors=file_errors),
                tried_apply=True,
            )
        return redirect("console:agent_import_detail", agent_import.pk)
    result = csv_import.preview_agents_csv(actor=request.user, customer_id=customer_id, content=content)
    return _render_import_page(
        request, CsvImportForm(), status=200 if result.ok else 400, result=result, content=content
    )


def _console_import(request: HttpRequest, agent_import_id: UUID, *, with_rows: bool = True) -> AgentImport:
    """An import of the supervisor's customer; anything else is answered as missing."""
    return console_object_or_404(
        request,
        lambda: selectors.agent_import_get(
            actor=request.user, agent_import_id=agent_import_id, with_rows=with_rows
        ),
        what="import",
    )


def _progress_context(agent_import: AgentImport) -> dict:
    waiting = timezone.now() - agent_import.tm_create
    late = agent_import.state == AgentImportState.QUEUED and waiting > WORKER_LATE_AFTER
    return {"agent_import": agent_import, "worker_late": late}


@supervisor_required
@require_GET
def agent_import_detail(request: HttpRequest, agent_import_id: UUID) -> HttpResponse:
    """An import's own page: its progress while the worker applies it (so a reload, or another
    supervisor, finds it again), then each row's outcome."""
    agent_import = _console_import(request, agent_import_id)
    result = csv_import.ImportResult.of(agent_import) if agent_import.is_finished else None
    return render(
        request,
        "agents/agent_import_detail.html",
        {"agent_import": agent_import, "result": result, **_progress_context(agent_import)},
    )


@supervisor_required
@require_GET
def agent_import_progress(request: HttpRequest, agent_import_id: UUID) -> HttpResponse:
    """The progress bar, polled every second (htmx); a finished import sends the browser to
    the page again, which then shows the outcome."""
    agent_import = _console_import(request, agent_import_id, with_rows=False)
    if agent_import.is_finished:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("console:agent_import_detail", args=[agent_import.pk])
        return response
    return render(request, "_partials/import_progress.html", _progress_context(agent_import))
