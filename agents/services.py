"""Every write to agents, their credentials and history: the rules of contract sections 2, 6, 8.

Each service is keyword-only, takes the acting agent (or access key, or None for the
operator's own tools) as `actor`, runs in one transaction, records status history and events
in that same transaction, and raises `voipbin_admin.errors.DomainError` subclasses carrying the
contract's `reason` codes. The database's unique constraints back every uniqueness rule, so a
concurrent writer that slips past a check gets the same documented error, never a 500.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agents import permissions
from agents.addresses import CleanAddress, clean_addresses
from agents.models import (
    AccessKey,
    Address,
    Agent,
    AgentEvent,
    AgentEventType,
    AgentStatus,
    AgentStatusChange,
    Customer,
    LoginToken,
    Permission,
    RingMethod,
)
from agents.permissions import SYSTEM, Actor
from agents.query_expressions import db_param
from agents.representation import agent_representation
from agents.usernames import USERNAME_RULE, fold_username, is_valid_username
from voipbin_admin.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from voipbin_admin.timestamps import format_timestamp


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Default for partial updates: a field left out keeps its value.
UNSET: Any = _Unset()

NAME_MAX_LENGTH = 255
DETAIL_MAX_LENGTH = 10_000
PASSWORD_MAX_LENGTH = 1024
REASON_MAX_LENGTH = 255

ACCESS_KEY_PREFIX = "vb_"
ACCESS_KEY_MAX_LIFETIME = timedelta(days=100 * 365)


# --- constraint violations -> domain errors ---------------------------------------------------

# Markers that identify a violated constraint: PostgreSQL names it; SQLite names an expression
# index, or lists the columns of a column index.
_CONSTRAINT_ERRORS: list[tuple[tuple[str, ...], DomainError]] = [
    (
        ("agent_username_live_unique", "agents_agent.username"),
        AlreadyExists("AGENT_ALREADY_EXISTS", "An agent with this username already exists."),
    ),
    (
        ("address_live_unique_per_customer", "agents_address.customer_id"),
        AlreadyExists("ADDRESS_ALREADY_ASSIGNED", "An address is already assigned to another agent."),
    ),
    (
        ("tag_name_live_unique_per_customer", "tags_tag.customer_id"),
        AlreadyExists("TAG_ALREADY_EXISTS", "A tag with this name already exists."),
    ),
    (
        ("agent_direct_hash_unique", "agents_agent.direct_hash"),
        FailedPrecondition("DIRECT_HASH_COLLISION", "Please retry: the new direct hash collided."),
    ),
]


def domain_error_for_integrity_error(exc: IntegrityError) -> DomainError | None:
    diag = getattr(exc.__cause__, "diag", None)
    text = getattr(diag, "constraint_name", None) or str(exc)
    for markers, error in _CONSTRAINT_ERRORS:
        if any(marker in text for marker in markers):
            return type(error)(error.reason, error.message)
    return None


def atomic_service(func):
    """Run a service in one transaction; a lost race on a constraint becomes its domain error."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError as exc:
            error = domain_error_for_integrity_error(exc)
            if error is None:
                raise
            raise error from exc

    return wrapper


# --- input cleaning -------------------------------------------------------------------------


def clean_text(field: str, value: object, *, max_length: int, required: bool = False) -> str:
    reason = f"INVALID_{field.upper()}"
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(reason, f"{field} must be a string.", [FieldError(field, "must be a string")])
    if required and not value:
        raise InvalidArgument(reason, f"{field} is required.", [FieldError(field, "is required")])
    if len(value) > max_length:
        message = f"must be at most {max_length} characters"
        raise InvalidArgument(reason, f"{field} {message}.", [FieldError(field, message)])
    if "\x00" in value:
        # PostgreSQL cannot store it in text: refuse it here rather than fail in the database.
        message = "must not contain NUL characters"
        raise InvalidArgument(reason, f"{field} {message}.", [FieldError(field, message)])
    return value


def clean_username(value: object) -> str:
    if not is_valid_username(value):
        raise InvalidArgument(
            "INVALID_USERNAME", f"username {USERNAME_RULE}.", [FieldError("username", USERNAME_RULE)]
        )
    return value


def clean_password(value: object, agent: Agent | None = None) -> str:
    password = clean_text("password", value, max_length=PASSWORD_MAX_LENGTH, required=True)
    try:
        password_validation.validate_password(password, agent)
    except ValidationError as exc:
        messages = [str(message) for message in exc.messages]
        raise InvalidArgument(
            "INVALID_PASSWORD",
            " ".join(messages),
            [FieldError("password", message) for message in messages],
        ) from exc
    return password


@dataclasses.dataclass(frozen=True)
class PreparedPassword:
    """A new password whose stored form was made before the transaction that stores it.

    Hashing takes a good fraction of a second on purpose. The CSV import hashes its rows'
    passwords before its one transaction (which then holds its locks for the writes only), and
    its preview hashes none: `encoded` None stores an unusable password, in a transaction that
    is rolled back. `agent_create` and `agent_set_password` take one in place of the plain
    text, and check the policy on `plaintext` again for the agent they store it for.
    """

    plaintext: str = dataclasses.field(repr=False)
    encoded: str | None = dataclasses.field(repr=False)


def prepare_password(value: object, *, hashed: bool, agent: Agent | None = None) -> PreparedPassword:
    """Check the policy (`clean_password`) and make the stored form now (`hashed`), or none at
    all for a dry run."""
    password = clean_password(value, agent)
    return PreparedPassword(plaintext=password, encoded=make_password(password) if hashed else None)


def _clean_new_password(password: object, agent: Agent | None = None) -> str | PreparedPassword:
    """The policy (`clean_password`), checked on the plain text of a prepared password too."""
    if isinstance(password, PreparedPassword):
        clean_password(password.plaintext, agent)
        return password
    return clean_password(password, agent)


def _set_new_password(agent: Agent, password: str | PreparedPassword) -> None:
    """Set the stored form of a checked password on the agent (not saved): hashed now, or as
    prepared."""
    if not isinstance(password, PreparedPassword):
        agent.set_password(password)
    elif password.encoded is None:
        agent.set_unusable_password()
    else:
        agent.password = password.encoded


def clean_ring_method(value: object) -> str:
    if value not in RingMethod.values:
        message = "must be one of: " + ", ".join(RingMethod.values)
        raise InvalidArgument(
            "INVALID_RING_METHOD", f"ring_method {message}.", [FieldError("ring_method", message)]
        )
    return value


def clean_status(value: object) -> str:
    if value not in AgentStatus.values:
        message = "must be one of: " + ", ".join(AgentStatus.values)
        raise InvalidArgument("INVALID_STATUS", f"status {message}.", [FieldError("status", message)])
    return value


def clean_permission(value: object) -> int:
    # bool is an int in Python; JSON true is not a permission.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value & ~Permission.ALL_BITS:
        message = "must be an integer made of the bits 1, 16, 32 and 64"
        raise InvalidArgument(
            "INVALID_PERMISSION", f"permission {message}.", [FieldError("permission", message)]
        )
    return value


def clean_tag_ids(customer_id: UUID, tag_ids: object) -> list[UUID]:
    """Live tags of the customer, duplicates folded, in the order given."""
    from tags.models import Tag

    if not isinstance(tag_ids, list | tuple):
        raise InvalidArgument(
            "INVALID_TAG_IDS", "tag_ids must be a list of tag ids.", [FieldError("tag_ids", "must be a list")]
        )
    wanted: list[UUID] = []
    bad: list[str] = []
    for raw in tag_ids:
        try:
            tag_id = raw if isinstance(raw, UUID) else UUID(str(raw)) if isinstance(raw, str) else None
        except ValueError:
            tag_id = None
        if tag_id is None:
            bad.append(str(raw))
        elif tag_id not in wanted:
            wanted.append(tag_id)
    if wanted:
        known = set(
            Tag.objects.live().for_customer(customer_id).filter(id__in=wanted).values_list("id", flat=True)
        )
        bad.extend(str(tag_id) for tag_id in wanted if tag_id not in known)
    if bad:
        raise InvalidArgument(
            "INVALID_TAG_IDS",
            "Unknown tag ids: " + ", ".join(bad),
            [FieldError("tag_ids", f"unknown tag id {tag_id}") for tag_id in bad],
        )
    return wanted


def clean_address_list(addresses: object) -> list[CleanAddress]:
    cleaned, errors = clean_addresses(addresses)
    if errors:
        raise InvalidArgument("INVALID_ADDRESSES", "Some addresses are not valid.", errors)
    return cleaned


# --- rules shared by several services ------------------------------------------------------------


def _check_may_take_rights_of(actor: Actor, agent: Agent, *, action: str) -> None:
    """Resetting a password (without the old one) hands the caller the agent's account, and
    deleting an agent removes its rights: both need the right to remove its bits 1 and 32."""
    privileged = agent.permission & (Permission.PROJECT_SUPER_ADMIN | Permission.CUSTOMER_ADMIN)
    try:
        permissions.require_may_change_permission(actor, agent.customer_id, old=privileged, new=0)
    except PermissionDenied:
        raise PermissionDenied(
            "PERMISSION_NOT_ALLOWED",
            f"Only an agent who may remove this agent's permission bits may {action}.",
        ) from None


def _lock_customer(customer_id: UUID) -> None:
    """Serialise changes that may remove a customer's last admin."""
    Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk").first()


def _lock_live_agent(agent: Agent) -> Agent:
    """Lock the agent's row; a deleted agent is AGENT_NOT_FOUND.

    Callers may hold an agent read before a concurrent delete: writing to it would give a
    deleted agent live addresses (blocking them for everyone) or a direct hash again.
    """
    current = Agent.objects.select_for_update().filter(pk=agent.pk, tm_delete__isnull=True).first()
    if current is None:
        raise NotFound("AGENT_NOT_FOUND", "No such agent.")
    return current


def _check_not_last_admin(agent: Agent) -> None:
    others = (
        Agent.objects.live()
        .for_customer(agent.customer_id)
        .filter(permission__gte=Permission.CUSTOMER_ADMIN)
        .exclude(pk=agent.pk)
    )
    if not any(other & Permission.CUSTOMER_ADMIN for other in others.values_list("permission", flat=True)):
        raise FailedPrecondition("LAST_ADMIN", "A customer must keep at least one admin.")


_ADDRESS_COLUMNS = "id, customer_id, agent_id, position, type, target, target_name, name, detail, tm_create"


def _write_addresses(agent: Agent, addresses: Sequence[CleanAddress]) -> None:
    """Insert the agent's addresses in ring order; ADDRESS_ALREADY_ASSIGNED, naming each one,
    when another live agent of the customer holds any of them.

    The database's unique constraint (the table's only one besides the key) decides: ON
    CONFLICT DO NOTHING, then compare what was inserted. So no check can race with another
    writer, and none costs a query. The caller's transaction is rolled back by the error.
    """
    if not addresses:
        return
    now = db_param(Address, "tm_create", timezone.now())
    customer = db_param(Address, "customer", agent.customer_id)
    agent_id = db_param(Address, "agent", agent.pk)
    values = []
    for position, address in enumerate(addresses):
        values += [db_param(Address, "id", uuid4()), customer, agent_id, position, address.type]
        values += [address.target, address.target_name, address.name, address.detail, now]
    row = "(" + ", ".join(["%s"] * len(_ADDRESS_COLUMNS.split(","))) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO agents_address ({_ADDRESS_COLUMNS}) VALUES {', '.join([row] * len(addresses))}"  # noqa: S608 (placeholders only)
            " ON CONFLICT DO NOTHING RETURNING position",
            values,
        )
        inserted = {position for (position,) in cursor.fetchall()}
    conflicts = [
        FieldError(f"addresses[{position}].target", "is already assigned to another agent")
        for position in range(len(addresses))
        if position not in inserted
    ]
    if conflicts:
        raise AlreadyExists(
            "ADDRESS_ALREADY_ASSIGNED", "An address is already assigned to another agent.", conflicts
        )


def _write_tags(agent: Agent, tag_ids: Iterable[UUID]) -> None:
    from tags.models import AgentTag

    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag_id=tag_id) for tag_id in tag_ids)


def new_direct_hash() -> str:
    """12 lowercase hex characters from a cryptographic source, not used by any agent."""
    while True:
        candidate = secrets.token_hex(6)
        if not Agent.objects.filter(direct_hash=candidate).exists():
            return candidate


def _changed_by(actor: Actor) -> dict:
    """Who made a change, as the columns of a status change row (none for the system)."""
    return {
        "changed_by_agent_id": actor.pk if isinstance(actor, Agent) else None,
        "changed_by_access_key_id": actor.pk if isinstance(actor, AccessKey) else None,
    }


def record_agent_events(agents: Sequence[Agent], event_type: str) -> None:
    """Write one event per agent with its current representation (same transaction)."""
    if not agents:
        return
    fresh = Agent.objects.with_representation().in_bulk([agent.pk for agent in agents])
    now = timezone.now()
    AgentEvent.objects.bulk_create(
        AgentEvent(
            customer_id=agent.customer_id,
            agent_id=agent.pk,
            type=event_type,
            data=agent_representation(fresh[agent.pk]),
            tm_create=now,
        )
        for agent in agents
    )


def _refreshed(agent: Agent) -> Agent:
    """The agent re-read with everything its representation needs."""
    return Agent.objects.with_representation().get(pk=agent.pk)


# The status change is the write agents and dialers make all day, so the compare-and-set writes
# below are written in SQL: compiling them through the ORM cost more CPU than running them
# (README, "Performance"). Each INSERT reads `{source}` so that PostgreSQL can run it as part of
# the UPDATE's statement.
_INSERT_STATUS_CHANGE = """
    INSERT INTO agents_agentstatuschange
        (agent_id, from_status, to_status, reason, changed_by_agent_id, changed_by_access_key_id, tm_create)
    SELECT %(agent)s, %(from_status)s, %(status)s, %(reason)s, %(by_agent)s, %(by_access_key)s, %(now)s
    {source}
"""
_INSERT_EVENT = """
    INSERT INTO agents_agentevent (customer_id, agent_id, type, data, tm_create)
    SELECT %(customer)s, %(agent)s, %(event_type)s, %(event_data)s, %(now)s {source}
"""


def _write_if_unchanged(agent: Agent, *, inserts: Sequence[str], params: dict, assignments: str = "") -> bool:
    """Apply `assignments` (and `tm_update = %(now)s`) to the agent's row only if it is still as
    the caller read it (same `tm_update`, which every change moves, and still live), and then
    run `inserts` (history, event). False means the caller's copy is stale or the agent was
    deleted meanwhile, and nothing was written.

    The UPDATE takes the row lock itself, so the common case needs no SELECT ... FOR UPDATE and
    no re-read. On PostgreSQL it is one statement (the inserts as data-modifying CTEs), atomic on
    its own; elsewhere the statements share a transaction.
    """
    as_read = "tm_update = %(as_read)s" if agent.tm_update else "tm_update IS NULL"
    set_clause = ", ".join(filter(None, [assignments, "tm_update = %(now)s"]))
    update = f"UPDATE agents_agent SET {set_clause} WHERE id = %(agent)s AND tm_delete IS NULL AND {as_read}"  # noqa: S608 (fixed fragments)
    params = {
        **params,
        "agent": db_param(Agent, "id", agent.pk),
        "customer": db_param(Agent, "customer", agent.customer_id),
        "as_read": db_param(Agent, "tm_update", agent.tm_update),
        "now": db_param(Agent, "tm_update", params["now"]),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            *side_effects, last = [insert.format(source="FROM changed") for insert in inserts]
            ctes = "".join(f", write_{index} AS ({sql})" for index, sql in enumerate(side_effects))
            cursor.execute(f"WITH changed AS ({update} RETURNING id){ctes} {last}", params)
            return cursor.rowcount > 0
        with transaction.atomic():
            cursor.execute(update, params)
            if cursor.rowcount == 0:
                return False
            for insert in inserts:
                cursor.execute(insert.format(source=""), params)
            return True


def _event_params(actor: Actor, event_type: str, representation: dict) -> dict:
    """The parameters of `_INSERT_EVENT` and `_INSERT_STATUS_CHANGE` for the acting caller."""
    changed_by = _changed_by(actor)
    return {
        "event_type": event_type,
        "event_data": db_param(AgentEvent, "data", representation),
        "by_agent": db_param(AgentStatusChange, "changed_by_agent", changed_by["changed_by_agent_id"]),
        "by_access_key": db_param(
            AgentStatusChange, "changed_by_access_key", changed_by["changed_by_access_key_id"]
        ),
    }


def _record_and_return(agent: Agent, event_type: str) -> Agent:
    fresh = _refreshed(agent)
    AgentEvent.objects.create(
        customer_id=fresh.customer_id, agent_id=fresh.pk, type=event_type, data=agent_representation(fresh)
    )
    return fresh


def _revoke_login_tokens(agent: Agent) -> None:
    LoginToken.objects.filter(agent=agent, tm_revoke__isnull=True).update(tm_revoke=timezone.now())


def hash_secret(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


# --- customers ---------------------------------------------------------------------------------


@atomic_service
def customer_create_with_admin(*, name: str, username: str, password: str, detail: str = "") -> Agent:
    """A new customer and its first admin agent (permission 32); the username must be free."""
    name = clean_text("name", name, max_length=NAME_MAX_LENGTH, required=True)
    customer = Customer.objects.create(name=name, detail=detail or "")
    return agent_create(
        actor=SYSTEM,
        customer_id=customer.id,
        username=username,
        password=password,
        # The customer's name may use all 255 characters; the admin's derived name must fit too.
        name=name[: NAME_MAX_LENGTH - len(" admin")] + " admin",
        permission=Permission.CUSTOMER_ADMIN,
    )


@atomic_service
def customer_update(
    *, actor: Actor, customer: Customer, name: object = UNSET, detail: object = UNSET
) -> Customer:
    """Rename or re-describe a customer (project super admins only); UNSET fields keep their value."""
    if not permissions.is_project_super_admin(actor):
        raise PermissionDenied("SUPER_ADMIN_REQUIRED", "Only a project super admin may change a customer.")
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = clean_text("name", name, max_length=NAME_MAX_LENGTH, required=True)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    if changes:
        changes["tm_update"] = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(**changes)
    return Customer.objects.get(pk=customer.pk)


# --- agents ------------------------------------------------------------------------------------


@atomic_service
def agent_create(
    *,
    actor: Actor,
    customer_id: UUID,
    username: object,
    password: object,
    name: object = "",
    detail: object = "",
    ring_method: object = RingMethod.RINGALL,
    permission: object = 0,
    tag_ids: object = (),
    addresses: object = (),
) -> Agent:
    """Create an agent: status offline, a fresh direct hash.

    The username is unique among live agents of all customers, case-insensitively (sign-in
    takes no customer). Permission, tags and addresses follow the same rules as changing them.
    """
    permissions.require_supervisor_of(actor, customer_id)
    username = clean_username(username)
    password = _clean_new_password(password)
    name = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    detail = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    ring_method = clean_ring_method(ring_method)
    permission = clean_permission(permission)
    permissions.require_may_change_permission(actor, customer_id, old=0, new=permission)
    clean_addrs = clean_address_list(list(addresses) if isinstance(addresses, tuple) else addresses)

    if Agent.objects.live().filter(username_key=fold_username(username)).exists():
        raise AlreadyExists("AGENT_ALREADY_EXISTS", "An agent with this username already exists.")
    tag_id_list = clean_tag_ids(customer_id, list(tag_ids) if isinstance(tag_ids, tuple) else tag_ids)

    now = timezone.now()
    agent = Agent(
        customer_id=customer_id,
        username=username,
        name=name,
        detail=detail,
        ring_method=ring_method,
        permission=permission,
        status=AgentStatus.OFFLINE,
        direct_hash=new_direct_hash(),
        tm_create=now,
        tm_status=now,
    )
    _set_new_password(agent, password)
    agent.save(force_insert=True)
    _write_tags(agent, tag_id_list)
    _write_addresses(agent, clean_addrs)
    AgentStatusChange.objects.create(
        agent=agent,
        from_status="",
        to_status=AgentStatus.OFFLINE,
        reason="created",
        tm_create=now,
        **_changed_by(actor),
    )
    return _record_and_return(agent, AgentEventType.CREATED)


@atomic_service
def agent_update(
    *, actor: Actor, agent: Agent, name: object = UNSET, detail: object = UNSET, ring_method: object = UNSET
) -> Agent:
    """Change name, detail and ring method; fields left UNSET keep their value."""
    permissions.require_self_or_supervisor(actor, agent)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    if ring_method is not UNSET:
        changes["ring_method"] = clean_ring_method(ring_method)
    _lock_live_agent(agent)
    if not changes:
        return _refreshed(agent)
    changes["tm_update"] = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(**changes)
    return _record_and_return(agent, AgentEventType.UPDATED)


def agent_set_status(*, actor: Actor, agent: Agent, status: object, reason: object = "") -> Agent:
    """Set the status and record the change (who, when, from, to, reason).

    Setting the status the caller's copy already shows changes nothing, records nothing and
    reads nothing: the copy was read during this same request, so answering it is exact as of
    that read, even if another writer has changed the status since.
    """
    permissions.require_self_or_supervisor(actor, agent)
    status = clean_status(status)
    reason = clean_text("reason", reason, max_length=REASON_MAX_LENGTH)
    if agent.status == status or _set_status_if_unchanged(actor, agent, status, reason):
        return agent
    # Not `atomic_service` as a whole: the common case above is a single statement (atomic on
    # its own) or its own transaction, and this one is atomic.
    return _set_status_on_locked_row(actor, agent, status, reason)


def _set_status_if_unchanged(actor: Actor, agent: Agent, status: str, reason: str) -> bool:
    """Change the status of the agent as the caller read it, with its history and event rows:
    one statement on PostgreSQL. False (nothing written) when the row changed since."""
    now = timezone.now()
    representation = {**agent_representation(agent), "status": status, "tm_update": format_timestamp(now)}
    written = _write_if_unchanged(
        agent,
        assignments="status = %(status)s, tm_status = %(now)s",
        inserts=[_INSERT_STATUS_CHANGE, _INSERT_EVENT],
        params={
            "now": now,
            "status": status,
            "from_status": agent.status,
            "reason": reason,
            **_event_params(actor, AgentEventType.STATUS_UPDATED, representation),
        },
    )
    if written:
        agent.status, agent.tm_status, agent.tm_update = status, now, now
    return written


@atomic_service
def _set_status_on_locked_row(actor: Actor, agent: Agent, status: str, reason: str) -> Agent:
    """The caller's copy is stale: decide on the locked row, so that `from_status` is exact
    when two supervisors change it at once."""
    from_status = _lock_live_agent(agent).status
    if from_status == status:
        return _refreshed(agent)
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(status=status, tm_status=now, tm_update=now)
    AgentStatusChange.objects.create(
        agent_id=agent.pk,
        from_status=from_status,
        to_status=status,
        reason=reason,
        tm_create=now,
        **_changed_by(actor),
    )
    return _record_and_return(agent, AgentEventType.STATUS_UPDATED)


@atomic_service
def agent_replace_addresses(*, actor: Actor, agent: Agent, addresses: object) -> Agent:
    """Replace all addresses, all or nothing.

    At most 20, each valid for its type, none twice, none held by another live agent of the
    same customer (ADDRESS_ALREADY_ASSIGNED). Order is kept: it is the ring order.
    """
    permissions.require_self_or_supervisor(actor, agent)
    cleaned = clean_address_list(addresses)
    now = timezone.now()
    new_addresses = [dataclasses.asdict(address) for address in cleaned]
    representation = {
        **agent_representation(agent),
        "addresses": new_addresses,
        "tm_update": format_timestamp(now),
    }
    # The agent's row lock (taken by the UPDATE) serialises two replacements of its addresses.
    unchanged = _write_if_unchanged(
        agent,
        inserts=[_INSERT_EVENT],
        params={"now": now, **_event_params(actor, AgentEventType.UPDATED, representation)},
    )
    if not unchanged:
        _lock_live_agent(agent)
        Agent.objects.filter(pk=agent.pk).update(tm_update=now)
    Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=True).delete()
    _write_addresses(agent, cleaned)
    if not unchanged:
        return _record_and_return(agent, AgentEventType.UPDATED)
    if not hasattr(agent, "addresses_json"):
        return _refreshed(agent)
    # Nothing else changed since the caller read it: its representation only needs the new
    # addresses, without reading the agent again.
    agent.addresses_json = json.dumps(new_addresses)
    agent.tm_update = now
    return agent


@atomic_service
def agent_replace_tags(*, actor: Actor, agent: Agent, tag_ids: object) -> Agent:
    """Replace all tags with live tags of the agent's customer (INVALID_TAG_IDS otherwise)."""
    from tags.models import AgentTag

    permissions.require_supervisor_of(actor, agent.customer_id)
    wanted = clean_tag_ids(agent.customer_id, tag_ids)
    _lock_live_agent(agent)
    AgentTag.objects.filter(agent_id=agent.pk).delete()
    _write_tags(agent, wanted)
    Agent.objects.filter(pk=agent.pk).update(tm_update=timezone.now())
    return _record_and_return(agent, AgentEventType.UPDATED)


def _tags_on_locked_row(actor: Actor, agent: Agent) -> list[UUID]:
    """The agent's tags, read after its row is locked: two concurrent additions (console bulk
    actions) then run one after the other, and neither loses the other's tag."""
    permissions.require_supervisor_of(actor, agent.customer_id)
    _lock_live_agent(agent)
    return list(agent.tag_links.values_list("tag_id", flat=True))


@atomic_service
def agent_add_tags(*, actor: Actor, agent: Agent, tag_ids: Sequence[UUID]) -> Agent:
    """Add tags to those the agent has (used by the console's bulk actions)."""
    current = _tags_on_locked_row(actor, agent)
    added = [tag_id for tag_id in tag_ids if tag_id not in current]
    return agent_replace_tags(actor=actor, agent=agent, tag_ids=current + added)


@atomic_service
def agent_remove_tags(*, actor: Actor, agent: Agent, tag_ids: Sequence[UUID]) -> Agent:
    """Remove tags from those the agent has (used by the console's bulk actions)."""
    current = _tags_on_locked_row(actor, agent)
    kept = [tag_id for tag_id in current if tag_id not in set(tag_ids)]
    return agent_replace_tags(actor=actor, agent=agent, tag_ids=kept)


@atomic_service
def agent_set_permission(*, actor: Actor, agent: Agent, permission: object) -> Agent:
    """Set the permission bitmask.

    Only bits 1, 16, 32, 64; who may change which bit is `permissions.require_may_change_permission`
    (only a project super admin changes bit 1; only an admin changes bit 32 or the permission
    of an agent that holds it); the customer keeps at least one live admin (LAST_ADMIN). A
    change revokes the agent's login tokens.
    """
    permissions.require_supervisor_of(actor, agent.customer_id)
    new = clean_permission(permission)
    _lock_customer(agent.customer_id)
    old = _lock_live_agent(agent).permission
    if old == new:
        return _refreshed(agent)
    permissions.require_may_change_permission(actor, agent.customer_id, old=old, new=new)
    if old & Permission.CUSTOMER_ADMIN and not new & Permission.CUSTOMER_ADMIN:
        _check_not_last_admin(agent)
    Agent.objects.filter(pk=agent.pk).update(permission=new, tm_update=timezone.now())
    _revoke_login_tokens(agent)
    return _record_and_return(agent, AgentEventType.UPDATED)


@atomic_service
def agent_set_password(*, actor: Actor, agent: Agent, password: object, old_password: object = None) -> Agent:
    """Set a new password and revoke the agent's login tokens.

    A supervisor resets another agent's password without the old one, but only for an agent
    whose rights it could grant (an admin's password needs an admin, a project super admin's
    a project super admin). Changing one's own password always needs the current one, in
    every door and whatever one's rights: otherwise a stolen token becomes the account for
    good. Any caller that sends `old_password` must send the right one.
    """
    permissions.require_self_or_supervisor(actor, agent)
    current = _lock_live_agent(agent)
    needs_old = (
        old_password is not None
        or permissions.is_self(actor, agent)
        or not permissions.is_supervisor_of(actor, agent.customer_id)
    )
    if needs_old and (not isinstance(old_password, str) or not current.check_password(old_password)):
        raise InvalidArgument(
            "INVALID_OLD_PASSWORD",
            "The current password is wrong.",
            [FieldError("old_password", "does not match the current password")],
        )
    if not needs_old:
        _check_may_take_rights_of(actor, current, action="reset its password")
    password = _clean_new_password(password, agent)
    _set_new_password(agent, password)
    Agent.objects.filter(pk=agent.pk).update(password=agent.password, tm_update=timezone.now())
    _revoke_login_tokens(agent)
    return _record_and_return(agent, AgentEventType.UPDATED)


@atomic_service
def agent_regenerate_direct_hash(*, actor: Actor, agent: Agent) -> Agent:
    """Give the agent a new direct hash; the previous one stops resolving at once."""
    permissions.require_supervisor_of(actor, agent.customer_id)
    _lock_live_agent(agent)
    Agent.objects.filter(pk=agent.pk).update(direct_hash=new_direct_hash(), tm_update=timezone.now())
    return _record_and_return(agent, AgentEventType.UPDATED)


@atomic_service
def agent_delete(*, actor: Actor, agent: Agent) -> Agent:
    """Soft delete: frees the username, addresses and direct hash, revokes the agent's tokens,
    keeps the row and its status history. The customer's last admin cannot be deleted, and
    deleting removes the agent's bits 1 and 32, which needs the right to remove them."""
    permissions.require_supervisor_of(actor, agent.customer_id)
    _lock_customer(agent.customer_id)
    current = Agent.objects.select_for_update().filter(pk=agent.pk, tm_delete__isnull=True).first()
    if current is None:
        raise NotFound("AGENT_NOT_FOUND", "No such agent.")
    _check_may_take_rights_of(actor, current, action="delete it")
    if current.permission & Permission.CUSTOMER_ADMIN:
        _check_not_last_admin(current)
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(tm_delete=now, tm_update=now, direct_hash=None)
    Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=True).update(tm_delete=now)
    _revoke_login_tokens(agent)
    return _record_and_return(agent, AgentEventType.DELETED)


@atomic_service
def agent_restore(*, actor: Actor, agent: Agent) -> Agent:
    """Bring a deleted agent back (operators only), when it is safe.

    Safe means its username is free again; it comes back offline, with a new direct hash and
    no addresses (the old ones may have been given to others since), and must sign in anew.
    """
    if not permissions.is_project_super_admin(actor):
        raise PermissionDenied("SUPER_ADMIN_REQUIRED", "Only a project super admin may restore agents.")
    current = Agent.objects.select_for_update().get(pk=agent.pk)
    if current.tm_delete is None:
        raise FailedPrecondition("AGENT_NOT_DELETED", "The agent is not deleted.")
    if Agent.objects.live().filter(username_key=current.username_key).exists():
        raise AlreadyExists("AGENT_ALREADY_EXISTS", "Another live agent now has this username.")
    now = timezone.now()
    Agent.objects.filter(pk=agent.pk).update(
        tm_delete=None,
        tm_update=now,
        direct_hash=new_direct_hash(),
        status=AgentStatus.OFFLINE,
        tm_status=now,
    )
    # The representation lists every address row of the agent: the freed ones must go, or the
    # restored agent would show addresses it no longer holds (and that others may hold now).
    Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=False).delete()
    if current.status != AgentStatus.OFFLINE:
        AgentStatusChange.objects.create(
            agent_id=agent.pk,
            from_status=current.status,
            to_status=AgentStatus.OFFLINE,
            reason="restored",
            tm_create=now,
            **_changed_by(actor),
        )
    return _record_and_return(agent, AgentEventType.UPDATED)


# --- login tokens -------------------------------------------------------------------------------


def login_token_create(*, username: object, password: object) -> tuple[Agent, str]:
    """Check the username and password and issue a login token (plaintext returned once), for
    the operator's tools; the doors sign in through `agents.sign_in`, which adds the limit.

    An unknown user, a wrong password and a deleted agent get the same answer.
    """
    from agents.backends import AgentBackend

    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidArgument("INVALID_CREDENTIALS_FORMAT", "username and password are required.")
    agent = AgentBackend().authenticate(None, username=username, password=password)
    if agent is None:
        raise Unauthenticated("INVALID_CREDENTIALS", "Wrong username or password.")
    return agent, login_token_issue(agent=agent)


def login_token_issue(*, agent: Agent) -> str:
    """A new login token for an agent that has just proven who it is (`agents.sign_in`); the
    plaintext is returned once, only its hash is stored."""
    plaintext = secrets.token_urlsafe(32)
    while plaintext.startswith(ACCESS_KEY_PREFIX):  # it would be looked up as an access key
        plaintext = secrets.token_urlsafe(32)
    now = timezone.now()
    LoginToken.objects.create(
        agent=agent,
        token_hash=hash_secret(plaintext),
        tm_create=now,
        tm_expire=now + settings.LOGIN_TOKEN_LIFETIME,
    )
    Agent.objects.filter(pk=agent.pk).update(last_login=now)
    return plaintext


def login_token_revoke(*, plaintext: str) -> None:
    """Revoke one login token (logout). Unknown tokens are ignored."""
    LoginToken.objects.filter(token_hash=hash_secret(plaintext), tm_revoke__isnull=True).update(
        tm_revoke=timezone.now()
    )


# --- access keys --------------------------------------------------------------------------------


def _clean_expire(expire: object) -> timedelta:
    if expire is None:
        return settings.ACCESS_KEY_DEFAULT_LIFETIME
    minimum = int(settings.ACCESS_KEY_MIN_LIFETIME.total_seconds())
    maximum = int(ACCESS_KEY_MAX_LIFETIME.total_seconds())
    if not isinstance(expire, int) or isinstance(expire, bool) or not minimum <= expire <= maximum:
        message = f"must be a whole number of seconds between {minimum} and {maximum}"
        raise InvalidArgument("INVALID_EXPIRE", f"expire {message}.", [FieldError("expire", message)])
    return timedelta(seconds=expire)


@atomic_service
def access_key_create(
    *, actor: Actor, customer_id: UUID, name: object = "", detail: object = "", expire: object = None
) -> tuple[AccessKey, str]:
    """Create an access key for the customer (admins only); the plaintext is returned once.

    The plaintext is `vb_` + 32 URL-safe random characters; only its SHA-256 and its first 11
    characters are stored.
    """
    permissions.require_admin_of(actor, customer_id)
    name = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    detail = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    lifetime = _clean_expire(expire)
    plaintext = ACCESS_KEY_PREFIX + secrets.token_urlsafe(24)
    now = timezone.now()
    access_key = AccessKey.objects.create(
        customer_id=customer_id,
        name=name,
        detail=detail,
        token_hash=hash_secret(plaintext),
        token_prefix=plaintext[:11],
        tm_expire=now + lifetime,
        tm_create=now,
    )
    return access_key, plaintext


def _lock_live_access_key(access_key: AccessKey) -> None:
    """Lock the key's row; a deleted key is ACCESS_KEY_NOT_FOUND (a caller may hold a stale one)."""
    live = AccessKey.objects.select_for_update().live().filter(pk=access_key.pk)
    if live.values_list("pk").first() is None:
        raise NotFound("ACCESS_KEY_NOT_FOUND", "No such access key.")


@atomic_service
def access_key_update(
    *, actor: Actor, access_key: AccessKey, name: object = UNSET, detail: object = UNSET
) -> AccessKey:
    """Change an access key's name and detail (admins only); fields left UNSET keep their value."""
    permissions.require_admin_of(actor, access_key.customer_id)
    changes: dict[str, str] = {}
    if name is not UNSET:
        changes["name"] = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    _lock_live_access_key(access_key)
    for field, value in changes.items():
        setattr(access_key, field, value)
    access_key.tm_update = timezone.now()
    # Only the fields given: a stale object must not undo another writer's change.
    access_key.save(update_fields=[*changes, "tm_update"])
    access_key.refresh_from_db()
    return access_key


@atomic_service
def access_key_delete(*, actor: Actor, access_key: AccessKey) -> AccessKey:
    """Delete an access key (admins only); it stops authenticating at once."""
    permissions.require_admin_of(actor, access_key.customer_id)
    _lock_live_access_key(access_key)
    now = timezone.now()
    access_key.tm_delete = now
    access_key.tm_update = now
    access_key.save(update_fields=["tm_delete", "tm_update"])
    return access_key
