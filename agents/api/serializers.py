"""The wire format of agents, access keys and login, as declarations for the OpenAPI document.

These serializers only *describe* bodies. The views render with `agents.representation` (the
lean, byte-stable hot path) and pass request values straight to the services, which hold every
rule (username, addresses, permission bits, tags, ...) once for all three front doors.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import AddressType, AgentStatus, RingMethod
from agents.services import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, REASON_MAX_LENGTH
from voipbin_admin.timestamps import UNSET_TIMESTAMP


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}$",
        "example": "2022-10-22 16:16:16.874761",
        "description": f"UTC with microseconds; `{UNSET_TIMESTAMP}` when not set.",
    }
)
class TimestampField(serializers.CharField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^([0-9a-f]{12})?$",
        "description": "12 lowercase hex characters; the agent is reachable at "
        "`sip:direct.<direct_hash>@<SIP domain>`. Empty once the agent is deleted.",
    }
)
class DirectHashField(serializers.CharField):
    pass


# --- responses ----------------------------------------------------------------------------------


class AddressSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=AddressType.choices)
    target = serializers.CharField(
        help_text="Canonical: E.164 for tel, digits for extension, user@domain for sip."
    )
    target_name = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)


class AgentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    username = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    ring_method = serializers.ChoiceField(choices=RingMethod.choices)
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    permission = serializers.IntegerField(
        help_text="Bitmask: 1 project super admin, 16 agent, 32 admin, 64 manager.", min_value=0
    )
    tag_ids = serializers.ListField(child=serializers.UUIDField())
    addresses = AddressSerializer(many=True, help_text="In ring order.")
    direct_hash = DirectHashField()
    tm_create = TimestampField()
    tm_update = TimestampField()
    tm_delete = TimestampField()


class AgentPageSerializer(serializers.Serializer):
    result = AgentSerializer(many=True)
    next_page_token = serializers.CharField(allow_blank=True, help_text="Empty when `result` is empty.")


class AccessKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    token_prefix = serializers.CharField(help_text="The first 11 characters of the key.")
    tm_expire = TimestampField()
    tm_create = TimestampField()
    tm_update = TimestampField()
    tm_delete = TimestampField()


class AccessKeyWithTokenSerializer(AccessKeySerializer):
    token = serializers.CharField(help_text="The access key itself (`vb_...`). Shown only in this response.")


class AccessKeyPageSerializer(serializers.Serializer):
    result = AccessKeySerializer(many=True)
    next_page_token = serializers.CharField(allow_blank=True, help_text="Empty when `result` is empty.")


class LoginResponseSerializer(serializers.Serializer):
    username = serializers.CharField()
    token = serializers.CharField(help_text="Also set as the HttpOnly cookie `token`.")


# --- requests -----------------------------------------------------------------------------------


class AddressInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=AddressType.choices)
    target = serializers.CharField(
        help_text="tel: E.164 (`+15559876543`; spaces, dashes, dots, parentheses are removed); "
        "extension: 1-20 digits; sip: `user@domain` (an optional `sip:` prefix is removed)."
    )
    target_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)
    name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)
    detail = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)


def _name_field():
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=NAME_MAX_LENGTH
    )


def _detail_field():
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=DETAIL_MAX_LENGTH
    )


def _addresses_field(**kwargs):
    return serializers.ListField(
        child=AddressInputSerializer(),
        max_length=20,
        help_text="Replaces all addresses; order is the ring order; each address belongs to one agent.",
        **kwargs,
    )


def _tag_ids_field(**kwargs):
    return serializers.ListField(
        child=serializers.UUIDField(), help_text="Live tags of the agent's customer.", **kwargs
    )


class AgentCreateRequestSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=255, help_text="Unique among live agents of all customers (case-insensitive); no spaces."
    )
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, help_text="Write-only.")
    name = _name_field()
    detail = _detail_field()
    ring_method = serializers.ChoiceField(choices=RingMethod.choices, required=False, allow_null=True)
    permission = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    tag_ids = _tag_ids_field(required=False, allow_null=True)
    addresses = _addresses_field(required=False, allow_null=True)


class AgentUpdateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()
    ring_method = serializers.ChoiceField(choices=RingMethod.choices, required=False, allow_null=True)


class AgentStatusRequestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=REASON_MAX_LENGTH
    )


class AgentAddressesRequestSerializer(serializers.Serializer):
    addresses = _addresses_field()


class AgentTagIdsRequestSerializer(serializers.Serializer):
    tag_ids = _tag_ids_field()


class AgentPermissionRequestSerializer(serializers.Serializer):
    permission = serializers.IntegerField(
        min_value=0, help_text="Bitmask of 1, 16, 32, 64; only a project super admin sets 1."
    )


class AgentPasswordRequestSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH)


class OwnPasswordRequestSerializer(serializers.Serializer):
    old_password = serializers.CharField(help_text="The current password.")
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH)


class AccessKeyCreateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()
    expire = serializers.IntegerField(
        required=False, allow_null=True, min_value=86400, help_text="Lifetime in seconds (default one year)."
    )


class AccessKeyUpdateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()


class LoginRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()
