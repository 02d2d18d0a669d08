"""CSV export and import of a customer's agents, for the console.

Export writes the columns below for the agents a supervisor is looking at. Import reads the same
columns (plus an optional `password`) and turns each row into service calls: a row whose
username is a live agent of the customer updates it, any other row creates an agent. There is
no second set of rules here: a dry run makes the very same service calls inside a transaction
and rolls it back, so the preview shows exactly the errors and changes the real run would
give, including clashes between rows of the same file. The real run is all-or-nothing: any
failing row rolls every row back.

Cell conventions (also in the README):
- `tags`: tag names separated by `;` (case-insensitive; a tag must exist).
- `addresses`: `type:target` separated by `;`, in ring order (`tel:+15559876543;sip:a@b.example`).
  Address names and details are not exported; an import keeps them on addresses it keeps.
- An empty `ring_method`, `status` or `permission` keeps the current value (new agents get the
  defaults); an empty `name`, `detail`, `tags` or `addresses` means none.
- `password` is required for new agents; for an existing agent a non-empty one resets it.
- Free-text cells that a spreadsheet would run as a formula (starting with `= + - @`) are
  written with a leading `'`, which the import removes again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from django.db import transaction

from agents import selectors, services
from agents.addresses import AddressInvalid, canonical_target
from agents.models import Agent, AgentStatus, RingMethod
from agents.permissions import Actor
from tags.selectors import tag_list
from voipbin_admin.errors import DomainError, FieldError, InvalidArgument

EXPORT_COLUMNS = ["username", "name", "detail", "ring_method", "status", "permission", "tags", "addresses"]
IMPORT_COLUMNS = [*EXPORT_COLUMNS, "password"]
MAX_IMPORT_ROWS = 5000
IMPORT_STATUS_REASON = "CSV import"

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ADDRESS_TYPES = ("tel", "extension", "sip")
_TEXT_COLUMNS = ("username", "name", "detail", "tags")


def _protect(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _unprotect(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS) else value


# --- export ----------------------------------------------------------------------------------


def write_agents_csv(out, agents: Iterable[Agent], tag_names: dict[UUID, str]) -> None:
    """Write agents (fetched `with_related()`) as CSV rows to a file-like `out`."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for agent in agents:
        tags = ";".join(tag_names[link.tag_id] for link in agent.tag_links.all() if link.tag_id in tag_names)
        addresses = ";".join(f"{address.type}:{address.target}" for address in agent.addresses.all())
        writer.writerow(
            [
                _protect(agent.username),
                _protect(agent.name),
                _protect(agent.detail),
                agent.ring_method,
                agent.status,
                agent.permission,
                _protect(tags),
                addresses,
            ]
        )


# --- import ----------------------------------------------------------------------------------


@dataclass
class RowResult:
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
    """Leaves the import's transaction without committing (dry run, or a row failed)."""


def _read(content: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The rows as (line number, {column: cell}), and what is wrong with the file as a whole."""
    reader = csv.reader(io.StringIO(content))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        return [], ["The file is empty."]
    except csv.Error as exc:
        return [], [f"The file is not valid CSV: {exc}."]
    errors = []
    unknown = [column for column in header if column not in IMPORT_COLUMNS]
    if unknown:
        errors.append(f"Unknown columns: {', '.join(unknown)}. Known columns: {', '.join(IMPORT_COLUMNS)}.")
    if "username" not in header:
        errors.append("The file needs a 'username' column.")
    if len(set(header)) != len(header):
        errors.append("A column appears twice in the header.")
    if errors:
        return [], errors
    records = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(header):
                errors.append(f"Line {reader.line_num}: more cells than columns.")
                continue
            record = dict(zip(header, values, strict=False))
            records.append((reader.line_num, record))
            if len(records) > MAX_IMPORT_ROWS:
                return [], [f"The file has more than {MAX_IMPORT_ROWS} rows; split it."]
    except csv.Error as exc:
        errors.append(f"Line {reader.line_num}: not valid CSV ({exc}).")
    if not records and not errors:
        errors.append("The file has no rows.")
    return records, errors


def _error_messages(error: DomainError, raw_addresses: list[dict]) -> list[str]:
    if not error.details:
        return [error.message]
    messages = []
    for detail in error.details:
        label = detail.field
        if label.startswith("addresses["):
            index = int(label[len("addresses[") :].split("]", 1)[0])
            if index < len(raw_addresses):
                address = raw_addresses[index]
                label = f"address {address['type']}:{address['target']}"
        messages.append(f"{label}: {detail.message}")
    return messages


def _split_addresses(cell: str) -> list[dict]:
    """`type:target;type:target`; a `;` inside a SIP user part stays with its address."""
    pieces: list[str] = []
    for piece in cell.split(";"):
        if pieces and not piece.strip().lower().startswith(tuple(t + ":" for t in _ADDRESS_TYPES)):
            pieces[-1] += ";" + piece
        else:
            pieces.append(piece)
    addresses = []
    bad = []
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        address_type, colon, target = piece.partition(":")
        if not colon:
            bad.append(piece)
            continue
        addresses.append({"type": address_type.strip().lower(), "target": target.strip()})
    if bad:
        raise InvalidArgument(
            "INVALID_ADDRESSES",
            "Addresses are written type:target.",
            [FieldError("addresses", f"{piece!r} is not type:target") for piece in bad],
        )
    return addresses


def _tag_ids(cell: str, tags_by_name: dict[str, UUID]) -> list[UUID]:
    names = [name.strip() for name in cell.split(";") if name.strip()]
    unknown = [name for name in names if name.lower() not in tags_by_name]
    if unknown:
        raise InvalidArgument(
            "INVALID_TAG_IDS",
            "Unknown tags.",
            [FieldError("tags", f"no tag named {name!r}") for name in unknown],
        )
    return [tags_by_name[name.lower()] for name in names]


def _permission(cell: str) -> int:
    try:
        return int(cell)
    except ValueError:
        raise InvalidArgument(
            "INVALID_PERMISSION",
            "permission must be an integer.",
            [FieldError("permission", "must be an integer made of the bits 1, 16, 32 and 64")],
        ) from None


def _address_key(address_type: str, target: str) -> tuple[str, str]:
    try:
        return (address_type, canonical_target(address_type, target))
    except AddressInvalid:
        return (address_type, target)


def _import_row(
    *, actor: Actor, customer_id: UUID, record: dict, tags_by_name: dict, row: RowResult, raw_addresses: list
) -> None:
    """Make one row's service calls; fills `row.action` and `row.changes`."""
    username = row.username
    agent = selectors.agent_list(customer_id=customer_id, username=username).first()
    name = record.get("name")
    detail = record.get("detail")
    ring_method = (record.get("ring_method") or "").strip()
    status = (record.get("status") or "").strip()
    permission_cell = (record.get("permission") or "").strip()
    permission = _permission(permission_cell) if permission_cell else None
    tag_ids = _tag_ids(record["tags"], tags_by_name) if "tags" in record else None
    if "addresses" in record:
        raw_addresses.extend(_split_addresses(record["addresses"]))
    addresses = raw_addresses if "addresses" in record else None
    password = record.get("password") or ""

    if agent is None:
        row.action = "create"
        created = services.agent_create(
            actor=actor,
            customer_id=customer_id,
            username=username,
            password=password,
            name=name or "",
            detail=detail or "",
            ring_method=ring_method or RingMethod.RINGALL,
            permission=permission or 0,
            tag_ids=tag_ids or [],
            addresses=addresses or [],
        )
        row.changes.append("new agent")
        if tag_ids:
            row.changes.append(f"tags: {record['tags']}")
        if addresses:
            row.changes.append(f"{len(addresses)} address(es)")
        if status and status != AgentStatus.OFFLINE:
            services.agent_set_status(actor=actor, agent=created, status=status, reason=IMPORT_STATUS_REASON)
            row.changes.append(f"status: {status}")
        return

    profile = {}
    if name is not None and name != agent.name:
        profile["name"] = name
        row.changes.append(f"name: {agent.name!r} → {name!r}")
    if detail is not None and detail != agent.detail:
        profile["detail"] = detail
        row.changes.append("detail changed")
    if ring_method and ring_method != agent.ring_method:
        profile["ring_method"] = ring_method
        row.changes.append(f"ring method: {agent.ring_method} → {ring_method}")
    if profile:
        services.agent_update(actor=actor, agent=agent, **profile)
    if permission is not None and permission != agent.permission:
        services.agent_set_permission(actor=actor, agent=agent, permission=permission)
        row.changes.append(f"permission: {agent.permission} → {permission}")
    if tag_ids is not None:
        current = [link.tag_id for link in agent.tag_links.all()]
        if set(current) != set(tag_ids):
            names = {tag_id: name for name, tag_id in tags_by_name.items()}
            added = [names[t] for t in tag_ids if t not in current]
            removed = [names.get(t, "?") for t in current if t not in tag_ids]
            services.agent_replace_tags(actor=actor, agent=agent, tag_ids=tag_ids)
            row.changes.append("tags: " + ", ".join([f"+{n}" for n in added] + [f"-{n}" for n in removed]))
    if addresses is not None:
        current_addresses = list(agent.addresses.all())
        kept = {(a.type, a.target): a for a in current_addresses}
        wanted_keys = [_address_key(a["type"], a["target"]) for a in addresses]
        if wanted_keys != [(a.type, a.target) for a in current_addresses]:
            payload = []
            for address, key in zip(addresses, wanted_keys, strict=True):
                previous = kept.get(key)
                extras = (
                    {"target_name": previous.target_name, "name": previous.name, "detail": previous.detail}
                    if previous
                    else {}
                )
                payload.append({**address, **extras})
            services.agent_replace_addresses(actor=actor, agent=agent, addresses=payload)
            row.changes.append(f"addresses: {len(current_addresses)} → {len(addresses)}")
    if status and status != agent.status:
        services.agent_set_status(actor=actor, agent=agent, status=status, reason=IMPORT_STATUS_REASON)
        row.changes.append(f"status: {agent.status} → {status}")
    if password:
        services.agent_set_password(actor=actor, agent=agent, password=password)
        row.changes.append("password reset")
    row.action = "update" if row.changes else "unchanged"


def import_agents_csv(*, actor: Actor, customer_id: UUID, content: str, apply: bool) -> ImportResult:
    """Preview (`apply=False`) or apply a CSV import; applying commits only if every row succeeds."""
    records, file_errors = _read(content)
    result = ImportResult(errors=file_errors)
    if file_errors:
        return result
    tags_by_name = {tag.name.lower(): tag.id for tag in tag_list(customer_id=customer_id)}
    seen: dict[str, int] = {}
    try:
        with transaction.atomic():
            for line, raw_record in records:
                record = {
                    key: _unprotect(value) if key in _TEXT_COLUMNS else value
                    for key, value in raw_record.items()
                }
                username = (record.get("username") or "").strip()
                row = RowResult(line=line, username=username)
                result.rows.append(row)
                if not username:
                    row.errors.append("username: is required")
                elif username.lower() in seen:
                    row.errors.append(f"username: {username} is already on line {seen[username.lower()]}")
                if row.errors:
                    row.action = "error"
                    continue
                seen[username.lower()] = line
                raw_addresses: list[dict] = []
                try:
                    with transaction.atomic():
                        _import_row(
                            actor=actor,
                            customer_id=customer_id,
                            record=record,
                            tags_by_name=tags_by_name,
                            row=row,
                            raw_addresses=raw_addresses,
                        )
                except DomainError as error:
                    row.action = "error"
                    row.changes = []
                    row.errors.extend(_error_messages(error, raw_addresses))
            if not apply or not result.ok:
                raise _RollBack
        result.applied = True
    except _RollBack:
        pass
    return result
