"""The contract's timestamp format: UTC, microseconds, `2022-10-22 16:16:16.874761`."""

from __future__ import annotations

from datetime import UTC, datetime

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# What a timestamp that is not set (tm_update before the first update, tm_delete of a live
# record) looks like on the wire.
UNSET_TIMESTAMP = "9999-01-01 00:00:00.000000"


def format_timestamp(value: datetime | None) -> str:
    if value is None:
        return UNSET_TIMESTAMP
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime | None:
    """Parse the contract's format (seconds may omit the fraction); None when it does not match."""
    for fmt in (TIMESTAMP_FORMAT, "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
