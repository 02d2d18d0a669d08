"""Helpers for the REST API tests: a JSON client over HTTPS and credentials for the personas.

Requests go over HTTPS (`secure=True`), as in production, where the login cookie is Secure.
The client enforces CSRF checks like a browser would, to show that the API (token auth, not
sessions) does not need a CSRF token.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from agents.models import AccessKey, Agent
from agents.permissions import SYSTEM
from agents.services import access_key_create, login_token_create
from tests.factories import PASSWORD

#: The body to send when a test wants none at all.
NO_BODY = object()


class Api:
    """The REST API as a client sees it: JSON in, JSON out."""

    def __init__(self):
        self.client = Client(enforce_csrf_checks=True)

    def call(
        self,
        method: str,
        path: str,
        body: object = NO_BODY,
        *,
        token: str | None = None,
        raw: str | bytes | None = None,
        content_type: str = "application/json",
        headers: dict | None = None,
    ):
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if raw is not None:
            data = raw
        elif body is NO_BODY:
            data = ""
        else:
            data = json.dumps(body)
        return self.client.generic(method, path, data, content_type, secure=True, headers=headers)

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: object = NO_BODY, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: object = NO_BODY, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)


def error_of(response) -> tuple[int, str, str]:
    """(HTTP status, error status, error reason) of an error response, checking its envelope."""
    body = response.json()
    if response.request["PATH_INFO"].endswith("/auth/login"):
        # Login errors repeat the message at the top level, for the typed Go SDK.
        assert set(body) == {"error", "message"}, body
        assert body["message"] == body["error"]["message"]
    else:
        assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) - {"details"} == {"status", "reason", "message", "request_id"}, error
    assert error.get("details", [None]), "details is left out when empty"
    assert error["request_id"] == response["X-Request-Id"]
    return response.status_code, error["status"], error["reason"]


def token_for(agent: Agent) -> str:
    """A login token for one of the personas (whose password is the factories' PASSWORD)."""
    _, token = login_token_create(username=agent.username, password=PASSWORD)
    return token


def access_key_for(customer_id, *, expired: bool = False) -> str:
    access_key, plaintext = access_key_create(actor=SYSTEM, customer_id=customer_id, name="test key")
    if expired:
        AccessKey.objects.filter(pk=access_key.pk).update(tm_expire=timezone.now() - timedelta(seconds=1))
    return plaintext


#: A credential that looks right but is nobody's: a login token and an access key.
BAD_TOKEN = "not-a-token-of-anyone"
BAD_ACCESS_KEY = "vb_" + "x" * 32


def caller_credentials(*, admin, manager, agent, other_admin) -> dict[str, str | None]:
    """The credential of every caller the contract's tables name, by role."""
    return {
        "admin": token_for(admin),
        "manager": token_for(manager),
        "access_key": access_key_for(admin.customer_id),
        "agent": token_for(agent),
        "other_customer": token_for(other_admin),
        "no_credential": None,
        "bad_credential": BAD_TOKEN,
        "bad_access_key": BAD_ACCESS_KEY,
        "expired_access_key": access_key_for(admin.customer_id, expired=True),
    }


#: How each caller without a usable credential is refused.
UNAUTHENTICATED_CALLERS = {
    "no_credential": (401, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED"),
    "bad_credential": (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS"),
    "bad_access_key": (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS"),
    "expired_access_key": (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS"),
}
