"""The wire representation of a tag (contract section 4)."""

from tags.models import Tag
from voipbin_admin.timestamps import format_timestamp


def tag_representation(tag: Tag) -> dict:
    return {
        "id": str(tag.id),
        "customer_id": str(tag.customer_id),
        "name": tag.name,
        "detail": tag.detail,
        "tm_create": format_timestamp(tag.tm_create),
        "tm_update": format_timestamp(tag.tm_update),
        "tm_delete": format_timestamp(tag.tm_delete),
    }
