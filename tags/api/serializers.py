"""The wire format of tags, as declarations for the OpenAPI document.

Views render with `tags.representation.tag_representation` and pass request values straight
to `tags.services`, which hold the rules.
"""

from __future__ import annotations

from rest_framework import serializers

from voipbin_admin.api.schema import NO_NUL, NOT_BLANK, TimestampField
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH


class TagSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    name = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    tm_create = TimestampField()
    tm_update = TimestampField()
    tm_delete = TimestampField()


class TagPageSerializer(serializers.Serializer):
    result = TagSerializer(many=True)
    next_page_token = serializers.CharField(allow_blank=True, help_text="Empty when `result` is empty.")


def _name_field(**kwargs):
    return serializers.CharField(
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        validators=[NOT_BLANK],
        help_text="Unique among the customer's live tags (case-insensitive); not only spaces.",
        **kwargs,
    )


def _detail_field():
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=DETAIL_MAX_LENGTH, validators=[NO_NUL]
    )


class TagCreateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()


class TagUpdateRequestSerializer(serializers.Serializer):
    name = _name_field(required=False, allow_null=True)
    detail = _detail_field()
