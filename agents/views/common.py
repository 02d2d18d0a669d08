"""What several console pages of the agents app share: one agent of the supervisor's customer,
the status and addresses forms (on the agent page and on one's own), the history, messages."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from agents import selectors, services
from agents.forms import AddressEditor, StatusForm
from agents.models import Agent
from agents.reports.periods import customer_zone
from agents.templatetags.console import section_tag
from voipbin_admin.console import add_domain_error, console_object_or_404
from voipbin_admin.errors import DomainError

#: Where the console's pages open the event stream (agents.stream.routing; README, "Event stream").
EVENT_STREAM_PATH = "/v1.0/ws"


def live_updates(*, customer_id: UUID, topic: str, agent: Agent | None = None) -> dict:
    """What a page that shows agents needs to follow their changes (static/js/live.js): the
    stream's topic and the event to resume after. For a customer's agents, call it before
    reading the page's data, so that a change made in between is replayed, not missed. For one
    agent read earlier, the stream resumes from before its newest event: that event (its state
    as shown, or a newer one) is replayed, and applying a state twice changes nothing."""
    if agent is None:
        since = selectors.newest_agent_event_id(customer_id=customer_id)
    else:
        since = max(selectors.newest_agent_event_id(customer_id=customer_id, agent_id=agent.pk) - 1, 0)
    return {"path": EVENT_STREAM_PATH, "topic": topic, "since": since}


#: `render_page(request, agent, status=..., **context_overrides)`: the page a section form is on.
RenderPage = Callable[..., HttpResponse]


def console_agent(request: HttpRequest, agent_id: UUID) -> Agent:
    """A live agent of the supervisor's customer; anything else is answered as missing."""
    return console_object_or_404(
        request,
        lambda: selectors.agent_get(actor=request.user, agent_id=agent_id, with_related=True),
        what="agent",
    )


def safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def error_text(error: DomainError) -> str:
    if error.details:
        return error.message + " " + "; ".join(f"{d.field}: {d.message}" for d in error.details)
    return error.message


def history_zone(request: HttpRequest) -> ZoneInfo:
    """The zone the status history's times are shown in: the viewer's customer's, resolved
    once per page (UTC when the stored name is not a zone, and then labelled UTC)."""
    viewer = request.user
    return customer_zone(viewer.customer.time_zone if isinstance(viewer, Agent) else "UTC")


def status_history(agent: Agent) -> list[dict]:
    """Status changes, newest first, each with how long the agent stayed in that status."""
    rows = []
    until = timezone.now()
    for change in selectors.agent_status_history(agent=agent):
        rows.append({"change": change, "lasted": until - change.tm_create, "current": not rows})
        until = change.tm_create
    return rows


def change_status(
    request: HttpRequest, agent: Agent, render_page: RenderPage, success_url: str
) -> HttpResponse:
    form = StatusForm(request.POST)
    if form.is_valid():
        previous = agent.status
        try:
            services.agent_set_status(actor=request.user, agent=agent, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            new = form.cleaned_data["status"]
            if new == previous:
                messages.info(request, f"Status is already {new}.", extra_tags=section_tag("status"))
            else:
                messages.success(
                    request, f"Status changed from {previous} to {new}.", extra_tags=section_tag("status")
                )
            return redirect(success_url)
    return render_page(request, agent, status=400, status_form=form)


def replace_addresses(
    request: HttpRequest, agent: Agent, render_page: RenderPage, success_url: str
) -> HttpResponse:
    editor = AddressEditor.from_post(request.POST)
    try:
        services.agent_replace_addresses(actor=request.user, agent=agent, addresses=editor.payload())
    except DomainError as error:
        editor.add_domain_error(error)
        return render_page(request, agent, status=400, addresses=editor)
    messages.success(request, "Addresses saved.", extra_tags=section_tag("addresses"))
    return redirect(success_url)
