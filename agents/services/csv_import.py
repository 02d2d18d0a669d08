"""The CSV import of a customer's agents (the file itself: `agents.csv_format`).

A row whose username is a live agent of the customer updates it, any other row creates an
agent. Each row's cells are checked with the services' own rules (`csv_format.parse_row`), then
the row makes the public services' calls, as a door would. The preview is a dry run of the
very same calls inside a transaction that is rolled back, so it shows exactly the errors and
changes applying would give, including clashes between rows of the same file; it hashes no
password (services.PreparedPassword). Applying is a background task (agents/tasks.py): the
worker hashes the passwords first, then applies every row in one transaction, all or nothing.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from agents import permissions, services
from agents.csv_format import (
    read_records,
)
from agents.models import AccessKey, Agent, AgentImport, AgentImportState
from agents.permissions import Actor
from agents.services.csv_rows import ImportResult, import_rows
from voipbin_admin.errors import DomainError, FieldError, InvalidArgument

PROGRESS_INTERVAL_SECONDS = 0.5
UNEXPECTED_ERROR = "The import stopped on an unexpected error (it is logged); nothing was saved."


# --- preview and apply -------------------------------------------------------------------------


def _check_password(line: int, cell: str, agent: Agent | None) -> services.PreparedPassword:
    return services.prepare_password(cell, hashed=False, agent=agent)


def preview_agents_csv(*, actor: Actor, customer_id: UUID, content: str) -> ImportResult:
    """The dry run: every row's service calls in a transaction that is rolled back, so the
    preview shows what applying would do. No password is hashed (each is checked against the
    policy only): a preview of 5,000 rows costs what 5,000 rows of writes cost."""
    records, file_errors = read_records(content)
    if file_errors:
        return ImportResult(errors=file_errors)
    return import_rows(
        actor=actor, customer_id=customer_id, records=records, prepare_password=_check_password, commit=None
    )


def agent_import_create(*, actor: Actor, customer_id: UUID, content: str) -> AgentImport:
    """Keep an import for the background worker and enqueue the task that applies it
    (`agents.tasks.apply_agent_import`). Supervisors of the customer only.

    The file is read here, not applied: one that cannot be imported at all is refused at once
    (INVALID_FILE); the worker checks every row again as it applies it.
    """
    from agents.tasks import apply_agent_import

    permissions.require_supervisor_of(actor, customer_id)
    records, file_errors = read_records(content)
    if file_errors:
        raise InvalidArgument(
            "INVALID_FILE", " ".join(file_errors), [FieldError("file", error) for error in file_errors]
        )
    with transaction.atomic():
        agent_import = AgentImport.objects.create(
            customer_id=customer_id,
            started_by_agent=actor if isinstance(actor, Agent) else None,
            started_by_access_key=actor if isinstance(actor, AccessKey) else None,
            content=content,
            total_rows=len(records),
        )
        # The database backend writes the task in this same transaction: the import and its task
        # are committed together or not at all (an enqueue after the commit could be lost).
        apply_agent_import.enqueue(str(agent_import.pk))
    return agent_import


def _claim(agent_import: AgentImport) -> bool:
    """Queued -> running, once: a task that runs twice applies nothing the second time."""
    now = timezone.now()
    claimed = AgentImport.objects.filter(pk=agent_import.pk, state=AgentImportState.QUEUED).update(
        state=AgentImportState.RUNNING, tm_start=now
    )
    return claimed == 1


def _finish(agent_import: AgentImport, result: ImportResult, state: str) -> None:
    """Record the outcome and empty the stored file, which holds passwords."""
    AgentImport.objects.filter(pk=agent_import.pk).update(
        state=state,
        rows=[asdict(row) for row in result.rows],
        errors=result.errors,
        content="",
        tm_finish=timezone.now(),
    )


def _hash_passwords(
    agent_import: AgentImport, records: list[tuple[int, dict[str, str]]]
) -> dict[int, services.PreparedPassword]:
    """Every row's password checked and hashed, before the transaction that applies the rows,
    which then holds its locks for the writes only. Hashing is the slow part of applying (a
    good fraction of a second a password with Django's default hasher), so it is what the
    progress counts: `rows_done` rows of `total_rows`, written every half second or so."""
    hashed: dict[int, services.PreparedPassword] = {}
    written = time.monotonic()
    for done, (line, record) in enumerate(records, start=1):
        if cell := record.get("password") or "":
            # A password the policy refuses is not hashed: its row reports the error.
            with contextlib.suppress(DomainError):
                hashed[line] = services.prepare_password(cell, hashed=True)
        if done == len(records) or time.monotonic() - written >= PROGRESS_INTERVAL_SECONDS:
            AgentImport.objects.filter(pk=agent_import.pk).update(rows_done=done)
            written = time.monotonic()
    return hashed


def agent_import_apply(*, actor: Agent | AccessKey, agent_import: AgentImport) -> None:
    """Apply a queued import (the worker's task), all rows or none, like the preview it was
    made from: the passwords are hashed first (the progress), then every row goes through the
    services in one transaction, which records the outcome too. A refused import records
    every row's outcome and commits nothing else. The stored file is emptied either way."""
    if not _claim(agent_import):
        return
    try:
        records, file_errors = read_records(agent_import.content)
        if file_errors:
            _finish(agent_import, ImportResult(errors=file_errors), AgentImportState.FAILED)
            return
        hashed = _hash_passwords(agent_import, records)

        def prepare_password(line: int, cell: str, agent: Agent | None) -> services.PreparedPassword:
            return hashed.get(line) or services.prepare_password(cell, hashed=True, agent=agent)

        result = import_rows(
            actor=actor,
            customer_id=agent_import.customer_id,
            records=records,
            prepare_password=prepare_password,
            commit=lambda result: _finish(agent_import, result, AgentImportState.DONE),
        )
        if not result.applied:
            _finish(agent_import, result, AgentImportState.FAILED)
    except Exception:
        _finish(agent_import, ImportResult(errors=[UNEXPECTED_ERROR]), AgentImportState.FAILED)
        raise


def agent_import_refuse(*, agent_import: AgentImport, error: str) -> None:
    """Finish a queued import without applying anything (its actor is gone)."""
    if _claim(agent_import):
        _finish(agent_import, ImportResult(errors=[error]), AgentImportState.FAILED)
