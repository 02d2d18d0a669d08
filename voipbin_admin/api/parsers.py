"""JSON in, JSON out (contract section 1)."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser


def _has_unpaired_surrogate(data: object) -> bool:
    """Any string (key or value) that is not Unicode text, e.g. from the escape `"\\ud800"`."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, plus two bodies it lets through that would fail later, as 400s: nesting
    too deep for the parser, and strings that are not Unicode text (no database can store them)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if _has_unpaired_surrogate(data):
            raise ParseError("JSON parse error - a string holds an unpaired surrogate.")
        return data


class AlwaysJSON(DefaultContentNegotiation):
    """The API answers JSON whatever the `Accept` header says (no 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
