"""The live status board: every agent of the customer by status, kept up to date by the event
stream (static/js/live.js), and polled every second only while the stream is down."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from agents import selectors
from agents.forms import BoardFilterForm
from agents.models import AgentStatus
from agents.stream.topics import customer_agents_topic
from agents.templatetags.console import format_duration
from agents.views.common import live_updates
from tags.selectors import tag_list_with_agent_counts
from voipbin_admin.console import console_customer_id, supervisor_required

_URL_PLACEHOLDER = UUID(int=0)

#: The order statuses are shown in: who can take a call first.
STATUS_ORDER = [
    AgentStatus.AVAILABLE,
    AgentStatus.RINGING,
    AgentStatus.BUSY,
    AgentStatus.AWAY,
    AgentStatus.OFFLINE,
]


@dataclass(frozen=True)
class BoardTile:
    """What one agent's tile shows, worked out once so the board's template stays cheap."""

    id: str
    url: str
    name: str
    label: str
    username: str
    status: str
    since_ms: int
    since_text: str
    tags: str
    tag_ids: str


def _board_context(request: HttpRequest) -> dict:
    customer_id = console_customer_id(request)
    live = live_updates(customer_id=customer_id, topic=customer_agents_topic(customer_id))
    tags = list(tag_list_with_agent_counts(customer_id=customer_id))
    form = BoardFilterForm(request.GET, tags=tags)
    filters = form.filters()
    tag_names = {tag.id: tag.name for tag in tags}
    now = timezone.now()
    # One reverse() for the whole board rather than one per tile.
    url_pattern = reverse("console:agent_detail", args=[_URL_PLACEHOLDER])
    groups: dict[str, list[BoardTile]] = {status: [] for status in STATUS_ORDER}
    data = selectors.agent_board(customer_id=customer_id, **filters)
    for agent in data.agents:
        groups[agent.status].append(
            BoardTile(
                id=str(agent.id),
                url=url_pattern.replace(str(_URL_PLACEHOLDER), str(agent.id)),
                name=agent.name,
                label=agent.name or agent.username,
                username=agent.username,
                status=agent.status,
                since_ms=int(agent.tm_status.timestamp() * 1000),
                since_text=format_duration(now - agent.tm_status),
                tags=" · ".join(tag_names[tag_id] for tag_id in agent.tag_ids if tag_id in tag_names),
                tag_ids=" ".join(str(tag_id) for tag_id in agent.tag_ids if tag_id in tag_names),
            )
        )
    filtered = any(filters.values())
    hidden = bool(data.unshown or data.outside)
    return {
        "live": live,
        "form": form,
        "filtered": filtered,
        "status_filter": filters["status"],
        # The agents without a tile (outside the filters, or past a group's first tiles): the
        # page needs their statuses to keep the counts and the tag coverage right as events
        # arrive (static/js/live.js).
        "statuses": {"unshown": data.unshown, "outside": data.outside} if hidden else None,
        "now": now,
        # (status, its tiles, how many agents it holds, how many of them have no tile)
        "groups": [
            (status, groups[status], data.matching[status], data.matching[status] - len(groups[status]))
            for status in STATUS_ORDER
        ],
        "shown": sum(data.matching.values()),
        "total": sum(data.counts.values()),
        "counts": [(status, data.counts[status]) for status in STATUS_ORDER],
        "tags": tags,
        "uncovered_tags": [tag for tag in tags if not tag.available_count],
        "wall": request.GET.get("wall") == "1",
    }


def _board_version(request: HttpRequest) -> str:
    """The board's data fingerprint plus the filters it was rendered for."""
    filters = "&".join(f"{key}={request.GET.get(key, '')}" for key in ("q", "status", "tag"))
    data = selectors.agent_board_version(customer_id=console_customer_id(request))
    return data + "." + hashlib.sha256(filters.encode()).hexdigest()[:8]


@supervisor_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    context = _board_context(request)
    context["version"] = _board_version(request)
    return render(request, "agents/board.html", context)


@supervisor_required
@require_GET
@gzip_page
def board_live(request: HttpRequest) -> HttpResponse:
    """The board's live part, polled every second; 204 (nothing to swap) when nothing changed.

    Everything comes from the database, so a change made by any server process shows up.
    """
    version = _board_version(request)
    if request.GET.get("v") == version:
        return HttpResponse(status=204)
    context = _board_context(request)
    context["version"] = version
    return render(request, "_partials/board_live.html", context)
