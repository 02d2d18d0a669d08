"""The plumbing every app's services share: one transaction per service, the constraint
violations it turns into domain errors, the marker of a field left out, and the text rule.

The domain errors themselves are in `voipbin_admin.errors`.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import IntegrityError, transaction

from voipbin_admin.errors import AlreadyExists, DomainError, FailedPrecondition, FieldError, InvalidArgument


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Default for partial updates: a field left out keeps its value.
UNSET: Any = _Unset()

NAME_MAX_LENGTH = 255
DETAIL_MAX_LENGTH = 10_000


# --- constraint violations -> domain errors ---------------------------------------------------

# Markers that identify a violated constraint: PostgreSQL names it; SQLite names an expression
# index, or lists the columns of a column index.
_CONSTRAINT_ERRORS: list[tuple[tuple[str, ...], DomainError]] = [
    (
        ("agent_username_live_unique", "agents_agent.username"),
        AlreadyExists("AGENT_ALREADY_EXISTS", "An agent with this username already exists."),
    ),
    (
        ("address_live_unique_per_customer", "agents_address.customer_id"),
        AlreadyExists("ADDRESS_ALREADY_ASSIGNED", "An address is already assigned to another agent."),
    ),
    (
        ("tag_name_live_unique_per_customer", "tags_tag.customer_id"),
        AlreadyExists("TAG_ALREADY_EXISTS", "A tag with this name already exists."),
    ),
    (
        ("agent_direct_hash_unique", "agents_agent.direct_hash"),
        FailedPrecondition("DIRECT_HASH_COLLISION", "Please retry: the new direct hash collided."),
    ),
]


def domain_error_for_integrity_error(exc: IntegrityError) -> DomainError | None:
    diag = getattr(exc.__cause__, "diag", None)
    text = getattr(diag, "constraint_name", None) or str(exc)
    for markers, error in _CONSTRAINT_ERRORS:
        if any(marker in text for marker in markers):
            return type(error)(error.reason, error.message)
    return None


def atomic_service(func):
    """Run a service in one transaction; a lost race on a constraint becomes its domain error."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError as exc:
            error = domain_error_for_integrity_error(exc)
            if error is None:
                raise
            raise error from exc

    return wrapper


# --- input cleaning -------------------------------------------------------------------------


def clean_text(field: str, value: object, *, max_length: int, required: bool = False) -> str:
    """A string of at most `max_length` characters without NUL (None is "" unless required)."""
    reason = f"INVALID_{field.upper()}"
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(reason, f"{field} must be a string.", [FieldError(field, "must be a string")])
    if required and not value:
        raise InvalidArgument(reason, f"{field} is required.", [FieldError(field, "is required")])
    if len(value) > max_length:
        message = f"must be at most {max_length} characters"
        raise InvalidArgument(reason, f"{field} {message}.", [FieldError(field, message)])
    if "\x00" in value:
        # PostgreSQL cannot store it in text: refuse it here rather than fail in the database.
        message = "must not contain NUL characters"
        raise InvalidArgument(reason, f"{field} {message}.", [FieldError(field, message)])
    return value
