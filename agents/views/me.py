"""The plain agent's own page: its status and its addresses (what every agent may change)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents import selectors
from agents.forms import AddressEditor, StatusForm
from agents.models import Agent
from agents.stream.topics import own_agent_topic
from agents.views.common import change_status, history_zone, live_updates, replace_addresses, status_history
from voipbin_admin.console import signed_in


def _me(request: HttpRequest) -> Agent:
    return selectors.agent_get(actor=request.user, agent_id=request.user.pk, with_related=True)


def _render_own_page(request: HttpRequest, agent: Agent, status: int = 200, **overrides) -> HttpResponse:
    context = {
        "live": live_updates(customer_id=agent.customer_id, topic=own_agent_topic(agent.pk), agent=agent),
        "agent": agent,
        "now": timezone.now(),
        "history": status_history(agent),
        "history_zone": history_zone(request),
        "message_sections": ["status", "addresses"],  # shown in their sections, not on top
        "status_form": StatusForm(initial={"status": agent.status}),
        "addresses": AddressEditor.from_agent(agent),
    }
    context.update(overrides)
    return render(request, "agents/agent_me.html", context, status=status)


@signed_in
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    return _render_own_page(request, _me(request))


@signed_in
@require_POST
def me_status(request: HttpRequest) -> HttpResponse:
    return change_status(request, _me(request), _render_own_page, reverse("console:me") + "#status")


@signed_in
@require_POST
def me_addresses(request: HttpRequest) -> HttpResponse:
    return replace_addresses(request, _me(request), _render_own_page, reverse("console:me") + "#addresses")
