"""Scoped reads of agents, credentials and history.

Tenant scoping and soft delete are applied here once: another customer's agent is answered
exactly like a missing one (NOT_FOUND), so existence never leaks across customers.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Field,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import Cast, Concat, RowNumber, Upper
from django.db.models.lookups import Contains
from django.utils import timezone

from agents import permissions, trigram_search
from agents.credentials import ACCESS_KEY_PREFIX, hash_secret
from agents.models import (
    AccessKey,
    Address,
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
    agent_representation_columns,
    db_param,
    fetch_instance,
    fetch_row,
    instance_from_row,
    model_columns,
)
from agents.usernames import fold_username
from tags.models import AgentTag
from voipbin_admin.cache_errors import CACHE_UNREACHABLE
from voipbin_admin.errors import InvalidArgument, NotFound, Unauthenticated

MAX_TAG_FILTER_IDS = 100

logger = logging.getLogger(__name__)


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
        large = connection.vendor == "postgresql" and _is_searched_through_indexes(customer_id)
        agents = agents.filter(agent_search(q) if large else agent_search_scanned(q))
    return agents.newest_first()


#: A customer with more live agents than this is searched through the trigram indexes; a
#: smaller one by reading its own rows (README, "Large customers").
SEARCH_SCAN_LIMIT = 20000
#: How long the answer of `_is_searched_through_indexes` is kept (its count reads up to 20,001
#: index entries: 7 ms at a million agents).
SEARCH_SIZE_SECONDS = 600


def _is_searched_through_indexes(customer_id: UUID) -> bool:
    """Whether the customer has more live agents than `SEARCH_SCAN_LIMIT`, counted at most once
    per `SEARCH_SIZE_SECONDS` (in the cache: a customer that crosses the limit meanwhile is
    searched the other way until then, with the same results). With the cache unreachable,
    counted every time."""
    key = f"agents:search-size:{connection.settings_dict['NAME']}:{customer_id}:{SEARCH_SCAN_LIMIT}"
    try:
        counted = cache.get(key)
    except CACHE_UNREACHABLE as exc:
        logger.warning("The search's size check counts each time: the cache is unreachable (%s)", exc)
        counted = None
    if counted is None:
        counted = capped_count(Agent.objects.live().for_customer(customer_id), SEARCH_SCAN_LIMIT)
        with contextlib.suppress(*CACHE_UNREACHABLE):
            cache.set(key, counted, SEARCH_SIZE_SECONDS)
    return counted > SEARCH_SCAN_LIMIT


def agent_search(q: str) -> Q:
    """`q`: a case-insensitive "contains" on the name, the username or the detail.

    On PostgreSQL Django writes each `UPPER(col::text) LIKE UPPER(%s)`, the expression of the
    trigram indexes of migration 0007 (GIN, pg_trgm), so a large customer's search is a bitmap
    of index matches rather than a scan of its million rows. Each index is asked for the
    fragment of q that is cheapest to look up there (`trigram_search.index_fragment`), and the
    rows it gives are matched against the whole of q.
    """
    pattern = Upper(Value(q))
    condition = Q()
    for column in trigram_search.SEARCH_INDEXES:
        fragment = trigram_search.index_fragment(q, column)
        if fragment == q:
            condition |= Q(**{f"{column}__icontains": q})
        else:
            condition |= Q(**{f"{column}__icontains": fragment}) & _unindexed_upper(column, pattern)
    return condition


def agent_search_scanned(q: str) -> Q:
    """The same search, written so that no trigram index matches it: for a customer whose own
    rows are fewer than the index's matches. The trigram indexes cover every customer, and
    PostgreSQL estimates their cost low: it took them for a 1,000-agent customer beside a
    1,000,000-agent one, 70 ms instead of the 3 ms of reading the customer's thousand rows."""
    pattern = Upper(Value(q))
    return (
        Q(_unindexed_upper("name", pattern))
        | Q(_unindexed_upper("username", pattern))
        | Q(_unindexed_upper("detail", pattern))
    )


def _unindexed_upper(column: str, pattern: Upper) -> Q:
    """`UPPER(col || '') LIKE '%' || UPPER(q) || '%'` (LIKE's wildcards in q escaped): the fold
    and the match of `icontains`, on an expression no index has."""
    text = Concat(F(column), Value(""), output_field=CharField())
    return Q(Contains(Upper(text), pattern))


def agent_admin_search(term: str) -> Q:
    """The admin site's agent search: every word of `term` in the username (or a live agent's
    username in any spelling, by its folded key), the name or one of the addresses' targets.

    Each word is `id IN (agents matching UNION agents of matching addresses)`: on PostgreSQL the
    agents' part is a BitmapOr of the folded key's unique index and the trigram indexes of
    migration 0007, the addresses' part a bitmap of its trigram index, and the whole a
    semi-join, so no DISTINCT is needed. (An `EXISTS` on the addresses inside the OR would make
    PostgreSQL scan every agent.)
    """
    condition = Q()
    for word in term.split():
        if "\x00" in word:
            return Q(pk__in=[])
        agents = Agent.objects.filter(
            Q(username_key=fold_username(word), tm_delete__isnull=True)
            | Q(username__icontains=word)
            | Q(name__icontains=word)
        ).values("id")
        addresses = Address.objects.filter(target__icontains=word).values("agent_id")
        condition &= Q(pk__in=agents.union(addresses))
    return condition


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
    return agent_visible_to(actor, agent)


def agent_visible_to(actor: Actor, agent: Agent | None) -> Agent:
    """The agent a lookup found, if the actor may see it: AGENT_NOT_FOUND for none, or for
    another customer's agent."""
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


# Credentials are checked on every API request, so these reads are written in SQL: through the
# ORM the token lookup took 1.3 ms of CPU, most of it compiling the query; as SQL 0.35 ms
# (README, "Performance"). Per credential model: the tables, the alias of the model's row, the
# column of the credential's hash, and what else makes it valid (its one parameter: now).
_CREDENTIAL_SOURCES: dict[type[Model], tuple[str, str, str, str]] = {
    Agent: (
        "agents_logintoken t JOIN agents_agent a ON a.id = t.agent_id",
        "a",
        "t.token_hash",
        "t.tm_revoke IS NULL AND t.tm_expire > %s AND a.tm_delete IS NULL",
    ),
    AccessKey: ("agents_accesskey k", "k", "k.token_hash", "k.tm_expire > %s AND k.tm_delete IS NULL"),
}


@functools.cache
def _credential_sql(model: type[Model], vendor: str, *, with_agent: bool, own: bool = False) -> str:
    """The credential's row; `with_agent`: then the live agent whose id is the first parameter,
    as `agent_by_id_sql` reads it (all NULL when there is none); `own`: instead the agent the
    login token stands for (an access key stands for none: all NULL)."""
    source, alias, hash_column, valid = _CREDENTIAL_SOURCES[model]
    columns = model_columns(model, alias)
    where = f"{hash_column} = %s AND {valid}"
    if not with_agent:
        return f"SELECT {columns} FROM {source} WHERE {where}"  # noqa: S608 (fixed fragments)
    columns = f"{columns}, {agent_representation_columns(vendor, 'g')}"
    if not own:
        agent = "LEFT JOIN agents_agent g ON g.id = %s AND g.tm_delete IS NULL"
    elif model is Agent:
        agent = "JOIN agents_agent g ON g.id = a.id"
    else:
        agent = "LEFT JOIN agents_agent g ON FALSE"
    return f"SELECT {columns} FROM {source} {agent} WHERE {where}"  # noqa: S608 (fixed fragments)


def credential_actor(raw: str) -> Agent | AccessKey:
    """Who a login token or access key (`vb_...`) stands for.

    A wrong, expired, revoked or deleted credential, or one of a deleted agent, is
    INVALID_CREDENTIALS.
    """
    actor, _ = _read_credential(raw, agent_id=None)
    return actor


def credential_actor_and_agent(raw: str, agent_id: UUID) -> tuple[Agent | AccessKey, Agent | None]:
    """`credential_actor`, and in the same statement the live agent `agent_id` as `agent_get`
    reads it (None when there is none); whether the actor may see it is still to check
    (`agent_visible_to`). For the API's routes that name an agent: one round trip less on each
    of them, the status write among them (README, "Performance")."""
    return _read_credential(raw, agent_id=agent_id)


def credential_actor_and_own_agent(raw: str) -> tuple[Agent | AccessKey, Agent | None]:
    """`credential_actor`, and in the same statement the login token's agent as `agent_get`
    reads it (None for an access key): for the routes about the caller's own record
    (`/v1.0/me`, `/v1.0/service_agents/me/...`)."""
    return _read_credential(raw, agent_id=None, own=True)


#: Credentials per statement of `credential_actors` (SQLite takes at most 32,766 parameters).
_CREDENTIALS_PER_READ = 500


def credential_actors(raws: Iterable[str]) -> dict[str, Agent | AccessKey]:
    """`credential_actor` for many credentials at once, by the same rules: who each still valid
    one stands for (an invalid one is left out). The event stream re-checks every open
    connection of a server process with one such read per kind of credential."""
    by_hash = {hash_secret(raw): raw for raw in raws if raw}
    now = db_param(LoginToken, "tm_expire", timezone.now())
    actors: dict[str, Agent | AccessKey] = {}
    models: tuple[type[Agent] | type[AccessKey], ...] = (Agent, AccessKey)
    for model in models:
        is_key = model is AccessKey
        hashes = [digest for digest, raw in by_hash.items() if raw.startswith(ACCESS_KEY_PREFIX) == is_key]
        source, alias, hash_column, valid = _CREDENTIAL_SOURCES[model]
        for start in range(0, len(hashes), _CREDENTIALS_PER_READ):
            chunk = hashes[start : start + _CREDENTIALS_PER_READ]
            placeholders = ", ".join(["%s"] * len(chunk))
            columns = f"{hash_column}, {model_columns(model, alias)}"
            sql = f"SELECT {columns} FROM {source} WHERE {hash_column} IN ({placeholders}) AND {valid}"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.execute(sql, [*chunk, cast(Any, now)])
                rows = cursor.fetchall()
            for row in rows:
                actors[by_hash[row[0]]] = instance_from_row(model, row, 1)[0]
    return actors


def live_session_keys(session_keys: Iterable[str]) -> set[str]:
    """The console sessions among these that still exist and have not expired (signing out
    deletes one; the settings keep sessions in the database)."""
    from django.contrib.sessions.models import Session

    live = Session.objects.filter(session_key__in=list(session_keys), expire_date__gt=timezone.now())
    return set(live.values_list("session_key", flat=True))


def live_agents(agent_ids: Iterable[UUID]) -> dict[UUID, Agent]:
    return Agent.objects.live().in_bulk(list(agent_ids))


def _read_credential(
    raw: str, *, agent_id: UUID | None, own: bool = False
) -> tuple[Agent | AccessKey, Agent | None]:
    if not raw:
        raise Unauthenticated("INVALID_CREDENTIALS", "The credential is not valid.")
    model: type[Agent] | type[AccessKey] = AccessKey if raw.startswith(ACCESS_KEY_PREFIX) else Agent
    params = [hash_secret(raw), db_param(LoginToken, "tm_expire", timezone.now())]
    sql = _credential_sql(model, connection.vendor, with_agent=agent_id is not None or own, own=own)
    row = fetch_row(sql, params if agent_id is None else [db_param(Agent, "id", agent_id), *params])
    if row is None:
        raise Unauthenticated("INVALID_CREDENTIALS", "The credential is not valid.")
    actor, end = instance_from_row(model, row)
    if agent_id is None and not own:
        return actor, None
    agent, _ = instance_from_row(Agent, row, end, extra=AGENT_REPRESENTATION_EXTRA)
    return actor, (agent if agent.pk is not None else None)


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


# --- keyset pages of the console's agents list ------------------------------------------------

#: A list's count stops here ("1,000+"): counting a large customer's million rows on every page
#: view is what the keyset pages avoid (README, "Large customers").
LIST_COUNT_LIMIT = 1000


class ConsolePage(NamedTuple):
    """One page of the console's agents list: its agents and the tokens of the pages around it
    (None when there is none)."""

    object_list: list[Agent]
    next_token: str | None
    previous_token: str | None
    #: The first page, with no page after it: it holds the whole list (and its count).
    is_whole_list: bool = False


def _position_token(agent: Agent, fields: Sequence[str]) -> str:
    """The URL-safe base64 of the JSON list of the ordering's name and the agent's values."""
    values = [",".join(fields), *(str(getattr(agent, name.lstrip("-"))) for name in fields)]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _parse_position(token: str | None, fields: Sequence[str]) -> list[object] | None:
    """The ordering values a page token holds; None for none, a malformed one or one of
    another ordering (the console ignores a bad value rather than failing: the first page)."""
    if not token or len(token) > 4096:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(values, list) or values[:1] != [",".join(fields)] or len(values) != len(fields) + 1:
            return None
        if not all(isinstance(value, str) and "\x00" not in value for value in values):
            return None
        parsed = [
            cast(Field, Agent._meta.get_field(name.lstrip("-"))).to_python(value)
            for name, value in zip(fields, values[1:], strict=True)
        ]
    except (ValueError, TypeError, UnicodeDecodeError, ValidationError, binascii.Error):
        return None
    return None if any(value is None for value in parsed) else parsed


def _after(fields: Sequence[str], values: Sequence[object], *, backwards: bool) -> Q:
    """The rows strictly after a position in this ordering (before it when `backwards`), with
    the first field's bound spelt out too, so the database starts its index scan there."""

    def op(name: str) -> str:
        return "lt" if name.startswith("-") != backwards else "gt"

    first = fields[0].lstrip("-")
    condition = Q(**{f"{first}__{op(fields[0])}e": values[0]})
    ties = Q()
    alternatives = Q()
    for name, value in zip(fields, values, strict=True):
        alternatives |= ties & Q(**{f"{name.lstrip('-')}__{op(name)}": value})
        ties &= Q(**{name.lstrip("-"): value})
    return condition & alternatives


def agent_console_page(
    agents: QuerySet[Agent], *, ordering: str, size: int, after: str | None = None, before: str | None = None
) -> ConsolePage:
    """A keyset page of `agent_console_list(...)`: `size` agents after the position of `after`
    (or before `before`), one query for the rows (plus the list's prefetches), whatever the page's
    depth; no count."""
    fields = AGENT_CONSOLE_ORDERINGS.get(ordering, AGENT_CONSOLE_ORDERINGS["-created"])
    position = _parse_position(before, fields)
    if position is not None:
        reversed_fields = [name[1:] if name.startswith("-") else f"-{name}" for name in fields]
        rows = list(
            agents.filter(_after(fields, position, backwards=True)).order_by(*reversed_fields)[: size + 1]
        )
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return ConsolePage(
            rows,
            _position_token(rows[-1], fields) if rows else None,
            _position_token(rows[0], fields) if rows and more_before else None,
        )
    position = _parse_position(after, fields)
    if position is not None:
        agents = agents.filter(_after(fields, position, backwards=False))
    rows = list(agents[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    return ConsolePage(
        rows,
        _position_token(rows[-1], fields) if more_after else None,
        _position_token(rows[0], fields) if rows and position is not None else None,
        is_whole_list=position is None and not more_after,
    )


def console_page_token(agent: Agent, *, ordering: str) -> str:
    """The token of the page that starts after this agent in this ordering (the benchmark's deep
    page)."""
    return _position_token(agent, AGENT_CONSOLE_ORDERINGS.get(ordering, AGENT_CONSOLE_ORDERINGS["-created"]))


def capped_count(queryset: QuerySet, limit: int = LIST_COUNT_LIMIT) -> int:
    """How many rows, counting no further than `limit` + 1 (a page shows "1,000+")."""
    return queryset.order_by()[: limit + 1].count()


# --- the board ------------------------------------------------------------------------------------

#: Tiles a status group shows at most; the others are counted, and followed by id (live.js).
BOARD_GROUP_TILES = 50


class BoardAgent(NamedTuple):
    id: UUID
    username: str
    name: str
    status: str
    tm_status: datetime
    tag_ids: list[UUID]


class Board(NamedTuple):
    """What the board shows: at most `BOARD_GROUP_TILES` tiles per status (by name), and every
    other agent as counts.

    `matching` is how many agents match the filters per status (the groups' sizes); `counts` how
    many live agents the customer has per status; `unshown` the statuses of matching agents
    without a tile and `outside` those of agents outside the filters (by id, as text): the page
    follows their events with them (static/js/live.js). Both are empty when every agent has its
    tile."""

    agents: list[BoardAgent]
    matching: dict[str, int]
    counts: dict[str, int]
    unshown: dict[str, str]
    outside: dict[str, str]


def _statuses(agents: QuerySet[Agent]) -> dict[str, str]:
    """Status by id (as text, the form events carry): PostgreSQL writes the text of the uuid
    itself, which spares building a UUID per row; SQLite stores ids without hyphens."""
    agents = agents.order_by()
    if connection.vendor == "postgresql":
        return dict(agents.annotate(key=Cast("id", CharField())).values_list("key", "status"))
    return {str(agent_id): status for agent_id, status in agents.values_list("id", "status")}


def agent_board(
    *,
    customer_id: UUID,
    status: str | None = None,
    tag_ids: Sequence[UUID] | None = None,
    q: str | None = None,
    per_group: int | None = None,
) -> Board:
    """The live status board (the list filters): the first `per_group` agents of each status by
    name as plain rows (no model instances), their tags, and everyone else's status.

    Queries: the tiles (one window query), their tag links, the matching agents' statuses, and
    on a filtered board every agent's status (4 in all; 3 unfiltered). None counts with COUNT(*)
    apart: the counts come from the statuses read anyway."""
    from tags.models import AgentTag

    per_group = BOARD_GROUP_TILES if per_group is None else per_group
    matching_agents = agent_list(customer_id=customer_id, status=status, tag_ids=tag_ids, q=q)
    rank = Window(RowNumber(), partition_by=[F("status")], order_by=[F("name"), F("username"), F("id")])
    rows = list(
        matching_agents.annotate(rank=rank)
        .filter(rank__lte=per_group)
        .order_by("name", "username", "id")
        .values_list("id", "username", "name", "status", "tm_status")
    )
    tags_of: dict[UUID, list[UUID]] = {}
    if rows:
        links = AgentTag.objects.filter(agent_id__in=[row[0] for row in rows]).order_by("id")
        for agent_id, tag_id in links.values_list("agent_id", "tag_id"):
            tags_of.setdefault(agent_id, []).append(tag_id)
    matching = _statuses(matching_agents)
    filtered = bool(status or tag_ids or q)
    everyone = _statuses(Agent.objects.live().for_customer(customer_id)) if filtered else dict(matching)
    for row in rows:
        matching.pop(str(row[0]), None)
    matching_counts = dict.fromkeys(AgentStatus.values, 0)
    for row in rows:
        matching_counts[row[3]] += 1
    for agent_status in matching.values():
        matching_counts[agent_status] += 1
    counts = dict.fromkeys(AgentStatus.values, 0)
    for agent_status in everyone.values():
        counts[agent_status] += 1
    if filtered:
        outside = {key: value for key, value in everyone.items() if key not in matching}
        for row in rows:
            outside.pop(str(row[0]), None)
    else:
        outside = {}
    return Board(
        [BoardAgent._make((*row, tags_of.get(row[0], []))) for row in rows],
        matching_counts,
        counts,
        matching,
        outside,
    )


def agent_status_counts(*, customer_id: UUID) -> dict[str, int]:
    """How many live agents of the customer are in each status (every status, 0 when none)."""
    counts = dict.fromkeys(AgentStatus.values, 0)
    rows = Agent.objects.live().for_customer(customer_id).values("status").annotate(count=Count("id"))
    for row in rows.order_by():
        counts[row["status"]] = row["count"]
    return counts


#: How many of the customer's newest events the board's version covers (see below).
BOARD_VERSION_EVENTS = 32


def agent_board_version(*, customer_id: UUID) -> str:
    """What the status board shows for a customer, as a short fingerprint that costs the same
    for 10 agents or a million: the ids of the customer's newest events (one probe of the
    events' (customer, id) index) and its tags' count and latest change.

    Every change a board shows writes an event in the change's transaction (created, updated:
    renamed or retagged, status, deleted); tags are few and carry their own times. Event ids are
    not taken in commit order across agents (README, "Event stream"): a change that commits
    just after a later one has a lower id than the newest. Covering the newest
    `BOARD_VERSION_EVENTS` ids rather than the newest alone catches it unless that many newer
    events of the customer committed in between.
    """
    from tags.models import Tag

    events = AgentEvent.objects.filter(customer_id=customer_id).order_by("-id")
    ids = list(events.values_list("id", flat=True)[:BOARD_VERSION_EVENTS])
    tags = Tag.objects.filter(customer_id=customer_id).aggregate(
        n=Count("id", filter=Q(tm_delete__isnull=True)), updated=Max("tm_update"), deleted=Max("tm_delete")
    )
    digest = hashlib.sha256(repr((ids, tags["n"], tags["updated"], tags["deleted"])).encode())
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
