"""Small presentation helpers for the console templates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

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
