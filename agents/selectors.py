"""Scoped reads of agents, credentials and history.

Tenant scoping and soft delete are applied here once: another customer's agent is answered
exactly like a missing one (NOT_FOUND), so existence never leaks across customers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from agents import permissions
from agents.credentials import ACCESS_KEY_PREFIX, hash_secret
from agents.models import (
    AccessKey,
    Agent,
    AgentEvent,
    AgentImport,
    AgentQuerySet,
    AgentStatus,
    AgentStatusChange,
    LoginToken,
)
from agents.permissions import Actor
from agents.query_expressions import (
    AGENT_REPRESENTATION_EXTRA,
    agent_by_id_sql,
    db_param,
    fetch_instance,
    model_columns,
)
from agents.usernames import fold_username
from tags.models import AgentTag
from voipbin_admin.errors import InvalidArgument, NotFound, Unauthenticated

MAX_TAG_FILTER_IDS = 100


def parse_uuid(value: object, *, reason: str = "INVALID_ID") -> UUID:
    """A UUID from a path or query value; INVALID_ID (400) when malformed."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidArgument(reason, f"{value!r} is not a valid id.") from None


def parse_tag_id_filter(raw: str) -> list[UUID]:
    """The `tag_ids` list filter: comma-separated UUIDs, 1 to 100 of them."""
    parts = [part.strip() for part in raw.split(",")]
    if not raw.strip() or any(not part for part in parts) or len(parts) > MAX_TAG_FILTER_IDS:
        raise InvalidArgument(
            "INVALID_TAG_IDS", f"tag_ids must be 1 to {MAX_TAG_FILTER_IDS} comma-separated tag ids."
        )
    return [parse_uuid(part, reason="INVALID_TAG_IDS") for part in parts]


def agent_list(
    *,
    customer_id: UUID,
    status: str | None = None,
    tag_ids: Sequence[UUID] | None = None,
    username: str | None = None,
    q: str | None = None,
) -> AgentQuerySet:
    """Live agents of one customer, newest first, with the list filters of contract section 6
    (an agent matches `tag_ids` if it has any of them). Callers add `.with_representation()`
    (API) or `.with_related()` (pages)."""
    agents = Agent.objects.live().for_customer(customer_id)
    if any("\x00" in value for value in (status, username, q) if value):
        # No stored text holds NUL, and PostgreSQL would refuse the query.
        agents = agents.none()
    if status:
        agents = agents.filter(status=status)
    if tag_ids:
        # A semi-join rather than a join + DISTINCT, so the database can still walk the
        # newest-first index and stop after one page.
        agents = agents.filter(Exists(AgentTag.objects.filter(agent_id=OuterRef("pk"), tag_id__in=tag_ids)))
    if username:
        agents = agents.filter(username_key=fold_username(username))
    if q:
        agents = agents.filter(Q(name__icontains=q) | Q(username__icontains=q) | Q(detail__icontains=q))
    return agents.newest_first()


def agent_get(
    *, actor: Actor, agent_id: object, include_deleted: bool = False, with_related: bool = False
) -> Agent:
    """One agent the actor may see, annotated with its representation (one query); pages that
    show its addresses and tags ask `with_related`. AGENT_NOT_FOUND for a missing, deleted or
    other customer's agent."""
    agent_uuid = parse_uuid(agent_id)
    if with_related:
        agents = Agent.objects.with_representation().with_related().select_related("customer")
        if not include_deleted:
            agents = agents.live()
        agent = agents.filter(pk=agent_uuid).first()
    else:
        sql = agent_by_id_sql(connection.vendor, live_only=not include_deleted)
        agent = fetch_instance(
            Agent, sql, [db_param(Agent, "id", agent_uuid)], extra=AGENT_REPRESENTATION_EXTRA
        )
    if agent is None or not permissions.belongs_to_customer(actor, agent.customer_id):
        raise NotFound("AGENT_NOT_FOUND", "No such agent.")
    return agent


def agent_status_history(*, agent: Agent, limit: int = 100) -> QuerySet[AgentStatusChange]:
    return agent.status_changes.select_related("changed_by_agent", "changed_by_access_key").order_by(
        "-tm_create", "-id"
    )[:limit]


def access_key_list(*, customer_id: UUID) -> QuerySet[AccessKey]:
    return AccessKey.objects.live().for_customer(customer_id).newest_first()


def access_key_get(*, actor: Actor, access_key_id: object) -> AccessKey:
    key_uuid = parse_uuid(access_key_id)
    access_key = AccessKey.objects.live().filter(pk=key_uuid).first()
    if access_key is None or not permissions.belongs_to_customer(actor, access_key.customer_id):
        raise NotFound("ACCESS_KEY_NOT_FOUND", "No such access key.")
    return access_key


# Credentials are checked on every API request, so these two reads are written in SQL: through
# the ORM the token lookup took 1.3 ms of CPU, most of it compiling the query; as SQL 0.35 ms
# (README, "Performance").
_AGENT_BY_LOGIN_TOKEN = f"""
    SELECT {model_columns(Agent, "a")} FROM agents_logintoken t JOIN agents_agent a ON a.id = t.agent_id
    WHERE t.token_hash = %s AND t.tm_revoke IS NULL AND t.tm_expire > %s AND a.tm_delete IS NULL
"""  # noqa: S608 (column names from the model)
_LIVE_ACCESS_KEY = f"""
    SELECT {model_columns(AccessKey, "k")} FROM agents_accesskey k
    WHERE k.token_hash = %s AND k.tm_expire > %s AND k.tm_delete IS NULL
"""  # noqa: S608 (column names from the model)


def credential_actor(raw: str) -> Agent | AccessKey:
    """Who a login token or access key (`vb_...`) stands for.

    A wrong, expired, revoked or deleted credential, or one of a deleted agent, is
    INVALID_CREDENTIALS.
    """
    if not raw:
        raise Unauthenticated("INVALID_CREDENTIALS", "The credential is not valid.")
    params = [hash_secret(raw), db_param(LoginToken, "tm_expire", timezone.now())]
    actor: Agent | AccessKey | None
    if raw.startswith(ACCESS_KEY_PREFIX):
        actor = fetch_instance(AccessKey, _LIVE_ACCESS_KEY, params)
    else:
        actor = fetch_instance(Agent, _AGENT_BY_LOGIN_TOKEN, params)
    if actor is None:
        raise Unauthenticated("INVALID_CREDENTIALS", "The credential is not valid.")
    return actor


# --- the event stream ---------------------------------------------------------------------------


def agent_events_after(
    *, after_id: int, customer_ids: Iterable[UUID], agent_ids: Iterable[UUID], limit: int
) -> list[AgentEvent]:
    """The stored events after `after_id`, oldest first, of these customers' agents and of these
    agents (a resume of the event stream), at most `limit`."""
    scope = Q(customer_id__in=list(customer_ids)) | Q(agent_id__in=list(agent_ids))
    return list(AgentEvent.objects.filter(scope, id__gt=after_id).order_by("id")[:limit])


def newest_agent_event_id(*, customer_id: UUID, agent_id: UUID | None = None) -> int:
    """The id of the customer's (or one of its agents') newest event, 0 when none: where a page
    that shows its agents resumes the event stream from."""
    events = AgentEvent.objects.filter(customer_id=customer_id)
    if agent_id is not None:
        events = events.filter(agent_id=agent_id)
    return next(iter(events.order_by("-id").values_list("id", flat=True)[:1]), 0)


# --- the supervisor console ---------------------------------------------------------------------

#: The console's sort keys and what each orders by (a tie-breaker last, so pages are stable).
AGENT_CONSOLE_ORDERINGS = {
    "name": ("name", "username", "id"),
    "-name": ("-name", "-username", "-id"),
    "username": ("username", "id"),
    "-username": ("-username", "-id"),
    "status": ("status", "name", "username", "id"),
    "-status": ("-status", "name", "username", "id"),
    "status_since": ("tm_status", "id"),
    "-status_since": ("-tm_status", "-id"),
    "created": ("tm_create", "id"),
    "-created": ("-tm_create", "-id"),
}


def agent_console_list(
    *,
    customer_id: UUID,
    status: str | None = None,
    tag_ids: Sequence[UUID] | None = None,
    q: str | None = None,
    ring_method: str | None = None,
    permission_bit: int | None = None,
    ordering: str = "-created",
) -> QuerySet[Agent]:
    """`agent_list` plus the console's extra filters and a whitelisted ordering.

    `permission_bit` keeps agents having that bit; 0 keeps agents with no permission bit at all.
    """
    agents = agent_list(customer_id=customer_id, status=status, tag_ids=tag_ids, q=q)
    if ring_method:
        agents = agents.filter(ring_method=ring_method)
    if permission_bit == 0:
        agents = agents.filter(permission=0)
    elif permission_bit:
        agents = agents.annotate(permission_match=F("permission").bitand(permission_bit)).filter(
            permission_match=permission_bit
        )
    ordering_fields = AGENT_CONSOLE_ORDERINGS.get(ordering, AGENT_CONSOLE_ORDERINGS["-created"])
    return agents.with_related().order_by(*ordering_fields)


class BoardAgent(NamedTuple):
    id: UUID
    username: str
    name: str
    status: str
    tm_status: datetime
    tag_ids: list[UUID]


def agent_board(
    *,
    customer_id: UUID,
    status: str | None = None,
    tag_ids: Sequence[UUID] | None = None,
    q: str | None = None,
) -> list[BoardAgent]:
    """The live status board's agents (the list filters), by name: plain rows, two queries.

    The board is re-rendered every second a change happens, for up to thousands of agents, so
    this skips model instances altogether.
    """
    from tags.models import AgentTag

    agents = (
        agent_list(customer_id=customer_id, status=status, tag_ids=tag_ids, q=q)
        .order_by("name", "username", "id")
        .values_list("id", "username", "name", "status", "tm_status")
    )
    links = (
        AgentTag.objects.filter(agent__customer_id=customer_id, agent__tm_delete__isnull=True)
        .order_by("id")
        .values_list("agent_id", "tag_id")
    )
    tags_of: dict[UUID, list[UUID]] = {}
    for agent_id, tag_id in links:
        tags_of.setdefault(agent_id, []).append(tag_id)
    return [BoardAgent._make((*row, tags_of.get(row[0], []))) for row in agents]


def agent_statuses(*, customer_id: UUID) -> dict[str, str]:
    """Every live agent's status by id (a filtered board keeps its counts right with it)."""
    rows = Agent.objects.live().filter(customer_id=customer_id).values_list("id", "status")
    return {str(agent_id): status for agent_id, status in rows}


def agent_status_counts(*, customer_id: UUID) -> dict[str, int]:
    """How many live agents of the customer are in each status (every status, 0 when none)."""
    counts = dict.fromkeys(AgentStatus.values, 0)
    rows = Agent.objects.live().for_customer(customer_id).values("status").annotate(count=Count("id"))
    for row in rows.order_by():
        counts[row["status"]] = row["count"]
    return counts


def agent_board_version(*, customer_id: UUID) -> str:
    """A fingerprint of everything the status board shows for a customer.

    It changes whenever a live agent is created, deleted, renamed, retagged or changes status
    (each bumps `tm_update` or `tm_status`), and whenever a tag is created, renamed or deleted.
    The board polls with it and gets "no change" without rendering when it is the same. It
    hashes the rows themselves rather than a max timestamp, so a transaction that commits
    after a later one is never missed.
    """
    from tags.models import Tag

    digest = hashlib.sha256()
    agent_rows = (
        Agent.objects.live()
        .for_customer(customer_id)
        .order_by("id")
        .values_list("id", "status", "tm_status", "tm_update")
    )
    for row in agent_rows:
        digest.update(repr(row).encode())
    digest.update(b"|tags|")
    for row in Tag.objects.live().for_customer(customer_id).order_by("id").values_list("id", "tm_update"):
        digest.update(repr(row).encode())
    return digest.hexdigest()[:32]


def agents_by_username(*, customer_id: UUID, usernames: Iterable[str]) -> dict[str, Agent]:
    """The customer's live agents with these usernames (any spelling), by `username_key`, with
    their addresses and tags: one read for a whole CSV file."""
    keys = {fold_username(username) for username in usernames if username and "\x00" not in username}
    agents = Agent.objects.live().for_customer(customer_id).filter(username_key__in=keys).with_related()
    return {agent.username_key: agent for agent in agents}


# The stored file (it holds passwords until the worker empties it) is never read by a page.
_IMPORT_PAGE_FIELDS = ("content",)


def agent_import_get(*, actor: Actor, agent_import_id: object, with_rows: bool = True) -> AgentImport:
    """A CSV import, for the supervisors of its customer; `with_rows=False` leaves out the
    row outcomes (the progress poll needs only the counts)."""
    import_uuid = parse_uuid(agent_import_id)
    deferred = _IMPORT_PAGE_FIELDS if with_rows else (*_IMPORT_PAGE_FIELDS, "rows")
    agent_import = AgentImport.objects.defer(*deferred).filter(pk=import_uuid).first()
    if agent_import is None or not permissions.is_supervisor_of(actor, agent_import.customer_id):
        raise NotFound("AGENT_IMPORT_NOT_FOUND", "No such import.")
    return agent_import


def agent_import_list(*, customer_id: UUID, limit: int = 10) -> QuerySet[AgentImport]:
    """The customer's latest CSV imports, newest first, without their rows."""
    return (
        AgentImport.objects.filter(customer_id=customer_id)
        .defer(*_IMPORT_PAGE_FIELDS, "rows", "errors")
        .select_related("started_by_agent", "started_by_access_key")
        .order_by("-tm_create")[:limit]
    )
