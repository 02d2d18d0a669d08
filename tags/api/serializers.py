"""The wire format of tags, as declarations for the OpenAPI document.

Views render with `tags.representation.tag_representation` and pass request values straight
to `tags.services`, which hold the rules.
"""

from __future__ import annotations

from rest_framework import serializers

from agents.api.serializers import TimestampField
from agents.services import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH


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


class TagCreateRequestSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=NAME_MAX_LENGTH, help_text="Unique among the customer's live tags (case-insensitive)."
    )
    detail = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=DETAIL_MAX_LENGTH
    )


class TagUpdateRequestSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=NAME_MAX_LENGTH)
    detail = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=DETAIL_MAX_LENGTH
    )
