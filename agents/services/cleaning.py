"""The input rules of the agents' services: each `clean_*` accepts a value as a door received
it and returns it checked (and converted), or raises InvalidArgument naming the field.

The CSV import checks its cells with these same functions, so that a row lists all of its
errors before its service calls run.
"""

from __future__ import annotations

import dataclasses
from uuid import UUID

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError

from agents.addresses import CleanAddress, clean_addresses
from agents.choices import PERMISSION_BITS_TEXT
from agents.models import Agent, AgentStatus, Permission, RingMethod
from agents.usernames import USERNAME_RULE, is_valid_username
from voipbin_admin.core import clean_text
from voipbin_admin.errors import FieldError, InvalidArgument

PASSWORD_MAX_LENGTH = 1024
REASON_MAX_LENGTH = 255


def clean_username(value: object) -> str:
    if not isinstance(value, str) or not is_valid_username(value):
        raise InvalidArgument(
            "INVALID_USERNAME", f"username {USERNAME_RULE}.", [FieldError("username", USERNAME_RULE)]
        )
    return value


def clean_password(value: object, agent: Agent | None = None) -> str:
    password = clean_text("password", value, max_length=PASSWORD_MAX_LENGTH, required=True)
    try:
        password_validation.validate_password(password, agent)
    except ValidationError as exc:
        messages = [str(message) for message in exc.messages]
        raise InvalidArgument(
            "INVALID_PASSWORD",
            " ".join(messages),
            [FieldError("password", message) for message in messages],
        ) from exc
    return password


@dataclasses.dataclass(frozen=True)
class PreparedPassword:
    """A new password whose stored form was made before the transaction that stores it.

    Hashing takes a good fraction of a second on purpose. The CSV import hashes its rows'
    passwords before its one transaction (which then holds its locks for the writes only), and
    its preview hashes none: `encoded` None stores an unusable password, in a transaction that
    is rolled back. `agent_create` and `agent_set_password` take one in place of the plain
    text, and check the policy on `plaintext` again for the agent they store it for.
    """

    plaintext: str = dataclasses.field(repr=False)
    encoded: str | None = dataclasses.field(repr=False)


def prepare_password(value: object, *, hashed: bool, agent: Agent | None = None) -> PreparedPassword:
    """Check the policy (`clean_password`) and make the stored form now (`hashed`), or none at
    all for a dry run."""
    password = clean_password(value, agent)
    return PreparedPassword(plaintext=password, encoded=make_password(password) if hashed else None)


def _clean_new_password(password: object, agent: Agent | None = None) -> str | PreparedPassword:
    """The policy (`clean_password`), checked on the plain text of a prepared password too."""
    if isinstance(password, PreparedPassword):
        clean_password(password.plaintext, agent)
        return password
    return clean_password(password, agent)


def _set_new_password(agent: Agent, password: str | PreparedPassword) -> None:
    """Set the stored form of a checked password on the agent (not saved): hashed now, or as
    prepared."""
    if not isinstance(password, PreparedPassword):
        agent.set_password(password)
    elif password.encoded is None:
        agent.set_unusable_password()
    else:
        agent.password = password.encoded


def clean_ring_method(value: object) -> str:
    if value not in RingMethod.values:
        message = "must be one of: " + ", ".join(RingMethod.values)
        raise InvalidArgument(
            "INVALID_RING_METHOD", f"ring_method {message}.", [FieldError("ring_method", message)]
        )
    return value


def clean_status(value: object) -> str:
    if value not in AgentStatus.values:
        message = "must be one of: " + ", ".join(AgentStatus.values)
        raise InvalidArgument("INVALID_STATUS", f"status {message}.", [FieldError("status", message)])
    return value


def clean_permission(value: object) -> int:
    # bool is an int in Python; JSON true is not a permission.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value & ~Permission.ALL_BITS:
        message = f"must be an integer made of {PERMISSION_BITS_TEXT}"
        raise InvalidArgument(
            "INVALID_PERMISSION", f"permission {message}.", [FieldError("permission", message)]
        )
    return int(value)


def clean_tag_ids(customer_id: UUID, tag_ids: object) -> list[UUID]:
    """Live tags of the customer, duplicates folded, in the order given."""
    from tags.models import Tag

    if not isinstance(tag_ids, list | tuple):
        raise InvalidArgument(
            "INVALID_TAG_IDS", "tag_ids must be a list of tag ids.", [FieldError("tag_ids", "must be a list")]
        )
    wanted: list[UUID] = []
    bad: list[str] = []
    for raw in tag_ids:
        try:
            tag_id = raw if isinstance(raw, UUID) else UUID(str(raw)) if isinstance(raw, str) else None
        except ValueError:
            tag_id = None
        if tag_id is None:
            bad.append(str(raw))
        elif tag_id not in wanted:
            wanted.append(tag_id)
    if wanted:
        known = set(
            Tag.objects.live().for_customer(customer_id).filter(id__in=wanted).values_list("id", flat=True)
        )
        bad.extend(str(tag_id) for tag_id in wanted if tag_id not in known)
    if bad:
        raise InvalidArgument(
            "INVALID_TAG_IDS",
            "Unknown tag ids: " + ", ".join(bad),
            [FieldError("tag_ids", f"unknown tag id {tag_id}") for tag_id in bad],
        )
    return wanted


def clean_address_list(addresses: object) -> list[CleanAddress]:
    cleaned, errors = clean_addresses(addresses)
    if errors:
        raise InvalidArgument("INVALID_ADDRESSES", "Some addresses are not valid.", errors)
    return cleaned
