"""Cursor pagination of lists (contract section 5): `{"result": [...], "next_page_token": "..."}`.

Items are newest first, ordered by `(tm_create desc, id desc)`; the id breaks ties, so no item
is skipped or repeated even when many share a `tm_create`. `next_page_token` is the position of
the page's last item: the URL-safe base64 (no padding) of `<tm_create>|<id>`, e.g.
`MjAyMi0xMC0yMiAxNjoxNjoxNi44NzQ3NjF8ZjFhMmIzYzQtZDVlNi03ODkwLWFiY2QtZWYxMjM0NTY3ODkw`. Clients
treat it as opaque. A bare timestamp in the contract's format is accepted too and means "items
created strictly before it". Each page is one keyset query (plus the representation's fixed
prefetches), whatever the page size or the page number.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Model, Q, QuerySet

from voipbin_admin.errors import InvalidArgument
from voipbin_admin.timestamps import parse_timestamp

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
_INTEGER = re.compile(r"^\s*([+-]?)([0-9]+)\s*$")


@dataclass(frozen=True)
class PageRequest:
    size: int
    # Only items strictly older than this (tm_create, id) position; id None = any id.
    before: tuple[datetime, UUID | None] | None = None


def parse_page_size(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_PAGE_SIZE
    match = _INTEGER.match(raw)
    digits = match.group(2).lstrip("0") if match else ""
    if match is None or not digits or match.group(1) == "-":
        raise InvalidArgument("INVALID_PAGE_SIZE", f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}.")
    # Compare digit counts first: int() refuses numbers of thousands of digits.
    return MAX_PAGE_SIZE if len(digits) > 3 else min(int(digits), MAX_PAGE_SIZE)


def page_token_after(item: dict) -> str:
    """The token of the position of a represented item (its `tm_create` and `id`)."""
    position = f"{item['tm_create']}|{item['id']}"
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def parse_page_token(raw: str | None, parse_id: Callable[[str], Any] = UUID) -> tuple[datetime, Any] | None:
    """A token this API returned (`<tm_create>|<id>`, URL-safe base64, the id read by
    `parse_id`, which raises ValueError for a bad one) or a bare timestamp."""
    if raw is None or not raw.strip():
        return None
    bare = parse_timestamp(raw.strip())
    if bare is not None:
        return bare, None
    invalid = InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not a token this API returned.")
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        timestamp, _, item_id = decoded.partition("|")
        when, item = parse_timestamp(timestamp), parse_id(item_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    if when is None:
        raise invalid
    return when, item


def page_request(request) -> PageRequest:
    return PageRequest(
        size=parse_page_size(request.query_params.get("page_size")),
        before=parse_page_token(request.query_params.get("page_token")),
    )


def paginate(queryset: QuerySet, page: PageRequest, represent_many: Callable[[QuerySet], list[dict]]) -> dict:
    """One page of a live, scoped queryset, newest first, in the list envelope.

    The keyset condition is written `tm_create <= t AND (tm_create < t OR id < i)` so that the
    database can start its index scan at the cursor instead of filtering from the newest row.
    """
    queryset = queryset.order_by("-tm_create", "-pk")
    if page.before is not None:
        tm_create, item_id = page.before
        if item_id is None:
            queryset = queryset.filter(tm_create__lt=tm_create)
        else:
            queryset = queryset.filter(
                Q(tm_create__lt=tm_create) | Q(pk__lt=item_id), tm_create__lte=tm_create
            )
    items = represent_many(queryset[: page.size])
    return {"result": items, "next_page_token": page_token_after(items[-1]) if items else ""}


def represent_each(represent: Callable[[Model], dict]) -> Callable[[QuerySet], list[dict]]:
    """For models whose representation needs nothing beyond their own row."""
    return lambda queryset: [represent(item) for item in queryset]
