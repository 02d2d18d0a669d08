"""Scoped reads of tags."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from agents import permissions
from agents.permissions import Actor
from agents.selectors import parse_uuid
from tags.models import Tag
from voipbin_admin.errors import NotFound


def tag_list(*, customer_id: UUID) -> QuerySet[Tag]:
    return Tag.objects.live().for_customer(customer_id).newest_first()


def tag_list_with_agent_counts(*, customer_id: UUID) -> QuerySet[Tag]:
    """Tags with how many live agents have each (`agent_count`) and how many are available."""
    live = Q(agent_links__agent__tm_delete__isnull=True)
    return (
        tag_list(customer_id=customer_id)
        .annotate(
            agent_count=Count("agent_links", filter=live),
            available_count=Count("agent_links", filter=live & Q(agent_links__agent__status="available")),
        )
        .order_by("name")
    )


#: The tags page counts a tag's agents up to here ("1,000+"), so that it costs the same for a
#: customer of a thousand agents or of a million (README, "Large customers").
TAG_COUNT_LIMIT = 1000

_CAPPED_COUNT = """
    SELECT COUNT(*) FROM (
        SELECT 1 FROM tags_agenttag l JOIN agents_agent a ON a.id = l.agent_id
        WHERE l.tag_id = tags_tag.id AND a.tm_delete IS NULL{status}
        LIMIT %s
    ) capped
"""
_CAPPED_STATUS_COUNT = _CAPPED_COUNT.format(status=" AND a.status = 'available'")


def tag_list_with_capped_counts(*, customer_id: UUID) -> QuerySet[Tag]:
    """Tags by name with `agent_count` and `available_count` as in `tag_list_with_agent_counts`,
    each counted no further than `TAG_COUNT_LIMIT` + 1 (a bounded walk of the (tag, agent)
    index per tag rather than every link of the customer)."""
    limit = TAG_COUNT_LIMIT + 1
    return (
        tag_list(customer_id=customer_id)
        .annotate(
            agent_count=RawSQL(_CAPPED_COUNT.format(status=""), [limit]),  # noqa: S611 (constant SQL)
            available_count=RawSQL(_CAPPED_STATUS_COUNT, [limit]),  # noqa: S611 (constant SQL)
        )
        .order_by("name")
    )


def tag_get(*, actor: Actor, tag_id: object) -> Tag:
    """A live tag the actor may see; TAG_NOT_FOUND for a missing or other customer's tag."""
    tag_uuid = parse_uuid(tag_id)
    tag = Tag.objects.live().filter(pk=tag_uuid).first()
    if tag is None or not permissions.belongs_to_customer(actor, tag.customer_id):
        raise NotFound("TAG_NOT_FOUND", "No such tag.")
    return tag
