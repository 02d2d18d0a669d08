"""Who is calling (contract section 2): a login token or an access key, from five places.

The first credential present wins: `Authorization: Bearer <value>`, query `?token=`, cookie
`token`, query `?accesskey=`, cookie `accesskey`. A value starting with `vb_` is an access key,
anything else a login token (`agents.selectors.credential_actor` decides). An empty query or
cookie value counts as absent; an `Authorization` header with another scheme (Basic, ...) is not
a credential of this API and is ignored.

No CSRF check: these credentials are not Django sessions. The `token` cookie is SameSite=Strict
and CORS never allows credentialed cross-origin requests, so other sites cannot ride on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple
from uuid import UUID

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from agents.models import Agent
from agents.selectors import credential_actor, credential_actor_and_agent, credential_actor_and_own_agent
from voipbin_admin.errors import Unauthenticated

TOKEN_COOKIE = "token"
ACCESS_KEY_COOKIE = "accesskey"


def pick_credential(
    authorization: str, query: Mapping[str, str], cookies: Mapping[str, str]
) -> tuple[str, bool] | None:
    """The credential that wins among the five places (contract section 2), and whether it came
    from a cookie (which a browser sends by itself: the event stream then checks the origin)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip(), False
    for candidate, from_cookie in (
        (query.get("token"), False),
        (cookies.get(TOKEN_COOKIE), True),
        (query.get("accesskey"), False),
        (cookies.get(ACCESS_KEY_COOKIE), True),
    ):
        if candidate:
            return candidate, from_cookie
    return None


def credential_from(request) -> str | None:
    """The raw credential the request carries, or None when it carries none."""
    picked = pick_credential(
        request.META.get("HTTP_AUTHORIZATION", ""), request.query_params, request.COOKIES
    )
    return picked[0] if picked else None


class CredentialAuthentication(BaseAuthentication):
    """`request.user` becomes the Agent or the AccessKey; `request.auth` the raw credential."""

    def authenticate(self, request):
        raw = credential_from(request)
        if raw is None:
            return None
        agent_id = _path_agent_id(request)
        view = (request.parser_context or {}).get("view")
        try:
            if agent_id is not None:
                # The route names an agent: read it with the credential, in one statement.
                actor, agent = credential_actor_and_agent(raw, agent_id)
                request.agent_read_with_credential = AgentRead(agent_id, agent)
            elif getattr(view, "reads_own_agent", False):
                # The route is about the caller's own record: the same, for the token's agent.
                actor, agent = credential_actor_and_own_agent(raw)
                request.agent_read_with_credential = AgentRead(actor.pk, agent)
            else:
                actor = credential_actor(raw)
        except Unauthenticated as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.reason) from exc
        return actor, raw

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when the credential is missing or wrong.
        return 'Bearer realm="api"'


class AgentRead(NamedTuple):
    """The agent a route's `agent_id` names (or, on a route with `reads_own_agent`, the caller's
    own), read by the credential's statement (None: no live agent has that id).
    `agents.api.views.common.path_agent` and `own_agent` take it from the request."""

    agent_id: UUID
    agent: Agent | None


def _path_agent_id(request) -> UUID | None:
    """The route's `agent_id` when it is a well-formed id (a malformed one is the view's 400)."""
    value = ((request.parser_context or {}).get("kwargs") or {}).get("agent_id")
    if value is None:
        return None
    try:
        return UUID(str(value))
    except ValueError:
        return None


class HasCredential(BasePermission):
    """Every API route except login and the docs needs a valid credential."""

    def has_permission(self, request, view) -> bool:
        return request.user is not None
