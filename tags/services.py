"""Every write to tags (contract section 7)."""

from __future__ import annotations

from uuid import UUID

from django.utils import timezone

from agents import permissions
from agents.models import Agent, AgentEventType
from agents.permissions import Actor
from agents.services.events import record_agent_events
from tags.models import AgentTag, Tag
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH, UNSET, atomic_service, clean_text
from voipbin_admin.errors import AlreadyExists, FieldError, InvalidArgument, NotFound

TAG_ALREADY_EXISTS = "TAG_ALREADY_EXISTS"


def clean_tag_name(value: object) -> str:
    """1-255 characters, not blank: a name of spaces cannot be told apart on a page."""
    name = clean_text("name", value, max_length=NAME_MAX_LENGTH, required=True)
    if not name.strip():
        raise InvalidArgument(
            "INVALID_NAME", "name must not be blank.", [FieldError("name", "must not be blank")]
        )
    return name


def _check_name_free(customer_id: UUID, name: str, *, exclude: Tag | None = None) -> None:
    others = Tag.objects.live().for_customer(customer_id).filter(name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise AlreadyExists(TAG_ALREADY_EXISTS, f"A tag named {name!r} already exists.")


def _lock_live_tag(tag: Tag) -> None:
    """Lock the tag's row; a deleted tag is TAG_NOT_FOUND (a caller may hold a stale one)."""
    if Tag.objects.select_for_update().live().filter(pk=tag.pk).values_list("pk").first() is None:
        raise NotFound("TAG_NOT_FOUND", "No such tag.")


@atomic_service
def tag_create(*, actor: Actor, customer_id: UUID, name: object, detail: object = "") -> Tag:
    """Create a tag; its name is unique among the customer's live tags, case-insensitively."""
    permissions.require_supervisor_of(actor, customer_id)
    name = clean_tag_name(name)
    detail = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    _check_name_free(customer_id, name)
    return Tag.objects.create(customer_id=customer_id, name=name, detail=detail)


@atomic_service
def tag_update(*, actor: Actor, tag: Tag, name: object = UNSET, detail: object = UNSET) -> Tag:
    """Rename or re-describe a tag; fields left UNSET keep their value."""
    permissions.require_supervisor_of(actor, tag.customer_id)
    changes: dict[str, str] = {}
    if name is not UNSET:
        changes["name"] = clean_tag_name(name)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    _lock_live_tag(tag)
    if "name" in changes:
        _check_name_free(tag.customer_id, changes["name"], exclude=tag)
    for field, value in changes.items():
        setattr(tag, field, value)
    tag.tm_update = timezone.now()
    # Only the fields given: a stale object must not undo another writer's change.
    tag.save(update_fields=[*changes, "tm_update"])
    tag.refresh_from_db()
    return tag


@atomic_service
def tag_delete(*, actor: Actor, tag: Tag) -> Tag:
    """Soft delete a tag and take it off every agent (each gets an agent_updated event)."""
    permissions.require_supervisor_of(actor, tag.customer_id)
    _lock_live_tag(tag)
    now = timezone.now()
    # Deleted agents keep their record as it was; only live agents change and get an event.
    affected_ids = list(
        AgentTag.objects.filter(tag=tag, agent__tm_delete__isnull=True).values_list("agent_id", flat=True)
    )
    AgentTag.objects.filter(tag=tag).delete()
    tag.tm_delete = now
    tag.tm_update = now
    tag.save(update_fields=["tm_delete", "tm_update"])
    if affected_ids:
        Agent.objects.filter(pk__in=affected_ids).update(tm_update=now)
        record_agent_events(list(Agent.objects.filter(pk__in=affected_ids)), AgentEventType.UPDATED)
    return tag
