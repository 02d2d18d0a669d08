"""Small presentation helpers for the console templates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
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
def wbr_at(value: str) -> str:
    """A SIP URI that may wrap before its `@` only, never inside the user part or the domain."""
    escaped = (conditional_escape(part) for part in str(value).split("@"))
    return mark_safe("<wbr>@".join(escaped))  # noqa: S308 (every part is escaped)


#: `extra_tags` of a message about one section of a page (`#status`, `#addresses`, ...): the
#: form's view redirects to that section, so its message is shown there, where the eye is.
SECTION_TAG_PREFIX = "section-"


def section_tag(section: str) -> str:
    """The `extra_tags` token that sends a message to `section` (`messages.success(request,
    text, extra_tags=section_tag("status"))`); other tokens stay CSS classes, as in Django."""
    return SECTION_TAG_PREFIX + section


def _section_of(message) -> str:
    for token in (message.extra_tags or "").split():
        if token.startswith(SECTION_TAG_PREFIX):
            return token.removeprefix(SECTION_TAG_PREFIX)
    return ""


@register.simple_tag(takes_context=True)
def messages_for(context, section: str = "") -> list:
    """The messages to show at one place of the page: with `section`, those about that section;
    without, the page's top: every other message, those about a section this page does not
    show too (the view names the sections it renders in `message_sections`), so that none is
    dropped (reading the messages marks them all as shown)."""
    messages = context.get("messages") or ()
    if section:
        return [message for message in messages if _section_of(message) == section]
    rendered = set(context.get("message_sections") or ())
    return [message for message in messages if _section_of(message) not in rendered]
