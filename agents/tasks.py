"""Background tasks (Django's Tasks framework, run by `manage.py db_worker`).

A task is a door with no request: it loads what it works on, says explicitly who acts, and
calls the same services as the other doors.
"""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from agents.models import AccessKey, Agent, AgentImport
from agents.services import csv_import

ACTOR_GONE = "Not applied: the agent or access key that started this import no longer exists or has expired."


def _started_by(agent_import: AgentImport) -> Agent | AccessKey | None:
    """Who started the import, read again now: a deleted agent, or a deleted or expired access
    key, acts no more. Its rights are whatever they are now (the services check them)."""
    if agent_import.started_by_agent_id:
        return Agent.objects.live().filter(pk=agent_import.started_by_agent_id).first()
    if agent_import.started_by_access_key_id:
        return (
            AccessKey.objects.live()
            .filter(pk=agent_import.started_by_access_key_id, tm_expire__gt=timezone.now())
            .first()
        )
    return None


@task
def apply_agent_import(agent_import_id: str) -> None:
    """Apply a CSV import stored by the console (`csv_import.agent_import_create`)."""
    agent_import = AgentImport.objects.get(pk=agent_import_id)
    actor = _started_by(agent_import)
    if actor is None:
        csv_import.agent_import_refuse(agent_import=agent_import, error=ACTOR_GONE)
    else:
        csv_import.agent_import_apply(actor=actor, agent_import=agent_import)
