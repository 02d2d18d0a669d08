"""Status history written after the fact: the operator's tools (demo data, tests with a fixed
clock) record an agent's past, so that reports have something to show from the first start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from agents import permissions
from agents.models import Agent, AgentEventType, AgentStatusChange
from agents.permissions import Actor
from agents.services.cleaning import REASON_MAX_LENGTH, clean_status
from agents.services.events import _changed_by, _record_and_return
from agents.services.rules import _lock_live_agent
from voipbin_admin.core import atomic_service, clean_text
from voipbin_admin.errors import FailedPrecondition, InvalidArgument, PermissionDenied


@atomic_service
def agent_record_past_statuses(
    *,
    actor: Actor,
    agent: Agent,
    created_at: datetime,
    changes: Sequence[tuple[datetime, str, str]],
) -> Agent:
    """Give a new agent a past: it was created at `created_at` and changed status at each
    `(when, status, reason)` of `changes` (oldest first, after `created_at`, not in the future).

    Only for project super admins and the system (demo data, tests), and only on an agent whose
    history is still just its creation: the past is written once, never rewritten. The rows
    chain (`from_status` is the previous change's status), and the agent's status becomes the
    last one, so the board and the history agree.
    """
    if not permissions.is_project_super_admin(actor):
        raise PermissionDenied("SUPER_ADMIN_REQUIRED", "Only a project super admin may record past statuses.")
    current = _lock_live_agent(agent)
    history = list(AgentStatusChange.objects.filter(agent_id=agent.pk).order_by("tm_create", "id")[:2])
    if len(history) != 1 or history[0].from_status != "":
        raise FailedPrecondition("HISTORY_NOT_NEW", "Only a new agent's past can be recorded.")
    now = timezone.now()
    if created_at > now:
        raise InvalidArgument("INVALID_TIMESTAMP", "created_at is in the future.")
    rows = []
    previous_status, previous_at = history[0].to_status, created_at
    for when, status, reason in changes:
        status = clean_status(status)
        reason = clean_text("reason", reason, max_length=REASON_MAX_LENGTH)
        if when < previous_at or when > now:
            raise InvalidArgument(
                "INVALID_TIMESTAMP", "Changes must be in order, after creation and not later than now."
            )
        if status == previous_status:
            continue
        rows.append(
            AgentStatusChange(
                agent_id=agent.pk,
                from_status=previous_status,
                to_status=status,
                reason=reason,
                tm_create=when,
                **_changed_by(actor),
            )
        )
        previous_status, previous_at = status, when
    AgentStatusChange.objects.filter(pk=history[0].pk).update(tm_create=created_at)
    AgentStatusChange.objects.bulk_create(rows)
    Agent.objects.filter(pk=agent.pk).update(
        tm_create=created_at, status=previous_status, tm_status=previous_at, tm_update=now
    )
    event = AgentEventType.STATUS_UPDATED if previous_status != current.status else AgentEventType.UPDATED
    return _record_and_return(agent, event)
