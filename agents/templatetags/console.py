"""Small presentation helpers for the console templates."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.templatetags.tz import do_timezone
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from agents.models import Permission

register = template.Library()


def format_duration(delta: timedelta) -> str:
    """A compact, readable duration: `45s`, `12m 03s`, `3h 07m`, `2d 4h`."""
    seconds = max(int(delta.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


@register.filter
def since(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago `value` was, as a compact duration (`{{ agent.tm_status|since:now }}`)."""
    if value is None:
        return ""
    return format_duration((now or timezone.now()) - value)


@register.filter
def duration(value: timedelta | None) -> str:
    return "" if value is None else format_duration(value)


@register.filter
def epoch_ms(value: datetime | None) -> int | str:
    """Milliseconds since the epoch, for the board's client-side clocks."""
    return "" if value is None else int(value.timestamp() * 1000)


@register.filter
def permission_labels(value: int) -> list[str]:
    """The role names of a permission bitmask, most powerful first."""
    return Permission.labels_of(value)


@register.filter
def in_time_zone(value: datetime | None, zone_name: str | None) -> datetime | None:
    """`value` in the IANA time zone `zone_name` (the viewer's customer's); UTC for a name
    this machine's zoneinfo does not know."""
    if value is None:
        return None
    try:
        zone = ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return do_timezone(value, zone)  # as {{ value|timezone:zone }}: `date` leaves it in that zone


@register.filter
def wbr_at(value: str) -> str:
    """A SIP URI that may wrap before its `@` only, never inside the user part or the domain."""
    escaped = (conditional_escape(part) for part in str(value).split("@"))
    return mark_safe("<wbr>@".join(escaped))  # noqa: S308 (every part is escaped)


@register.filter
def messages_for(messages, section: str) -> list:
    """The messages about one section of a page (`extra_tags` names it), shown in that section:
    after a save, the browser is sent to the section, so that is where the eye is."""
    return [message for message in messages if message.extra_tags == section]


@register.filter
def page_messages(messages) -> list:
    """The messages about the page as a whole (no section named), shown at its top."""
    return [message for message in messages if not message.extra_tags]
