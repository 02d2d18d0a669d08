"""The REST API's transport (contract sections 1 and 3): paths, JSON, request ids, CORS, and the
error envelope for the errors DRF and Django raise themselves, not only the domain's."""

from __future__ import annotations

import json

import pytest

from agents import selectors
from tests.api_support import error_of, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(admin_a):
    return token_for(admin_a)


def test_a_clients_request_id_is_echoed_in_the_header_and_the_error(api):
    response = api.get("/v1.0/agents", headers={"X-Request-Id": "trace-42_A"})

    assert response["X-Request-Id"] == "trace-42_A"
    assert response.json()["error"]["request_id"] == "trace-42_A"


@pytest.mark.parametrize("client_value", ["has space", "x" * 65, "semi;colon", ""])
def test_an_unusable_request_id_is_replaced(api, token, client_value):
    response = api.get("/v1.0/me", token=token, headers={"X-Request-Id": client_value})

    assert response["X-Request-Id"] != client_value
    assert len(response["X-Request-Id"]) == 32


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1.0/agents/"),
        ("POST", "/v1.0/agents/"),
        ("GET", "/v1.0/me/"),
        ("POST", "/auth/login/"),
        ("GET", "/v1.0/nothing-here"),
        ("DELETE", "/v1.0/agents/1/2/3"),
        ("GET", "/v1.0"),
        ("GET", "/v1.0/"),
        ("POST", "/auth/whatever"),
    ],
)
def test_unknown_routes_and_trailing_slashes_are_404_never_a_redirect(api, token, method, path):
    response = api.call(method, path, token=token)

    assert error_of(response) == (404, "NOT_FOUND", "ROUTE_NOT_FOUND")


def test_a_method_a_route_does_not_have_is_405_with_allow(api, token):
    response = api.call("PATCH", "/v1.0/agents", {"name": "x"}, token=token)

    assert error_of(response) == (405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED")
    assert set(response["Allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        ("{not json", "application/json", (400, "INVALID_ARGUMENT", "INVALID_JSON")),
        ('{"name": NaN}', "application/json", (400, "INVALID_ARGUMENT", "INVALID_JSON")),
        ("[" * 100_000, "application/json", (400, "INVALID_ARGUMENT", "INVALID_JSON")),
        (b'{"name": "\xff"}', "application/json", (400, "INVALID_ARGUMENT", "INVALID_JSON")),
        ('{"name": "a\\u0000b"}', "application/json", (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ('{"name": "\\ud800"}', "application/json", (400, "INVALID_ARGUMENT", "INVALID_JSON")),
        ('{"name": "ok", "\\udfff": 1}', "application/json", (400, "INVALID_ARGUMENT", "INVALID_JSON")),
        ('"a string"', "application/json", (400, "INVALID_ARGUMENT", "INVALID_BODY")),
        ("name=x", "application/x-www-form-urlencoded", (415, "INVALID_ARGUMENT", "UNSUPPORTED_MEDIA_TYPE")),
        ("name=x", "text/plain", (415, "INVALID_ARGUMENT", "UNSUPPORTED_MEDIA_TYPE")),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    api, token, raw, content_type, expected, unchanged_database
):
    with unchanged_database():
        response = api.post("/v1.0/tags", raw=raw, content_type=content_type, token=token)

    assert error_of(response) == expected


def test_a_body_over_the_upload_limit_is_413(api, token, settings, unchanged_database):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    with unchanged_database():
        response = api.post("/v1.0/tags", {"name": "x", "detail": "d" * 2000}, token=token)

    assert error_of(response) == (413, "INVALID_ARGUMENT", "REQUEST_TOO_LARGE")


def test_json_with_a_charset_is_json(api, token):
    response = api.post(
        "/v1.0/tags", raw='{"name": "x"}', content_type="application/json; charset=utf-8", token=token
    )

    assert response.status_code == 200


def test_the_answer_is_json_whatever_the_client_accepts(api, token):
    response = api.get("/v1.0/me", token=token, headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_any_origin_may_call_the_api_without_credentials_mode(api):
    preflight = api.call(
        "OPTIONS",
        "/v1.0/agents",
        headers={
            "Origin": "https://crm.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
        },
    )

    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert {"authorization", "content-type", "x-request-id"} <= set(
        preflight["Access-Control-Allow-Headers"].split(", ")
    )
    assert "Access-Control-Allow-Credentials" not in preflight


def test_cors_exposes_the_request_id(api, token):
    response = api.get("/v1.0/me", token=token, headers={"Origin": "https://crm.example.com"})

    assert response["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in response["Access-Control-Expose-Headers"]


def test_an_unexpected_failure_is_a_500_in_the_envelope(api, token, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "agent_list", broken)

    response = api.get("/v1.0/agents", token=token, headers={"X-Request-Id": "oops"})

    assert error_of(response) == (500, "INTERNAL", "INTERNAL")
    assert "boom" not in response.content.decode()


def test_a_request_refused_before_any_view_is_still_an_envelope(client):
    # Django checks the Host header in its middleware, before URL routing reaches DRF.
    response = client.get("/v1.0/agents", HTTP_HOST="evil.example", HTTP_X_REQUEST_ID="host-check")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "status": "INVALID_ARGUMENT",
        "reason": "BAD_REQUEST",
        "message": "Bad request.",
        "request_id": "host-check",
    }
    assert response["X-Request-Id"] == "host-check"


def test_console_pages_keep_djangos_own_bad_request_page(client):
    response = client.get("/agents/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_unexpected_error_outside_drf_is_an_envelope_for_api_paths(rf):
    from voipbin_admin.api.views import server_error

    request = rf.get("/v1.0/agents")
    request.request_id = "boom-1"
    response = server_error(request)

    assert response.status_code == 500
    assert json.loads(response.content)["error"] == {
        "status": "INTERNAL",
        "reason": "INTERNAL",
        "message": "Internal error.",
        "request_id": "boom-1",
    }
