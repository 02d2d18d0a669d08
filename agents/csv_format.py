"""The CSV file of a customer's agents: its columns, its cells, and a row read and checked.

Export writes the columns below for the agents a supervisor is looking at; the import
(`agents.services.csv_import`) reads the same columns (plus an optional `password`). Each cell
is checked with its service's own rule (`agents.services.cleaning`), so a row lists all of its
errors; there is no second set of rules here.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agents.addresses import AddressInvalid, canonical_target
from agents.models import Agent
from agents.services.cleaning import (
    PreparedPassword,
    clean_address_list,
    clean_permission,
    clean_ring_method,
    clean_status,
    clean_username,
)
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH, clean_text
from voipbin_admin.errors import DomainError, FieldError, InvalidArgument

EXPORT_COLUMNS = ["username", "name", "detail", "ring_method", "status", "permission", "tags", "addresses"]
IMPORT_COLUMNS = [*EXPORT_COLUMNS, "password"]
MAX_IMPORT_ROWS = 5000
_SHOWN_DETAIL_LENGTH = 80

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ADDRESS_TYPES = ("tel", "extension", "sip")
_TEXT_COLUMNS = ("username", "name", "detail", "tags")


def _protect(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _unprotect(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS) else value


def unprotected(record: dict[str, str]) -> dict[str, str]:
    """A row's cells without the `'` that export put before a formula-like text."""
    return {key: _unprotect(value) if key in _TEXT_COLUMNS else value for key, value in record.items()}


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


# --- reading ---------------------------------------------------------------------------------


def read_records(content: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
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


def error_messages(error: DomainError, raw_addresses: list[dict]) -> list[str]:
    """A service's refusal as the row's messages; an address is named as the file wrote it."""
    if not error.details:
        return [error.message]
    messages = []
    for detail in error.details:
        label = detail.field
        row = detail.row_in("addresses")
        if row is not None and row[0] < len(raw_addresses):
            address = raw_addresses[row[0]]
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
        value = int(cell)
    except ValueError:
        value = None
    return clean_permission(value)


def address_key(address_type: str, target: str) -> tuple[str, str]:
    """An address as the services would store it (as written when it is not valid)."""
    try:
        return (address_type, canonical_target(address_type, target))
    except AddressInvalid:
        return (address_type, target)


def addresses_text(keys: Iterable[tuple[str, str]]) -> str:
    return "; ".join(f"{address_type}:{target}" for address_type, target in keys) or "none"


def shortened(text: str) -> str:
    return text if len(text) <= _SHOWN_DETAIL_LENGTH else text[: _SHOWN_DETAIL_LENGTH - 1] + "…"


# --- one row, parsed -----------------------------------------------------------------------------

#: How a row gets its password: (line, cell, the agent it is for or None) -> a prepared password,
#: or the policy's error. The preview checks only; applying hashes (or takes the hash made before).
PreparePassword = Callable[[int, str, Agent | None], PreparedPassword]


@dataclass
class ParsedRow:
    """A row's cells checked and converted for the services. None: leave the value alone (the
    column is not in the file, or an empty `ring_method`, `status`, `permission` or
    `password` cell)."""

    username: str
    name: str | None = None
    detail: str | None = None
    ring_method: str | None = None
    status: str | None = None
    permission: int | None = None
    tag_ids: list[UUID] | None = None
    addresses: list[dict] | None = None  # as written: {"type", "target"}, in ring order
    password: PreparedPassword | None = None


def parse_row(
    record: dict[str, str],
    *,
    line: int,
    agent: Agent | None,
    tags_by_name: dict[str, UUID],
    prepare_password: PreparePassword,
) -> tuple[ParsedRow, list[str]]:
    """Check every cell with its service's own rule (`services.clean_*`) and return all of the
    row's errors, not just the first one the services would stop at."""
    row = ParsedRow(username=(record.get("username") or "").strip())
    errors: list[str] = []

    def checked(parse: Callable[[], object]) -> Any:
        try:
            return parse()
        except DomainError as error:
            errors.extend(error_messages(error, row.addresses or []))
            return None

    if agent is None and row.username:
        checked(lambda: clean_username(row.username))
    if "name" in record:
        row.name = checked(lambda: clean_text("name", record["name"], max_length=NAME_MAX_LENGTH))
    if "detail" in record:
        row.detail = checked(lambda: clean_text("detail", record["detail"], max_length=DETAIL_MAX_LENGTH))
    if ring_method := (record.get("ring_method") or "").strip():
        row.ring_method = checked(lambda: clean_ring_method(ring_method))
    if status := (record.get("status") or "").strip():
        row.status = checked(lambda: clean_status(status))
    if permission := (record.get("permission") or "").strip():
        row.permission = checked(lambda: _permission(permission))
    if "tags" in record:
        row.tag_ids = checked(lambda: _tag_ids(record["tags"], tags_by_name))
    if "addresses" in record:
        row.addresses = checked(lambda: _split_addresses(record["addresses"]))
        if row.addresses:
            checked(lambda: clean_address_list(row.addresses))
    password = record.get("password") or ""
    if password or agent is None:  # a new agent needs one (the policy's error says so)
        row.password = checked(lambda: prepare_password(line, password, agent))
    return row, errors
