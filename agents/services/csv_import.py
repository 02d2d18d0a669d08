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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from agents import permissions, selectors, services
from agents.csv_format import (
    ParsedRow,
    PreparePassword,
    address_key,
    addresses_text,
    error_messages,
    parse_row,
    read_records,
    shortened,
    unprotected,
)
from agents.models import AccessKey, Agent, AgentImport, AgentImportState, AgentStatus, RingMethod
from agents.permissions import Actor
from agents.usernames import fold_username
from tags.selectors import tag_list
from voipbin_admin.errors import DomainError, FieldError, InvalidArgument

IMPORT_STATUS_REASON = "CSV import"
PROGRESS_INTERVAL_SECONDS = 0.5
UNEXPECTED_ERROR = "The import stopped on an unexpected error (it is logged); nothing was saved."


# --- outcome -------------------------------------------------------------------------------------


@dataclass
class RowResult:
    """One row's outcome: what it does (or did), or every reason it is refused."""

    line: int
    username: str
    action: str = "unchanged"  # create | update | unchanged | error
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    rows: list[RowResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    applied: bool = False

    @classmethod
    def of(cls, agent_import: AgentImport) -> ImportResult:
        """The outcome the worker recorded for a finished import."""
        return cls(
            rows=[RowResult(**row) for row in agent_import.rows],
            errors=list(agent_import.errors),
            applied=agent_import.state == AgentImportState.DONE,
        )

    @property
    def ok(self) -> bool:
        return not self.errors and not any(row.errors for row in self.rows)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in ("create", "update", "unchanged")}

    @property
    def error_rows(self) -> int:
        return sum(1 for row in self.rows if row.errors)


class _RollBack(Exception):
    """Leaves a transaction without committing (the dry run, a refused row, a refused import)."""


@dataclass
class _Target:
    """What a row's service calls share: who acts, the customer's tags by id (for describing
    changes), and the row's outcome being filled in."""

    actor: Actor
    customer_id: UUID
    tag_names: dict[UUID, str]
    result: RowResult


def _create_agent(target: _Target, row: ParsedRow) -> None:
    created = services.agent_create(
        actor=target.actor,
        customer_id=target.customer_id,
        username=row.username,
        password=row.password,
        name=row.name or "",
        detail=row.detail or "",
        ring_method=row.ring_method or RingMethod.RINGALL,
        permission=row.permission or 0,
        tag_ids=row.tag_ids or [],
        addresses=row.addresses or [],
    )
    changes = target.result.changes
    changes.append("new agent")
    if row.permission:
        changes.append(f"permission: {row.permission}")
    if row.tag_ids:
        changes.append("tags: " + ", ".join(target.tag_names[tag_id] for tag_id in row.tag_ids))
    if row.addresses:
        wanted = [address_key(address["type"], address["target"]) for address in row.addresses]
        changes.append(f"addresses: {addresses_text(wanted)}")
    if row.status and row.status != AgentStatus.OFFLINE:
        services.agent_set_status(
            actor=target.actor, agent=created, status=row.status, reason=IMPORT_STATUS_REASON
        )
        changes.append(f"status: {row.status}")


@dataclass
class _Update:
    """An existing agent's row: `agent` as read when the row started (changes are described
    against it), `current` the copy the last service call returned (the next one gets it)."""

    target: _Target
    row: ParsedRow
    agent: Agent
    current: Agent

    def call(self, service: Callable[..., Agent], **arguments: object) -> None:
        self.current = service(actor=self.target.actor, agent=self.current, **arguments)

    def changed(self, description: str) -> None:
        self.target.result.changes.append(description)


def _update_profile(update: _Update) -> None:
    row, agent = update.row, update.agent
    profile: dict[str, str] = {}
    described = []
    if row.name is not None and row.name != agent.name:
        profile["name"] = row.name
        described.append(f"name: {agent.name!r} → {row.name!r}")
    if row.detail is not None and row.detail != agent.detail:
        profile["detail"] = row.detail
        described.append(f"detail changed: {shortened(row.detail)!r}")
    if row.ring_method is not None and row.ring_method != agent.ring_method:
        profile["ring_method"] = row.ring_method
        described.append(f"ring method: {agent.ring_method} → {row.ring_method}")
    if profile:
        update.call(services.agent_update, **profile)
        for description in described:
            update.changed(description)


def _update_permission(update: _Update) -> None:
    new, old = update.row.permission, update.agent.permission
    if new is not None and new != old:
        update.call(services.agent_set_permission, permission=new)
        update.changed(f"permission: {old} → {new}")


def _update_tags(update: _Update) -> None:
    wanted = update.row.tag_ids
    if wanted is None:
        return
    current = [link.tag_id for link in update.agent.tag_links.all()]
    if set(current) == set(wanted):
        return
    update.call(services.agent_replace_tags, tag_ids=wanted)
    names = update.target.tag_names
    added = [f"+{names[tag_id]}" for tag_id in wanted if tag_id not in current]
    removed = [f"-{names.get(tag_id, '?')}" for tag_id in current if tag_id not in wanted]
    update.changed("tags: " + ", ".join(added + removed))


def _update_addresses(update: _Update) -> None:
    wanted = update.row.addresses
    if wanted is None:
        return
    current = list(update.agent.addresses.all())
    current_keys = [(address.type, address.target) for address in current]
    wanted_keys = [address_key(address["type"], address["target"]) for address in wanted]
    if wanted_keys == current_keys:
        return
    # An address the agent keeps keeps its name and detail (the file has no columns for them).
    kept = dict(zip(current_keys, current, strict=True))
    payload = []
    for address, key in zip(wanted, wanted_keys, strict=True):
        previous = kept.get(key)
        extras = (
            {"target_name": previous.target_name, "name": previous.name, "detail": previous.detail}
            if previous
            else {}
        )
        payload.append({**address, **extras})
    update.call(services.agent_replace_addresses, addresses=payload)
    update.changed(f"addresses: {addresses_text(current_keys)} → {addresses_text(wanted_keys)}")


def _update_status(update: _Update) -> None:
    new, old = update.row.status, update.agent.status
    if new is not None and new != old:
        update.call(services.agent_set_status, status=new, reason=IMPORT_STATUS_REASON)
        update.changed(f"status: {old} → {new}")


def _update_password(update: _Update) -> None:
    if update.row.password is not None:
        update.call(services.agent_set_password, password=update.row.password)
        update.changed("password reset")


#: An updating row's service calls, in this order; each one that is refused is reported and the
#: others still run, so the row lists every refusal.
_UPDATE_STEPS = (
    _update_profile,
    _update_permission,
    _update_tags,
    _update_addresses,
    _update_status,
    _update_password,
)


def _update_agent(target: _Target, row: ParsedRow, agent: Agent) -> None:
    update = _Update(target=target, row=row, agent=agent, current=agent)
    for step in _UPDATE_STEPS:
        try:
            step(update)
        except DomainError as error:
            target.result.errors.extend(error_messages(error, row.addresses or []))
    target.result.action = "update" if target.result.changes else "unchanged"


def _import_row(
    *,
    actor: Actor,
    customer_id: UUID,
    line: int,
    record: dict[str, str],
    existing: dict[str, Agent],
    seen: dict[str, int],
    tags_by_name: dict[str, UUID],
    tag_names: dict[UUID, str],
    prepare_password: PreparePassword,
) -> RowResult:
    """One row: its username (an agent of `existing`, read for the whole file, or a new one),
    its cells, then its service calls, in a savepoint that a refused row rolls back, so the
    rows after it meet what applying would leave."""
    username = (record.get("username") or "").strip()
    result = RowResult(line=line, username=username)
    key = fold_username(username)
    if not username:
        result.errors.append("username: is required")
    elif key in seen:
        result.errors.append(f"username: {username} is already on line {seen[key]}")
    else:
        seen[key] = line
    agent = existing.get(key) if username else None
    row, cell_errors = parse_row(
        record, line=line, agent=agent, tags_by_name=tags_by_name, prepare_password=prepare_password
    )
    result.errors.extend(cell_errors)
    if not result.errors:
        target = _Target(actor=actor, customer_id=customer_id, tag_names=tag_names, result=result)
        try:
            with transaction.atomic():
                if agent is None:
                    result.action = "create"
                    _create_agent(target, row)
                else:
                    _update_agent(target, row, agent)
                if result.errors:
                    raise _RollBack
        except DomainError as error:
            result.errors.extend(error_messages(error, row.addresses or []))
        except _RollBack:
            pass
    if result.errors:
        result.action = "error"
        result.changes = []
    return result


def _import_rows(
    *,
    actor: Actor,
    customer_id: UUID,
    records: list[tuple[int, dict[str, str]]],
    prepare_password: PreparePassword,
    commit: Callable[[ImportResult], None] | None,
) -> ImportResult:
    """Every row through the services in one transaction. It is committed only if `commit` is
    given (applying) and every row succeeded; `commit` runs inside it, just before."""
    tags = list(tag_list(customer_id=customer_id))
    tags_by_name = {tag.name.lower(): tag.id for tag in tags}
    tag_names = {tag.id: tag.name for tag in tags}
    records = [(line, unprotected(record)) for line, record in records]
    usernames = [(record.get("username") or "").strip() for _line, record in records]
    seen: dict[str, int] = {}
    result = ImportResult()
    try:
        with transaction.atomic():
            # Each username is in one row only (a second one is refused), so the agents read
            # now are those the rows meet: no row changes another row's agent.
            existing = selectors.agents_by_username(customer_id=customer_id, usernames=usernames)
            for line, record in records:
                row = _import_row(
                    actor=actor,
                    customer_id=customer_id,
                    line=line,
                    record=record,
                    existing=existing,
                    seen=seen,
                    tags_by_name=tags_by_name,
                    tag_names=tag_names,
                    prepare_password=prepare_password,
                )
                result.rows.append(row)
            if commit is None or not result.ok:
                raise _RollBack
            commit(result)
        result.applied = True
    except _RollBack:
        pass
    return result


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
    return _import_rows(
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

        result = _import_rows(
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
