"""The shared base of every API door, the docs page and the answer for unknown routes."""

from __future__ import annotations

from django.views.generic import TemplateView
from rest_framework.views import APIView

from voipbin_admin.api.authentication import CredentialAuthentication, HasCredential
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


class ApiDocsView(TemplateView):
    """A human-readable page of the OpenAPI document (Redoc, served from our own static files).

    The policy keeps the page to this server: Redoc's bundle would otherwise fetch its maker's
    logo from a CDN. Redoc needs inline styles and a blob: worker for its search.
    """

    template_name = "api/docs.html"
    content_security_policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "worker-src 'self' blob:; font-src 'self' data:; object-src 'none'; base-uri 'none'"
    )

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = self.content_security_policy
        return response
