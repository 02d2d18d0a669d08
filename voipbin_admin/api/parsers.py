"""JSON in (contract section 1), with the two inputs JSON allows but a database cannot store."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser

from voipbin_admin.errors import InvalidArgument


def _unstorable_text(data: object) -> bool:
    """Any string (key or value) with a NUL character or an unpaired surrogate (`"\\ud800"`)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, plus: too deep nesting is a 400, and so is text PostgreSQL cannot store."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if _unstorable_text(data):
            raise InvalidArgument(
                "INVALID_TEXT", "Text may not contain NUL characters or unpaired surrogates."
            )
        return data


class AlwaysJSON(DefaultContentNegotiation):
    """The API answers JSON whatever the `Accept` header says (no 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
