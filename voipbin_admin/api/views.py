"""The shared base of every API door, the docs page and the answer for unknown routes."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from django.views import defaults
from django.views.decorators.csp import csp_override
from django.views.generic import TemplateView
from rest_framework.views import APIView

from voipbin_admin.api.authentication import CredentialAuthentication, HasCredential
from voipbin_admin.api.exceptions import error_body
from voipbin_admin.errors import InvalidArgument, NotFound


class ApiView(APIView):
    """An API door: a credential is required, errors are the envelope, JSON in and out.

    Doors only translate: they resolve the object through a selector (404 for another
    customer's), check who may act with `agents.permissions`, pass the body's values to a
    service, and render with the plain representation functions.
    """

    authentication_classes = [CredentialAuthentication]
    permission_classes = [HasCredential]

    @property
    def actor(self):
        """The calling Agent, or the AccessKey (which acts as an admin of its customer)."""
        return self.request.user


def json_body(request) -> dict:
    """The request body as a JSON object; an empty body is `{}`."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidArgument("INVALID_BODY", "The body must be a JSON object.")
    return data


def provided(body: dict, *names: str) -> dict:
    """The optional fields the client sent; a JSON null means the same as leaving a field out."""
    return {name: body[name] for name in names if body.get(name) is not None}


class RouteNotFound(APIView):
    """Any path under /v1.0/ (or /auth/) that names no route: 404 in the envelope, never a redirect
    (so `/v1.0/agents/` with a trailing slash is a 404 too)."""

    authentication_classes = []
    permission_classes = []
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound("ROUTE_NOT_FOUND", f"No route {request.method} {request.path}.")


#: The docs page's Content-Security-Policy, in place of the site's (settings.SECURE_CSP). It
#: keeps the page to this server (Redoc's bundle would otherwise fetch its maker's logo from a
#: CDN); Redoc needs inline styles, data: images and fonts, and a blob: worker for its search.
#: Scripts are this server's files only, as everywhere.
API_DOCS_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "worker-src": [CSP.SELF, "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}


@method_decorator(csp_override(API_DOCS_CSP), name="dispatch")
class ApiDocsView(TemplateView):
    """A human-readable page of the OpenAPI document (Redoc, served from our own static files)."""

    template_name = "api/docs.html"


def _is_api_path(request) -> bool:
    return request.path.startswith(("/v1.0/", "/auth/")) or request.path in ("/v1.0", "/auth")


def bad_request(request, exception=None):
    """Django's 400 (e.g. a disallowed Host header, raised before any view): the envelope for
    API paths, Django's page for the rest."""
    if not _is_api_path(request):
        return defaults.bad_request(request, exception)
    body = error_body(request, status="INVALID_ARGUMENT", reason="BAD_REQUEST", message="Bad request.")
    return JsonResponse(body, status=400)


def server_error(request):
    """Django's 500 for errors outside DRF's handler: the envelope for API paths."""
    if not _is_api_path(request):
        return defaults.server_error(request)
    body = error_body(request, status="INTERNAL", reason="INTERNAL", message="Internal error.")
    return JsonResponse(body, status=500)
