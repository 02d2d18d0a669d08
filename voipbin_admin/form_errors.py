"""A service's refusal (DomainError) put back on a form: the one translator of the console and
the admin site.

Each field error says where it belongs as a path (`("addresses", 3, "target")`). Its first
part names the form's field (through `field_names` where the form calls it differently:
`tag_ids` -> `tags`); a path into a list of rows (`rows_of`) goes next to that row's field.
What has no place on the form goes on top, saying where it was about ("Row 4: ...": people
count rows from 1). The error's own message goes on top (or next to `reason_fields`' field)
when none of its details found a place, or always, or never (`message`).
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping, Sequence
from typing import Literal, Protocol

from voipbin_admin.errors import DomainError, FieldError


class ErrorTarget(Protocol):
    """What can show errors: a Django form (`add_error(None, ...)` is on top), or a row."""

    @property
    def fields(self) -> Container[str]: ...

    def add_error(self, field: str | None, error: str) -> None: ...


def add_domain_error(
    form: ErrorTarget,
    error: DomainError,
    *,
    field_names: Mapping[str, str] | None = None,
    reason_fields: Mapping[str, str] | None = None,
    rows: Sequence[ErrorTarget] = (),
    rows_of: str = "addresses",
    skip: Collection[str] = (),
    only: str | None = None,
    message: Literal["if_unplaced", "always", "never"] = "if_unplaced",
) -> None:
    """Put `error` on `form` (which makes a Django form invalid).

    `rows` are the forms of the list `rows_of`, in the order the service was given them;
    details whose path starts with one of `skip` are shown by someone else (the admin's
    addresses inline), and with `only` set, only the details under that name are shown.
    """
    field_names = field_names or {}
    placed = False
    on_top: list[str] = []
    for detail in error.details:
        top = detail.path[0]
        if top in skip or (only is not None and top != only):
            continue
        if top == rows_of and rows:
            if _put_on_row(rows, detail):
                placed = True
            else:
                on_top.append(_where(detail, rows_of) + detail.message)
            continue
        name = field_names.get(str(top), str(top))
        if len(detail.path) == 1 and name in form.fields:
            form.add_error(name, detail.message)
            placed = True
        else:
            on_top.append(_where(detail, rows_of) + detail.message)
    if message == "always" or (message == "if_unplaced" and not placed):
        field = (reason_fields or {}).get(error.reason)
        form.add_error(field if not placed and field in form.fields else None, error.message)
    for text in on_top:
        form.add_error(None, text)


def _put_on_row(rows: Sequence[ErrorTarget], detail: FieldError) -> bool:
    where = detail.row_in(str(detail.path[0]))
    if where is None or where[0] >= len(rows):
        return False
    index, field = where
    if field is not None and field not in rows[index].fields:
        return False
    rows[index].add_error(field, detail.message)
    return True


def _where(detail: FieldError, rows_of: str) -> str:
    """How a message on top says what it was about: "Row 4: ", "Row 4 name: ", "tags: "."""
    if len(detail.path) == 1 and detail.path[0] == rows_of:
        return ""
    where = detail.row_in(rows_of)
    if where is not None:
        index, field = where
        return f"Row {index + 1}{f' {field}' if field else ''}: "
    return f"{detail.field}: "
