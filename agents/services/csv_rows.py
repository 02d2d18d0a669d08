"""One CSV import's rows through the services: each row's cells checked, then the calls a
door would make (create, or update column by column), and each row's outcome. The preview
and the worker (`agents.services.csv_import`) both run the rows through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from django.db import transaction

from agents import selectors, services
from agents.csv_format import (
    ParsedRow,
    PreparePassword,
    address_key,
    addresses_text,
    error_messages,
    parse_row,
    shortened,
    unprotected,
)
from agents.models import Agent, AgentImport, AgentImportState, AgentStatus, RingMethod
from agents.permissions import Actor
from agents.services.events import deferred_events
from agents.usernames import fold_username
from tags.selectors import tag_list
from voipbin_admin.errors import DomainError

IMPORT_STATUS_REASON = "CSV import"


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


def import_rows(
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
        # The rows' events are written together at the end (`deferred_events`): the event
        # order lock, held until the commit, is then not held while the rows are applied. (A
        # refused row refuses the whole file, so the events are written for all rows or none.)
        with transaction.atomic(), deferred_events():
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
