"""What the OpenAPI document says about every route: auth, the error envelope, common headers.

drf-spectacular generates the document from the views; this module adds what the views share:
the five ways to send a credential (security schemes), the error envelope and the responses
that use it, the list parameters and the fields every app declares (timestamps, text without
NUL), the `X-Request-Id` header on every response, and the API's overview text.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from voipbin_admin.api.pagination import MAX_PAGE_SIZE
from voipbin_admin.timestamps import UNSET_TIMESTAMP

API_DESCRIPTION = """\
The VoIPbin agent API, version 1.0: agents, their addresses, tags and access keys.

**Authentication.** Log in with `POST /auth/login` (also at `/v1.0/auth/login`) to get a login
token, or create an access key (`vb_...`) with `POST /v1.0/accesskeys`. Send either one as
`Authorization: Bearer <value>`, as the query parameter `token`, as the cookie `token`, or, for
access keys, as the query parameter or cookie `accesskey`; the first one present wins. A value
starting with `vb_` is an access key (it acts as an admin of its customer), anything else a login
token (valid 7 days by default; logout, a password or permission change and deletion revoke it).

**Errors.** Every error is `{"error": {"status", "reason", "message", "request_id", "details"}}`:
`status` is the class of error (`INVALID_ARGUMENT` 400, `UNAUTHENTICATED` 401, `PERMISSION_DENIED`
403, `NOT_FOUND` 404, `ALREADY_EXISTS` and `FAILED_PRECONDITION` 409, `RESOURCE_EXHAUSTED` 429,
`INTERNAL` 500; also `UNIMPLEMENTED` 405 for a method a route does not have), `reason` a stable
code to branch on (`AGENT_NOT_FOUND`, `ADDRESS_ALREADY_ASSIGNED`, ...), `details` (only when not
empty) one entry per invalid field. `request_id` equals the `X-Request-Id` response header. Another
customer's resource is answered exactly like a missing one.

**Lists.** `GET` on a collection takes `page_size` (1-100, default 100, larger values capped) and
`page_token`, and answers `{"result": [...], "next_page_token": "..."}`, newest first. Pass
`next_page_token` back as `page_token` for the next page; it is empty once a page is empty. A bare
timestamp (`2022-10-22 16:16:16.874761`) is also accepted as `page_token`: items created strictly
before it.

**Representation.** Timestamps are UTC with microseconds (`2022-10-22 16:16:16.874761`); one that
is not set is `9999-01-01 00:00:00.000000`. A JSON `null` for an optional field means the same as
leaving it out. Fields the API does not know are ignored.
"""

ERROR_STATUSES = [
    "INVALID_ARGUMENT",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "RESOURCE_EXHAUSTED",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
]


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field in error, e.g. `addresses[1].target`.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ERROR_STATUSES)
    reason = serializers.CharField(help_text="A stable UPPER_SNAKE code, e.g. `AGENT_NOT_FOUND`.")
    message = serializers.CharField()
    request_id = serializers.CharField(help_text="The same value as the `X-Request-Id` response header.")
    details = ErrorDetailSerializer(many=True, required=False, help_text="Only present when not empty.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


class LoginErrorSerializer(ErrorEnvelopeSerializer):
    message = serializers.CharField(
        help_text="The envelope's message again, at the top level, for clients that decode "
        'login errors as `{"message": string}`.'
    )


# --- what the apps' declarations share ---------------------------------------------------------

#: Stored text holds no NUL character (PostgreSQL cannot store one; the services refuse it).
#: Non-empty: drf-spectacular offers the empty string of a field that allows it as a `oneOf`
#: branch of its own, which a pattern matching it too would make ambiguous.
NO_NUL = RegexValidator(r"^[^\x00]+$")
#: Not blank (only spaces) and no NUL: a tag name, an address's target.
NOT_BLANK = RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$")


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}$",
        "example": "2022-10-22 16:16:16.874761",
        "description": f"UTC with microseconds; `{UNSET_TIMESTAMP}` when not set.",
    }
)
class TimestampField(serializers.CharField):
    pass


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description=f"1-{MAX_PAGE_SIZE}, default {MAX_PAGE_SIZE}; larger values are capped at "
        f"{MAX_PAGE_SIZE}.",
    ),
    OpenApiParameter(
        "page_token",
        OpenApiTypes.STR,
        description="`next_page_token` of the previous page, or a timestamp (items created before it).",
    ),
]


EMPTY_OBJECT = OpenApiResponse(
    response={"type": "object", "additionalProperties": False}, description="An empty JSON object."
)


_ERROR_DESCRIPTIONS = {
    400: "INVALID_ARGUMENT: the body is not valid JSON or not an object, an id or a field is invalid.",
    401: "UNAUTHENTICATED: no credential (AUTHENTICATION_REQUIRED) or a wrong, expired, revoked or "
    "deleted one (INVALID_CREDENTIALS).",
    403: "PERMISSION_DENIED: the caller may not do this.",
    404: "NOT_FOUND: no such resource (or another customer's).",
    409: "ALREADY_EXISTS or FAILED_PRECONDITION: the change conflicts with the current state.",
    413: "INVALID_ARGUMENT: the body is too large.",
    415: "INVALID_ARGUMENT: the body is not `application/json`.",
    429: "RESOURCE_EXHAUSTED: too many failed logins; retry after `Retry-After` seconds.",
    503: "UNAVAILABLE: sign-in cannot check its failed-login limit for a moment (its cache is "
    "unreachable); retry after `Retry-After` seconds.",
}

# Every route that takes a credential can answer these.
AUTHENTICATED_ERRORS = (401, 403)
# Every route that reads a body can answer these.
BODY_ERRORS = (413, 415)


def error_responses(*codes: int, envelope=ErrorEnvelopeSerializer) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(response=envelope, description=_ERROR_DESCRIPTIONS[code]) for code in codes}


class CredentialAuthenticationScheme(OpenApiAuthenticationExtension):
    """The five places a credential may be sent; any one of them is enough (OR)."""

    target_class = "voipbin_admin.api.authentication.CredentialAuthentication"
    name = ["bearerAuth", "tokenQuery", "tokenCookie", "accesskeyQuery", "accesskeyCookie"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        either = "A login token or an access key (`vb_...`)."
        return [
            {"type": "http", "scheme": "bearer", "description": either},
            {"type": "apiKey", "in": "query", "name": "token", "description": either},
            {"type": "apiKey", "in": "cookie", "name": "token", "description": either},
            {"type": "apiKey", "in": "query", "name": "accesskey", "description": "An access key."},
            {"type": "apiKey", "in": "cookie", "name": "accesskey", "description": "An access key."},
        ]


_HEADERS = {
    "X-Request-Id": {
        "description": "The client's `X-Request-Id` when it is 1-64 characters of `[A-Za-z0-9_-]`, "
        "otherwise a new id. Error bodies carry the same value.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}
_HEADERS_BY_STATUS = {"429": ["Retry-After"], "503": ["Retry-After"]}


def add_overview_and_headers(result, generator, request, public):
    """POSTPROCESSING_HOOK: the overview text and the headers every response carries."""
    result["info"]["description"] = API_DESCRIPTION
    result.setdefault("components", {})["headers"] = _HEADERS
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for status_code, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                for name in ["X-Request-Id", *_HEADERS_BY_STATUS.get(str(status_code), [])]:
                    headers[name] = {"$ref": f"#/components/headers/{name}"}
    return result
