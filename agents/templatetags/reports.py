"""Template filters of the report pages: durations as hours, minutes and seconds, and shares."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def hms(seconds: float | None) -> str:
    """`27045.2` -> `7:30:45` (hours may pass 24: a 31-day total)."""
    total = round(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@register.filter
def percent(share: float | None) -> str:
    return f"{(share or 0) * 100:.1f}%"


@register.filter
def count1(value: float | None) -> str:
    """An average number of agents, one decimal."""
    return f"{value or 0:.1f}"


@register.filter
def status_seconds(figures, status: str) -> float:
    return figures.seconds[status]


@register.filter
def slice_at(values, index: int):
    """`values[index]` (for a table's cell from a list per column)."""
    return values[index]
