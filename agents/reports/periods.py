"""The customer's calendar: days, hours and 15-minute slots as UTC boundaries, and ranges.

A day starts at midnight in the customer's time zone (an IANA name, `Customer.time_zone`), so
the boundaries are computed here with zoneinfo and handed to the database as plain UTC
timestamps: a daylight-saving day is 23 or 25 hours long, and the SQL never needs to know about
time zones (SQLite has none).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voipbin_admin.errors import FieldError, InvalidArgument
from voipbin_admin.timestamps import parse_timestamp

MAX_RANGE_DAYS = 92
MAX_HOURLY_RANGE_DAYS = 7
INTERVALS = ("day", "hour")
SLOT = timedelta(minutes=15)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def time_zone_or_none(name: object) -> ZoneInfo | None:
    """The zone of an IANA name (`Europe/Berlin`), or None when it is not one."""
    if not isinstance(name, str) or not name or len(name) > 64 or "\x00" in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def customer_zone(name: str) -> ZoneInfo:
    """The customer's zone; UTC if the stored name is not (or no longer) a zone."""
    return time_zone_or_none(name) or ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `zone`."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of one local day (23, 24 or 25 hours apart)."""
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


def add_local_days(moment: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The same wall-clock time `days` later in `zone` (a calendar day, not 24 hours)."""
    wall = moment.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
    return wall.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _quarter_hours(start: datetime, stop: datetime) -> list[datetime]:
    """UTC quarter hours strictly inside (start, stop). Every zone's offset is a multiple of 15
    minutes, so these are the local quarter hours too."""
    first = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0) + SLOT
    moments = []
    while first < stop:
        moments.append(first)
        first += SLOT
    return moments


def boundaries(start: datetime, stop: datetime, zone: ZoneInfo, interval: str) -> list[datetime]:
    """The bucket starts inside (start, stop) for `interval`: `day` (local midnights), `hour`
    (local hours) or `slot` (15 minutes)."""
    if interval == "day":
        first, last = local_day(start, zone), local_day(stop, zone)
        days = (last - first).days
        midnights = (local_midnight(first + timedelta(days=n), zone) for n in range(1, days + 1))
        return [moment for moment in midnights if start < moment < stop]
    quarters = _quarter_hours(start, stop)
    if interval == "hour":
        return [moment for moment in quarters if moment.astimezone(zone).minute == 0]
    return quarters


def buckets(start: datetime, stop: datetime, zone: ZoneInfo, interval: str) -> list[Bucket]:
    """Consecutive buckets covering [start, stop): the first and last ones are clipped to the
    range when it does not start or end on a boundary."""
    edges = [start, *boundaries(start, stop, zone, interval), stop]
    return [Bucket(begin, end) for begin, end in itertools.pairwise(edges)]


def parse_moment(text: object, zone: ZoneInfo) -> datetime | None:
    """A range end: a date `YYYY-MM-DD` (midnight in the zone) or a UTC timestamp of the
    contract's format; None when it is neither."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if _DATE.match(text):
        try:
            return local_midnight(date.fromisoformat(text), zone)
        except ValueError:
            return None
    return parse_timestamp(text)


def clean_range(
    raw_from: object, raw_to: object, zone: ZoneInfo, *, interval: str = "day"
) -> tuple[datetime, datetime]:
    """The report range [from, to): both required, `from` before `to`, at most 92 calendar days
    apart (7 for hourly buckets). INVALID_RANGE otherwise."""
    start, stop = parse_moment(raw_from, zone), parse_moment(raw_to, zone)
    problems = [
        FieldError(name, "Required: a date YYYY-MM-DD or a timestamp YYYY-MM-DD HH:MM:SS.ffffff (UTC).")
        for name, value in (("from", start), ("to", stop))
        if value is None
    ]
    if problems:
        raise InvalidArgument("INVALID_RANGE", "from and to must be dates or timestamps.", problems)
    assert start is not None
    assert stop is not None
    if start >= stop:
        raise InvalidArgument("INVALID_RANGE", "from must be before to.")
    days = MAX_HOURLY_RANGE_DAYS if interval == "hour" else MAX_RANGE_DAYS
    if stop > add_local_days(start, days, zone):
        unit = "hourly reports" if interval == "hour" else "reports"
        raise InvalidArgument("INVALID_RANGE", f"The range of {unit} is at most {days} days.")
    return start, stop


def clean_interval(raw: object) -> str:
    if raw is None or raw == "":
        return "day"
    if raw not in INTERVALS:
        raise InvalidArgument("INVALID_INTERVAL", "interval must be day or hour.")
    return str(raw)
