"""Scoped reads of tags."""

from __future__ import annotations

from uuid import UUID

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from agents import permissions
from agents.permissions import Actor
from agents.selectors import parse_uuid
from tags.models import AgentTag, Tag
from voipbin_admin.errors import NotFound


def tag_list(*, customer_id: UUID) -> QuerySet[Tag]:
    """The customer's live tags in name order, case-insensitive whatever the database's collation
    (SQLite's and a C-collated PostgreSQL's binary order put "Mike" before "alpha"): the one
    order of every list of tags (the tags page, the console's filters and forms, the board's
    coverage). The API's pages reorder them newest first."""
    return Tag.objects.live().for_customer(customer_id).order_by(Lower("name"), "name", "id")


#: The tags page counts a tag's agents up to here ("1,000+"), so that it costs the same for a
#: customer of a thousand agents or of a million (README, "Large customers").
TAG_COUNT_LIMIT = 1000

_COUNT = """
    SELECT COUNT(*) FROM (
        SELECT 1 FROM tags_agenttag l
        WHERE l.tag_id = tags_tag.id
          AND (SELECT a.tm_delete IS NULL{status} FROM agents_agent a WHERE a.id = l.agent_id)
        {limit}
    ) counted
"""
_AVAILABLE = " AND a.status = 'available'"
# (Each link's agent is a subquery, which PostgreSQL cannot turn into a join: a walk of the
# tag's links that stops at the limit. As a join it planned from the table's average tag and
# hashed every agent, 0.4 s a tag.)


#: Per tag, the customer's live agents and the available ones: the links of the customer's tags
#: (a range of the (tag, agent) index per tag) joined with the customer's live agents. Both
#: sides are the customer's own rows, and the links' statistics know each tag's share, so
#: PostgreSQL hashes the smaller side (at 10,000 agents: 30 to 37 ms, against 60 to 136 ms for
#: a walk of each agent's links, in one interleaved run). The ids are written into the
#: statement, not bound: a prepared statement's generic plan is made for an average customer,
#: and one made for a million agents would hash the whole links table for a small one.
_COVERAGE_SQL = """
    SELECT t.tag_id, COUNT(*), COUNT(*) FILTER (WHERE a.status = 'available')
    FROM agents_agent a
    JOIN tags_agenttag t ON t.agent_id = a.id
    WHERE a.customer_id = '{customer}'::uuid AND a.tm_delete IS NULL AND t.tag_id IN ({tags})
    GROUP BY t.tag_id
"""


def tag_list_with_agent_counts(*, customer_id: UUID) -> list[Tag]:
    """Tags by name with how many live agents have each (`agent_count`) and how many of them
    are available (`available_count`): two queries, costing the customer's links, not the
    table's (a count per tag, joined from the tags, took 1.4 s for a customer of 1,000 agents
    beside one of 1,000,000; README, "Large customers")."""
    tags = list(tag_list(customer_id=customer_id))
    counts: dict[UUID, tuple[int, int]] = {}
    if tags and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # UUIDs (hex digits and dashes) only: nothing of a caller's reaches the text.
            tag_ids = ", ".join(f"'{UUID(str(tag.id))}'::uuid" for tag in tags)
            cursor.execute(_COVERAGE_SQL.format(customer=UUID(str(customer_id)), tags=tag_ids))
            counts = {tag_id: (agents, available) for tag_id, agents, available in cursor.fetchall()}
    elif tags:
        rows = (
            AgentTag.objects.filter(agent__customer_id=customer_id, agent__tm_delete__isnull=True)
            .values("tag_id")
            .annotate(agents=Count("id"), available=Count("id", filter=Q(agent__status="available")))
            .order_by()
        )
        counts = {row["tag_id"]: (row["agents"], row["available"]) for row in rows}
    for tag in tags:
        agents, available = counts.get(tag.id, (0, 0))
        setattr(tag, "agent_count", agents)  # noqa: B010 (an annotation, as a queryset's would be)
        setattr(tag, "available_count", available)  # noqa: B010
    return tags


def tag_list_with_capped_counts(*, customer_id: UUID) -> QuerySet[Tag]:
    """Tags by name with `agent_count` and `available_count` as in `tag_list_with_agent_counts`,
    each counted no further than `TAG_COUNT_LIMIT` + 1 (a bounded walk of the (tag, agent)
    index per tag rather than every link of the customer)."""
    # The limit is written into the statement, not bound: a prepared statement's generic plan
    # (PostgreSQL's after 5 runs) with an unknown limit hashed every agent, 2 s a page.
    limit = f"LIMIT {int(TAG_COUNT_LIMIT) + 1}"
    return tag_list(customer_id=customer_id).annotate(
        agent_count=RawSQL(_COUNT.format(status="", limit=limit), []),  # noqa: S611
        available_count=RawSQL(_COUNT.format(status=_AVAILABLE, limit=limit), []),  # noqa: S611
    )


def tag_get(*, actor: Actor, tag_id: object) -> Tag:
    """A live tag the actor may see; TAG_NOT_FOUND for a missing or other customer's tag."""
    tag_uuid = parse_uuid(tag_id)
    tag = Tag.objects.live().filter(pk=tag_uuid).first()
    if tag is None or not permissions.belongs_to_customer(actor, tag.customer_id):
        raise NotFound("TAG_NOT_FOUND", "No such tag.")
    return tag
