"""Scoped reads of tags."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Q, QuerySet

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


def tag_get(*, actor: Actor, tag_id: object) -> Tag:
    """A live tag the actor may see; TAG_NOT_FOUND for a missing or other customer's tag."""
    tag_uuid = parse_uuid(tag_id)
    tag = Tag.objects.live().filter(pk=tag_uuid).first()
    if tag is None or not permissions.belongs_to_customer(actor, tag.customer_id):
        raise NotFound("TAG_NOT_FOUND", "No such tag.")
    return tag
