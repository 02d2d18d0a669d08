"""The wire format of agents, access keys and login, as declarations for the OpenAPI document.

These serializers only *describe* bodies. The views render with `agents.representation` (the
lean, byte-stable hot path) and pass request values straight to the services, which hold every
rule (username, addresses, permission bits, tags, ...) once for all three front doors. The
declarations carry the services' limits (taken from the same constants) so that a client
generated from the document sends what the services accept.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.addresses import MAX_ADDRESSES_PER_AGENT, MAX_TEXT_LENGTH
from agents.models import AddressType, AgentStatus, Permission, RingMethod
from agents.services import ACCESS_KEY_MAX_LIFETIME, PASSWORD_MAX_LENGTH, REASON_MAX_LENGTH
from agents.usernames import USERNAME_MAX_LENGTH, USERNAME_RULE
from voipbin_admin.api.schema import NO_NUL, NOT_BLANK, TimestampField
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH

#: The username rule (agents.usernames) as far as an ECMA-262 pattern without the `u` flag can
#: say it: no whitespace, no control or format character, no surrogate or private-use character
#: of the Basic Multilingual Plane. The rest is in USERNAME_DESCRIPTION.
USERNAME_PATTERN = RegexValidator(
    r"^[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\uf8ff]+$"
)
USERNAME_DESCRIPTION = (
    f"Unique among live agents of all customers (case-insensitive). A username {USERNAME_RULE}. "
    "Beyond what `pattern` says, unassigned and supplementary private-use code points are refused, "
    f"and the username's case-folded NFKC form must fit {USERNAME_MAX_LENGTH} characters too."
)
#: Every permission the services accept: any combination of the bits.
PERMISSION_VALUES = [value for value in range(Permission.ALL_BITS + 1) if not value & ~Permission.ALL_BITS]
PERMISSION_DESCRIPTION = "Bitmask of " + ", ".join(f"{bit.value} {bit.label}" for bit in Permission) + "."
ACCESS_KEY_MIN_SECONDS = int(settings.ACCESS_KEY_MIN_LIFETIME.total_seconds())
ACCESS_KEY_MAX_SECONDS = int(ACCESS_KEY_MAX_LIFETIME.total_seconds())


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


@extend_schema_field({"type": "integer", "enum": PERMISSION_VALUES, "description": PERMISSION_DESCRIPTION})
class PermissionField(serializers.IntegerField):
    pass


@extend_schema_field(
    {"type": "integer", "enum": [*PERMISSION_VALUES, None], "description": PERMISSION_DESCRIPTION}
)
class OptionalPermissionField(serializers.IntegerField):
    """`permission` in a create body: left out or null means 0."""


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
    permission = PermissionField()
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
        help_text="tel: E.164 (`+15559876543`; spaces, dashes, dots, parentheses are removed) with a "
        "length possible for its country; extension: 1-20 digits; sip: `user@domain` (an optional "
        "`sip:` prefix is removed, the domain is lowercased; at most 255 characters). The same "
        "address twice in one request is refused.",
        validators=[NOT_BLANK],
    )
    target_name = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT_LENGTH, validators=[NO_NUL]
    )
    name = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT_LENGTH, validators=[NO_NUL]
    )
    detail = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT_LENGTH, validators=[NO_NUL]
    )


def _name_field():
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=NAME_MAX_LENGTH, validators=[NO_NUL]
    )


def _detail_field():
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=DETAIL_MAX_LENGTH, validators=[NO_NUL]
    )


def _password_field(**kwargs):
    """The password policy: not empty (PASSWORD_MIN_LENGTH characters when set), no NUL."""
    return serializers.CharField(
        min_length=max(1, settings.PASSWORD_MIN_LENGTH),
        max_length=PASSWORD_MAX_LENGTH,
        validators=[NO_NUL],
        **kwargs,
    )


def _addresses_field(**kwargs):
    return serializers.ListField(
        child=AddressInputSerializer(),
        max_length=MAX_ADDRESSES_PER_AGENT,
        help_text="Replaces all addresses; order is the ring order; each address belongs to one agent.",
        **kwargs,
    )


def _tag_ids_field(**kwargs):
    return serializers.ListField(
        child=serializers.UUIDField(), help_text="Live tags of the agent's customer.", **kwargs
    )


class AgentCreateRequestSerializer(serializers.Serializer):
    username = serializers.CharField(
        min_length=1,
        max_length=USERNAME_MAX_LENGTH,
        validators=[USERNAME_PATTERN],
        help_text=USERNAME_DESCRIPTION,
    )
    password = _password_field(help_text="Write-only.")
    name = _name_field()
    detail = _detail_field()
    ring_method = serializers.ChoiceField(choices=RingMethod.choices, required=False, allow_null=True)
    permission = OptionalPermissionField(required=False, allow_null=True)
    tag_ids = _tag_ids_field(required=False, allow_null=True)
    addresses = _addresses_field(required=False, allow_null=True)


class AgentUpdateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()
    ring_method = serializers.ChoiceField(choices=RingMethod.choices, required=False, allow_null=True)


class AgentStatusRequestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=REASON_MAX_LENGTH, validators=[NO_NUL]
    )


class AgentAddressesRequestSerializer(serializers.Serializer):
    addresses = _addresses_field()


class AgentTagIdsRequestSerializer(serializers.Serializer):
    tag_ids = _tag_ids_field()


class AgentPermissionRequestSerializer(serializers.Serializer):
    permission = PermissionField(
        help_text=f"{PERMISSION_DESCRIPTION} Only a project super admin sets or clears 1, only an "
        "admin sets or clears 32."
    )


class AgentPasswordRequestSerializer(serializers.Serializer):
    password = _password_field()
    old_password = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Not needed by a supervisor resetting another agent's password; when sent, it must "
        "be the current password.",
    )


class OwnPasswordRequestSerializer(serializers.Serializer):
    old_password = serializers.CharField(help_text="The current password.")
    password = _password_field()


class AccessKeyCreateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()
    expire = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=ACCESS_KEY_MIN_SECONDS,
        max_value=ACCESS_KEY_MAX_SECONDS,
        help_text=f"Lifetime in seconds, between {ACCESS_KEY_MIN_SECONDS} (one day) and "
        f"{ACCESS_KEY_MAX_SECONDS} (100 years); default one year.",
    )


class AccessKeyUpdateRequestSerializer(serializers.Serializer):
    name = _name_field()
    detail = _detail_field()


class LoginRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()
