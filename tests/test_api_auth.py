"""Authentication of the REST API (contract section 2) and access keys (section 8).

Login and logout, the five places a credential may be sent and which one wins, revocation,
login throttling, `GET /v1.0/me`, and the access key routes with their allowed and refused
callers.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AccessKey, LoginToken
from agents.permissions import SYSTEM
from agents.services import agent_delete
from tests.api_support import (
    BAD_TOKEN,
    UNAUTHENTICATED_CALLERS,
    Api,
    access_key_for,
    error_of,
    token_for,
)
from tests.factories import PASSWORD, make_agent
from voipbin_admin.timestamps import UNSET_TIMESTAMP

pytestmark = pytest.mark.django_db

ACCESS_KEY_FIELDS = [
    "id",
    "customer_id",
    "name",
    "detail",
    "token_prefix",
    "tm_expire",
    "tm_create",
    "tm_update",
    "tm_delete",
]


def me(api, **kwargs):
    return api.get("/v1.0/me", **kwargs)


# --- login ------------------------------------------------------------------------------------

LOGIN_PATHS = ["/auth/login", "/v1.0/auth/login"]


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_login_answers_a_token_and_sets_it_as_a_strict_http_only_cookie(api, admin_a, path, settings):
    response = api.post(path, {"username": "alice-admin", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["username", "token"]
    assert body["username"] == "alice-admin"
    cookie = response.cookies["token"]
    assert cookie.value == body["token"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["secure"] is True
    assert cookie["max-age"] == int(settings.LOGIN_TOKEN_LIFETIME.total_seconds()) == 7 * 86400
    assert me(api, token=body["token"]).json()["id"] == str(admin_a.id)


def test_the_token_cookie_is_not_secure_over_plain_http(admin_a):
    response = Api().client.post(
        "/auth/login", {"username": "alice-admin", "password": PASSWORD}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.cookies["token"]["secure"] == ""


def test_a_login_token_is_stored_only_as_its_hash(api, admin_a):
    token = api.post("/auth/login", {"username": "alice-admin", "password": PASSWORD}).json()["token"]

    stored = LoginToken.objects.get(agent=admin_a)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(value) for value in LoginToken.objects.values_list().get()}


def test_a_login_token_never_looks_like_an_access_key(api, admin_a, monkeypatch):
    # Random tokens start with `vb_` once in 64**3; such a token would be looked up as a key.
    drawn = iter(["vb_" + "a" * 40, "b" * 43])
    monkeypatch.setattr("agents.services.credentials.secrets.token_urlsafe", lambda nbytes: next(drawn))

    token = api.post("/auth/login", {"username": "alice-admin", "password": PASSWORD}).json()["token"]

    assert not token.startswith("vb_")
    assert api.get("/v1.0/me", token=token).json()["id"] == str(admin_a.id)


def test_usernames_sign_in_in_any_case(api, admin_a):
    response = api.post("/auth/login", {"username": "ALICE-ADMIN", "password": PASSWORD})

    assert response.json()["username"] == "alice-admin"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, (400, "INVALID_ARGUMENT", "INVALID_CREDENTIALS_FORMAT")),
        ({"username": "alice-admin"}, (400, "INVALID_ARGUMENT", "INVALID_CREDENTIALS_FORMAT")),
        ({"password": PASSWORD}, (400, "INVALID_ARGUMENT", "INVALID_CREDENTIALS_FORMAT")),
        ({"username": 1, "password": PASSWORD}, (400, "INVALID_ARGUMENT", "INVALID_CREDENTIALS_FORMAT")),
        (["alice-admin", PASSWORD], (400, "INVALID_ARGUMENT", "INVALID_BODY")),
    ],
)
def test_login_without_both_fields_is_400(api, admin_a, body, expected, unchanged_database):
    with unchanged_database():
        response = api.post("/auth/login", body)

    assert error_of(response) == expected


def test_wrong_password_unknown_user_and_deleted_agent_get_the_same_401(
    api, admin_a, agent_a, unchanged_database
):
    agent_delete(actor=SYSTEM, agent=agent_a)

    with unchanged_database():
        answers = [
            api.post("/auth/login", {"username": "alice-admin", "password": "wrong"}),
            api.post("/auth/login", {"username": "nobody", "password": PASSWORD}),
            api.post("/auth/login", {"username": "pat-agent", "password": PASSWORD}),
        ]

    assert {error_of(answer) for answer in answers} == {(401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")}
    assert len({answer.json()["error"]["message"] for answer in answers}) == 1


def test_login_ignores_any_credential_sent_with_it(api, admin_a):
    response = api.post("/auth/login", {"username": "alice-admin", "password": PASSWORD}, token=BAD_TOKEN)

    assert response.status_code == 200


def login_from(address: str, username: str, password: str):
    return Api().client.post(
        "/auth/login",
        {"username": username, "password": password},
        content_type="application/json",
        secure=True,
        REMOTE_ADDR=address,
    )


def test_repeated_failures_for_a_username_are_throttled_from_any_address(admin_a, settings):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    for n in range(3):
        assert login_from(f"10.0.0.{n}", "alice-admin", "wrong").status_code == 401

    throttled = login_from("10.0.0.99", "ALICE-admin", PASSWORD)

    assert error_of(throttled) == (429, "RESOURCE_EXHAUSTED", "TOO_MANY_LOGIN_FAILURES")
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert not LoginToken.objects.filter(agent=admin_a).exists()


def test_repeated_failures_from_an_address_are_throttled_for_any_username(admin_a, settings):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    for n in range(3):
        assert login_from("10.0.0.1", f"nobody-{n}", "wrong").status_code == 401

    assert login_from("10.0.0.1", "alice-admin", PASSWORD).status_code == 429
    assert login_from("10.0.0.2", "alice-admin", PASSWORD).status_code == 200


@pytest.mark.parametrize("spelling", ["s\u0131ss\u0131", "\u017fissi", "SISSI", "\uff53issi"])
def test_spellings_that_fold_to_one_username_share_its_failure_count(admin_a, settings, spelling):
    """Each spelling that signs in to `sissi` counts against `sissi` (issue #11, item 4)."""
    make_agent(admin_a.customer_id, username="sissi")
    settings.LOGIN_THROTTLE_RATE = "3/min"
    for n in range(3):
        assert login_from(f"10.0.0.{n}", "sissi", "wrong").status_code == 401

    throttled = login_from("10.0.0.99", spelling, PASSWORD)

    assert error_of(throttled) == (429, "RESOURCE_EXHAUSTED", "TOO_MANY_LOGIN_FAILURES")


@pytest.mark.parametrize("spelling", ["xi1", "XI1", "x\u01311", "X\u01311"])
def test_sign_in_with_a_spelling_that_folds_alike_finds_the_one_agent(admin_a, spelling):
    agent = make_agent(admin_a.customer_id, username="xi1")

    response = login_from("10.0.0.1", spelling, PASSWORD)

    assert response.status_code == 200
    assert LoginToken.objects.filter(agent=agent).count() == 1


@pytest.mark.parametrize(
    "username",
    ["a\x00b", "\ud800", "x" * 100_000, "\u0130", "\ufdfa" * 300, "a-admin\n", "", " ", "\u200b"],
    ids=["nul", "surrogate-escape", "huge", "dotted-I", "expanding", "newline", "empty", "space", "zwsp"],
)
def test_no_username_makes_sign_in_fail_with_a_500(admin_a, username):
    response = login_from("10.0.0.1", username, PASSWORD)

    assert response.status_code in (400, 401), response.content


def test_successful_logins_are_not_throttled(admin_a, settings):
    settings.LOGIN_THROTTLE_RATE = "3/min"

    assert {login_from("10.0.0.1", "alice-admin", PASSWORD).status_code for _ in range(6)} == {200}


# --- logout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/logout", "/v1.0/auth/logout"])
def test_logout_revokes_the_token_it_is_called_with_only(api, admin_a, path):
    token, other_token = token_for(admin_a), token_for(admin_a)

    response = api.post(path, token=token)

    assert response.status_code == 200
    assert response.json() == {}
    assert response.cookies["token"].value == ""  # the cookie is cleared
    assert error_of(me(api, token=token)) == (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
    assert me(api, token=other_token).status_code == 200


def test_logout_with_the_token_cookie(api, admin_a):
    token = token_for(admin_a)
    api.client.cookies["token"] = token

    assert api.post("/auth/logout").status_code == 200
    assert me(api, token=token).status_code == 401


def test_logout_with_an_access_key_leaves_the_key_alone(api, customer_a):
    key = access_key_for(customer_a.id)

    assert api.post("/auth/logout", token=key).status_code == 200
    assert me(api, token=key).status_code == 200


@pytest.mark.parametrize("token", [None, BAD_TOKEN])
def test_logout_needs_a_valid_credential(api, token):
    assert api.post("/auth/logout", token=token).status_code == 401


# --- where a credential may be sent -------------------------------------------------------------


@pytest.fixture
def credentials(admin_a):
    return {"token": token_for(admin_a), "key": access_key_for(admin_a.customer_id)}


def send(api, place: str, value: str):
    """GET /v1.0/me with the credential in one place."""
    if place == "bearer":
        return me(api, headers={"Authorization": f"Bearer {value}"})
    if place in ("token_query", "accesskey_query"):
        name = place.removesuffix("_query")
        return api.client.get("/v1.0/me", {name: value}, secure=True)
    api.client.cookies[place.removesuffix("_cookie")] = value
    return me(api)


PLACES = ["bearer", "token_query", "token_cookie", "accesskey_query", "accesskey_cookie"]


@pytest.mark.parametrize("kind", ["token", "key"])
@pytest.mark.parametrize("place", PLACES)
def test_a_login_token_or_an_access_key_is_accepted_in_every_place(api, admin_a, credentials, place, kind):
    response = send(api, place, credentials[kind])

    assert response.status_code == 200, response.content
    expected_id = str(admin_a.id) if kind == "token" else str(AccessKey.objects.get().id)
    assert response.json()["id"] == expected_id


@pytest.mark.parametrize("place", PLACES)
def test_a_bad_credential_in_any_place_is_invalid(api, place):
    assert error_of(send(api, place, BAD_TOKEN)) == (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("bearer", "token_query"),
        ("token_query", "token_cookie"),
        ("token_cookie", "accesskey_query"),
        ("accesskey_query", "accesskey_cookie"),
    ],
)
@pytest.mark.parametrize("good_one", ["first", "second"])
def test_the_first_credential_present_wins(api, credentials, first, second, good_one):
    values = {first: BAD_TOKEN, second: credentials["token"]}
    if good_one == "first":
        values = {first: credentials["token"], second: BAD_TOKEN}
    headers, query = {}, {}
    for place, value in values.items():
        if place == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        elif place.endswith("_query"):
            query[place.removesuffix("_query")] = value
        else:
            api.client.cookies[place.removesuffix("_cookie")] = value

    response = api.client.get("/v1.0/me", query, secure=True, headers=headers)

    assert response.status_code == (200 if good_one == "first" else 401)


def test_an_empty_value_counts_as_absent(api, credentials):
    api.client.cookies["token"] = credentials["token"]

    assert api.client.get("/v1.0/me?token=", secure=True).status_code == 200


def test_an_empty_bearer_is_an_invalid_credential(api, credentials):
    response = me(api, headers={"Authorization": "Bearer "})

    assert error_of(response) == (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")


def test_another_authorization_scheme_is_not_a_credential(api, credentials):
    response = api.client.get(
        "/v1.0/me", {"token": credentials["token"]}, secure=True, headers={"Authorization": "Basic YTpi"}
    )

    assert response.status_code == 200


def test_a_missing_credential_is_authentication_required(api):
    response = me(api)

    assert error_of(response) == (401, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_expired_revoked_and_deleted_agents_tokens_are_invalid(api, admin_a, agent_a):
    expired, revoked, of_deleted = token_for(admin_a), token_for(admin_a), token_for(agent_a)
    LoginToken.objects.filter(token_hash=hashlib.sha256(expired.encode()).hexdigest()).update(
        tm_expire=timezone.now() - timedelta(seconds=1)
    )
    api.post("/auth/logout", token=revoked)
    agent_delete(actor=SYSTEM, agent=agent_a)

    for token in (expired, revoked, of_deleted):
        assert error_of(me(api, token=token)) == (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")


def test_token_auth_needs_no_csrf_token(api, admin_a):
    api.client.cookies["token"] = token_for(admin_a)  # the client enforces CSRF like a browser

    assert api.post("/v1.0/tags", {"name": "from a cookie"}).status_code == 200


# --- GET /v1.0/me --------------------------------------------------------------------------------


def test_me_is_the_callers_agent(api, callers, agent_a):
    body = me(api, token=callers["agent"]).json()

    assert body["id"] == str(agent_a.id)
    assert (body["username"], body["permission"]) == ("pat-agent", 16)


def test_me_for_an_access_key_is_agent_shaped_with_the_keys_customer_and_rights(api, customer_a):
    key = access_key_for(customer_a.id)

    body = me(api, token=key).json()

    access_key = AccessKey.objects.get()
    assert body == {
        "id": str(access_key.id),
        "customer_id": str(customer_a.id),
        "username": "",
        "name": "test key",
        "detail": "",
        "ring_method": "ringall",
        "status": "offline",
        "permission": 32,
        "tag_ids": [],
        "addresses": [],
        "direct_hash": "",
        "tm_create": body["tm_create"],
        "tm_update": UNSET_TIMESTAMP,
        "tm_delete": UNSET_TIMESTAMP,
    }


@pytest.mark.parametrize("caller", list(UNAUTHENTICATED_CALLERS))
def test_me_needs_a_valid_credential(api, callers, caller):
    assert error_of(me(api, token=callers[caller])) == UNAUTHENTICATED_CALLERS[caller]


# --- access keys ----------------------------------------------------------------------------------

ADMINS = ["admin", "access_key"]


@pytest.mark.parametrize("caller", ADMINS)
def test_admins_create_an_access_key_shown_once(api, callers, customer_a, caller):
    response = api.post("/v1.0/accesskeys", {"name": "crm", "detail": "sync"}, token=callers[caller])

    assert response.status_code == 200
    created = response.json()
    assert list(created) == [*ACCESS_KEY_FIELDS, "token"]
    token = created["token"]
    assert token.startswith("vb_")
    assert len(token) == 35
    assert created["token_prefix"] == token[:11]
    stored = AccessKey.objects.get(pk=created["id"])
    assert stored.customer_id == customer_a.id
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (stored.tm_expire - stored.tm_create) == timedelta(days=365)
    assert me(api, token=token).json()["id"] == created["id"]
    assert token not in api.get(f"/v1.0/accesskeys/{created['id']}", token=callers[caller]).content.decode()
    assert token not in api.get("/v1.0/accesskeys", token=callers[caller]).content.decode()


def test_expire_is_the_lifetime_in_seconds(api, callers):
    created = api.post("/v1.0/accesskeys", {"expire": 86400}, token=callers["admin"]).json()

    stored = AccessKey.objects.get(pk=created["id"])
    assert stored.tm_expire - stored.tm_create == timedelta(days=1)


@pytest.fixture
def access_key(customer_a):
    return AccessKey.objects.get(token_prefix=access_key_for(customer_a.id)[:11])


ACCESS_KEY_ROUTES = {
    "list": ("GET", "/v1.0/accesskeys", None),
    "create": ("POST", "/v1.0/accesskeys", {"name": "new"}),
    "get": ("GET", "/v1.0/accesskeys/{id}", None),
    "update": ("PUT", "/v1.0/accesskeys/{id}", {"name": "renamed"}),
    "delete": ("DELETE", "/v1.0/accesskeys/{id}", None),
}


def call_access_key_route(api, route, access_key_id, *, token, body=None):
    method, path, default_body = ACCESS_KEY_ROUTES[route]
    body = default_body if body is None else body
    kwargs = {} if body is None else {"body": body}
    return api.call(method, path.format(id=access_key_id), token=token, **kwargs)


@pytest.mark.parametrize("caller", ADMINS)
@pytest.mark.parametrize("route", ["list", "get", "update", "delete"])
def test_admins_manage_access_keys(api, callers, access_key, route, caller):
    response = call_access_key_route(api, route, access_key.id, token=callers[caller])

    assert response.status_code == 200, response.content
    body = response.json()
    if route == "list":
        assert body["result"][0]["id"] == str(access_key.id)  # the newest
        assert all(list(key) == ACCESS_KEY_FIELDS for key in body["result"])
        return
    assert list(body) == ACCESS_KEY_FIELDS
    assert body["id"] == str(access_key.id)
    if route == "update":
        assert body["name"] == AccessKey.objects.get(pk=access_key.pk).name == "renamed"
        assert body["detail"] == access_key.detail
    if route == "delete":
        assert body["tm_delete"] != UNSET_TIMESTAMP
        assert AccessKey.objects.get(pk=access_key.pk).tm_delete is not None


ACCESS_KEY_REFUSALS = {
    "manager": (403, "PERMISSION_DENIED", "ADMIN_REQUIRED"),
    "agent": (403, "PERMISSION_DENIED", "ADMIN_REQUIRED"),
    "other_customer": (404, "NOT_FOUND", "ACCESS_KEY_NOT_FOUND"),
    **UNAUTHENTICATED_CALLERS,
}


@pytest.mark.parametrize(
    ("route", "caller"),
    [
        (route, caller)
        for route in ACCESS_KEY_ROUTES
        for caller in ACCESS_KEY_REFUSALS
        # Another customer's admin lists and creates its own keys (tested below).
        if not (caller == "other_customer" and route in ("list", "create"))
    ],
)
def test_refused_callers_change_no_access_key(api, callers, access_key, route, caller, unchanged_database):
    with unchanged_database():
        response = call_access_key_route(api, route, access_key.id, token=callers[caller])

    assert error_of(response) == ACCESS_KEY_REFUSALS[caller]


def test_another_customers_admin_sees_only_its_own_keys(api, callers, access_key, customer_b):
    listed = api.get("/v1.0/accesskeys", token=callers["other_customer"]).json()
    created = api.post("/v1.0/accesskeys", {}, token=callers["other_customer"]).json()

    assert str(access_key.id) not in {key["id"] for key in listed["result"]}
    assert created["customer_id"] == str(customer_b.id)


@pytest.mark.parametrize(
    ("route", "body", "expected"),
    [
        ("create", {"expire": 86399}, (400, "INVALID_ARGUMENT", "INVALID_EXPIRE")),
        ("create", {"expire": "86400"}, (400, "INVALID_ARGUMENT", "INVALID_EXPIRE")),
        ("create", {"expire": True}, (400, "INVALID_ARGUMENT", "INVALID_EXPIRE")),
        ("create", {"expire": 10**12}, (400, "INVALID_ARGUMENT", "INVALID_EXPIRE")),
        ("create", {"name": "n" * 256}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ("create", ["crm"], (400, "INVALID_ARGUMENT", "INVALID_BODY")),
        ("update", {"name": ["x"]}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ("update", {"detail": 1}, (400, "INVALID_ARGUMENT", "INVALID_DETAIL")),
    ],
)
def test_rejected_access_key_inputs_change_nothing(
    api, callers, access_key, route, body, expected, unchanged_database
):
    with unchanged_database():
        response = call_access_key_route(api, route, access_key.id, token=callers["admin"], body=body)

    assert error_of(response) == expected


@pytest.mark.parametrize("route", ["get", "update", "delete"])
def test_a_malformed_access_key_id_is_invalid_id(api, callers, route):
    response = call_access_key_route(api, route, "nope", token=callers["admin"])

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_ID")


def test_a_deleted_access_key_stops_authenticating_and_is_gone(api, callers, customer_a):
    key = access_key_for(customer_a.id)
    key_id = AccessKey.objects.get(token_prefix=key[:11]).id

    api.delete(f"/v1.0/accesskeys/{key_id}", token=callers["admin"])

    assert error_of(me(api, token=key)) == (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
    assert api.get(f"/v1.0/accesskeys/{key_id}", token=callers["admin"]).status_code == 404
    listed = api.get("/v1.0/accesskeys", token=callers["admin"]).json()["result"]
    assert str(key_id) not in {k["id"] for k in listed}
