"""Every error the API can answer, in the contract's envelope (contract section 3).

`{"error": {"status", "reason", "message", "request_id", "details"?}}`, with `request_id` equal
to the `X-Request-Id` response header. Domain errors carry their own status and reason; DRF's
and Django's exceptions are mapped here once; anything unexpected is logged and answered as
500 INTERNAL in the same envelope rather than with an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from voipbin_admin.errors import DomainError, FieldError
from voipbin_admin.middleware import request_id_for

logger = logging.getLogger(__name__)

# status, reason and HTTP code for DRF's own exceptions.
_DRF_ERRORS: list[tuple[type[drf.APIException], str, str]] = [
    (drf.NotAuthenticated, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED"),
    (drf.AuthenticationFailed, "UNAUTHENTICATED", "INVALID_CREDENTIALS"),
    (drf.PermissionDenied, "PERMISSION_DENIED", "PERMISSION_DENIED"),
    (drf.NotFound, "NOT_FOUND", "NOT_FOUND"),
    (drf.ParseError, "INVALID_ARGUMENT", "INVALID_JSON"),
    (drf.UnsupportedMediaType, "INVALID_ARGUMENT", "UNSUPPORTED_MEDIA_TYPE"),
    (drf.MethodNotAllowed, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED"),
    (drf.NotAcceptable, "INVALID_ARGUMENT", "NOT_ACCEPTABLE"),
    (drf.Throttled, "RESOURCE_EXHAUSTED", "TOO_MANY_REQUESTS"),
    (drf.ValidationError, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
]

_STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
}


def request_id_of(request) -> str:
    """The id the request-id middleware gave the request (a fresh one if it did not run)."""
    request_id = getattr(request, "request_id", None)
    if not request_id:
        request_id = request_id_for(None)
        if request is not None:
            request.request_id = request_id
    return request_id


def error_body(
    request, *, status: str, reason: str, message: str, details: Iterable[FieldError] = ()
) -> dict:
    error = {"status": status, "reason": reason, "message": message, "request_id": request_id_of(request)}
    entries = [{"field": detail.field, "message": detail.message} for detail in details]
    if entries:
        error["details"] = entries
    return {"error": error}


def _message_of(exc: drf.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, str):
        return str(detail)
    return "The request is not valid."


def _drf_error(request, exc: drf.APIException) -> Response:
    status, reason = _STATUS_BY_HTTP.get(exc.status_code, "INVALID_ARGUMENT"), "INVALID_ARGUMENT"
    for exception_class, mapped_status, mapped_reason in _DRF_ERRORS:
        if isinstance(exc, exception_class):
            status, reason = mapped_status, mapped_reason
            break
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    body = error_body(request, status=status, reason=reason, message=_message_of(exc))
    return Response(body, status=exc.status_code, headers=headers)


def domain_error_response(request, exc: DomainError) -> Response:
    body = error_body(request, status=exc.status, reason=exc.reason, message=exc.message, details=exc.details)
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(body, status=exc.http_status, headers=headers)


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception raised in an API view becomes the envelope."""
    request = context.get("request")
    set_rollback()
    if isinstance(exc, DomainError):
        return domain_error_response(request, exc)
    if isinstance(exc, drf.APIException):
        return _drf_error(request, exc)
    if isinstance(exc, Http404):
        body = error_body(request, status="NOT_FOUND", reason="NOT_FOUND", message="Not found.")
        return Response(body, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        body = error_body(
            request, status="PERMISSION_DENIED", reason="PERMISSION_DENIED", message="Permission denied."
        )
        return Response(body, status=403)
    if isinstance(exc, RequestDataTooBig):
        body = error_body(
            request, status="INVALID_ARGUMENT", reason="REQUEST_TOO_LARGE", message="The body is too large."
        )
        return Response(body, status=413)
    if isinstance(exc, SuspiciousOperation | DjangoValidationError):
        message = "; ".join(exc.messages) if isinstance(exc, DjangoValidationError) else "Bad request."
        body = error_body(request, status="INVALID_ARGUMENT", reason="INVALID_ARGUMENT", message=message)
        return Response(body, status=400)
    logger.exception("Unhandled error in %s", getattr(request, "path", "an API view"), exc_info=exc)
    body = error_body(request, status="INTERNAL", reason="INTERNAL", message="Internal server error.")
    return Response(body, status=500)
