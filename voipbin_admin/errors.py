"""The one family of domain errors raised by services and selectors.

Each error carries the contract's `status` (which fixes the HTTP code), a stable `reason`
code a program can branch on, a human message and optional per-field details. Every front
door translates these: the API into the error envelope, the console and the admin site into
messages next to the form fields.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One field's complaint. `path` says where, as data (`("addresses", 3, "target")`), for the
    doors that put it next to a form field or row; `field` is the same path as the contract
    writes it (`addresses[3].target`), the API's `details[].field`."""

    field: str
    message: str
    path: tuple[str | int, ...] = ()

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", (self.field,))

    @classmethod
    def at(cls, path: tuple[str | int, ...], message: str) -> FieldError:
        """The error at `path`, its `field` written out: `addresses[3].target`."""
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
        return cls(field.removeprefix("."), message, path)

    def row_in(self, name: str) -> tuple[int, str | None] | None:
        """`(index, field)` when this is about row `index` of the list `name`:
        `("addresses", 3, "target")` -> `(3, "target")`, `("addresses", 3)` -> `(3, None)`."""
        match self.path:
            case (str() as top, int() as index) if top == name:
                return index, None
            case (str() as top, int() as index, str() as field) if top == name:
                return index, field
        return None


class DomainError(Exception):
    status = "INTERNAL"
    http_status = 500

    def __init__(self, reason: str, message: str, details: list[FieldError] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = list(details or [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.message!r})"


class InvalidArgument(DomainError):
    status = "INVALID_ARGUMENT"
    http_status = 400


class Unauthenticated(DomainError):
    status = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(DomainError):
    status = "PERMISSION_DENIED"
    http_status = 403


class NotFound(DomainError):
    status = "NOT_FOUND"
    http_status = 404


class AlreadyExists(DomainError):
    status = "ALREADY_EXISTS"
    http_status = 409


class FailedPrecondition(DomainError):
    status = "FAILED_PRECONDITION"
    http_status = 409


class ResourceExhausted(DomainError):
    status = "RESOURCE_EXHAUSTED"
    http_status = 429


class Unavailable(DomainError):
    """A dependency the rule needs is down (the login throttle's cache): fail closed, retry soon."""

    status = "UNAVAILABLE"
    http_status = 503

    def __init__(self, reason: str, message: str, *, retry_after: int):
        super().__init__(reason, message)
        self.retry_after = retry_after
