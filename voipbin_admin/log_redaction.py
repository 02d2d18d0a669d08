"""Credentials never reach a log line.

Clients may send their credential in the query string (`?token=`, `?accesskey=`, as the
contract allows), and request lines end up in logs: gunicorn's access log, runserver's
`django.server` lines, referers, tracebacks. `RedactCredentials` is a `logging.Filter` put on
every handler the server writes through (settings.LOGGING for Django's loggers,
`voipbin_admin.gunicorn_conf` for gunicorn's): it rewrites the record's final text, so it
works whatever the format string or the logger.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"

#: The query parameters (and cookies) that carry a credential; compared case-insensitively
#: after percent-decoding, as Django decodes a parameter's name before the lookup.
CREDENTIAL_NAMES = frozenset({"token", "accesskey"})

# `name=value` where the name starts after a separator (so `csrftoken=` is not `token=`) and
# the value runs to the next separator of a query string, a cookie header or a quoted field.
_PARAMETER = re.compile(r"(?P<name>[^\s?&;=\"'<>#/:,()\[\]{}]+)=(?P<value>[^\s&;\"'<>#]*)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+")
# An access key wherever it appears (in an exception's message, a path): vb_ + 32 characters.
_ACCESS_KEY = re.compile(r"\bvb_[A-Za-z0-9_-]{16,}")


def _redact_parameter(match: re.Match) -> str:
    if unquote_plus(match["name"]).lower() in CREDENTIAL_NAMES:
        return f"{match['name']}={REDACTED}"
    return match[0]


def redact(text: str) -> str:
    """`text` with the values of credential parameters, Bearer credentials and access keys
    replaced by `[redacted]`."""
    if "=" in text:
        text = _PARAMETER.sub(_redact_parameter, text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(rf"\1 {REDACTED}", text)
    if "vb_" in text:
        text = _ACCESS_KEY.sub(f"vb_{REDACTED}", text)
    return text


class RedactCredentials(logging.Filter):
    """Rewrites a record's message (its arguments merged in) and traceback, redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: what it was, still redacted
            message = f"{record.msg} (arguments: {record.args!r})"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


#: The one instance the handlers share (adding it again to a handler is a no-op).
REDACT_CREDENTIALS = RedactCredentials()


def redact_handlers(*loggers: logging.Logger) -> None:
    """Put the filter on every handler of `loggers`."""
    for logger in loggers:
        for handler in logger.handlers:
            handler.addFilter(REDACT_CREDENTIALS)
