"""The agents door of the REST API (contract sections 5, 6 and 9).

Every row of the contract's agents table: the callers it allows get the documented answer; each
refused caller (plain agent, another customer's admin, no credential, a bad credential, an
expired access key) and each rejected input gets its status, status code and reason, and
changes nothing. The rules themselves are tested thoroughly in test_services.py.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import services
from agents.models import Agent, AgentStatusChange, Permission
from agents.permissions import SYSTEM
from agents.representation import agent_representation
from tests.api_support import UNAUTHENTICATED_CALLERS, error_of, token_for
from tests.factories import make_agent, make_tag
from voipbin_admin.timestamps import UNSET_TIMESTAMP, format_timestamp

AGENT_FIELDS = [
    "id",
    "customer_id",
    "username",
    "name",
    "detail",
    "ring_method",
    "status",
    "permission",
    "tag_ids",
    "addresses",
    "direct_hash",
    "tm_create",
    "tm_update",
    "tm_delete",
]
TEL = {"type": "tel", "target": "+15559876543"}


@pytest.fixture
def target(customer_a):
    """A plain agent of customer A that the routes act on (not the `agent_a` caller)."""
    return make_agent(customer_a.id, username="target-agent", name="Target", detail="d")


@pytest.fixture
def tag_a(customer_a):
    return make_tag(customer_a.id, name="billing")


# --- the object routes of the table ----------------------------------------------------------

# name: (method, path after /v1.0/agents/{id}, body; "TAG" stands for tag_a's id)
AGENT_ROUTES = {
    "get": ("GET", "", None),
    "update": ("PUT", "", {"name": "Renamed"}),
    "delete": ("DELETE", "", None),
    "status": ("PUT", "/status", {"status": "available"}),
    "addresses": ("PUT", "/addresses", {"addresses": [TEL]}),
    "tag_ids": ("PUT", "/tag_ids", {"tag_ids": ["TAG"]}),
    "permission": ("PUT", "/permission", {"permission": Permission.CUSTOMER_MANAGER}),
    "password": ("PUT", "/password", {"password": "a-new-password"}),
    "direct_hash": ("POST", "/direct-hash-regenerate", None),
}
SELF_OR_SUPERVISOR_ROUTES = ["get", "update", "status"]
SUPERVISOR_ONLY_ROUTES = ["delete", "addresses", "tag_ids", "permission", "password", "direct_hash"]


def call_route(api, route: str, agent_id, *, token, tag=None, body=None):
    method, suffix, default_body = AGENT_ROUTES[route]
    body = default_body if body is None else body
    if body is not None and tag is not None and body.get("tag_ids") == ["TAG"]:
        body = {"tag_ids": [str(tag.id)]}
    path = f"/v1.0/agents/{agent_id}{suffix}"
    if body is None:
        return api.call(method, path, token=token)
    return api.call(method, path, body, token=token)


def assert_route_took_effect(route: str, body: dict, agent: Agent, tag) -> None:
    """The answer is the agent, showing the change the route made (and the database agrees)."""
    assert list(body) == AGENT_FIELDS
    assert body["id"] == str(agent.id)
    fresh = Agent.objects.get(pk=agent.pk)
    if route == "update":
        assert body["name"] == fresh.name == "Renamed"
        assert body["detail"] == agent.detail  # left out, kept
    elif route == "delete":
        assert body["tm_delete"] != UNSET_TIMESTAMP
        assert fresh.tm_delete is not None
    elif route == "status":
        assert body["status"] == fresh.status == "available"
    elif route == "addresses":
        assert body["addresses"] == [{**TEL, "target_name": "", "name": "", "detail": ""}]
    elif route == "tag_ids":
        assert body["tag_ids"] == [str(tag.id)]
    elif route == "permission":
        assert body["permission"] == fresh.permission == Permission.CUSTOMER_MANAGER
    elif route == "password":
        assert fresh.check_password("a-new-password")
    elif route == "direct_hash":
        assert body["direct_hash"] == fresh.direct_hash != agent.direct_hash
    else:
        assert body["tm_delete"] == UNSET_TIMESTAMP


@pytest.mark.parametrize("caller", ["admin", "manager", "access_key"])
@pytest.mark.parametrize("route", list(AGENT_ROUTES))
def test_supervisors_may_use_every_agent_route(api, callers, target, tag_a, route, caller):
    response = call_route(api, route, target.id, token=callers[caller], tag=tag_a)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert_route_took_effect(route, response.json(), target, tag_a)


@pytest.mark.parametrize("route", SELF_OR_SUPERVISOR_ROUTES)
def test_an_agent_may_read_update_and_set_the_status_of_itself(api, callers, agent_a, route):
    response = call_route(api, route, agent_a.id, token=callers["agent"])

    assert response.status_code == 200, response.content
    assert_route_took_effect(route, response.json(), agent_a, None)


@pytest.mark.parametrize("route", SUPERVISOR_ONLY_ROUTES)
def test_an_agent_may_not_use_the_supervisor_routes_on_itself(
    api, callers, agent_a, tag_a, route, unchanged_database
):
    with unchanged_database():
        response = call_route(api, route, agent_a.id, token=callers["agent"], tag=tag_a)

    assert error_of(response) == (403, "PERMISSION_DENIED", "SUPERVISOR_REQUIRED")


REFUSED_CALLERS = {
    "agent": (403, "PERMISSION_DENIED", "SUPERVISOR_REQUIRED"),
    "other_customer": (404, "NOT_FOUND", "AGENT_NOT_FOUND"),
    **UNAUTHENTICATED_CALLERS,
}


@pytest.mark.parametrize("caller", list(REFUSED_CALLERS))
@pytest.mark.parametrize("route", list(AGENT_ROUTES))
def test_refused_callers_change_nothing(api, callers, target, tag_a, route, caller, unchanged_database):
    with unchanged_database():
        response = call_route(api, route, target.id, token=callers[caller], tag=tag_a)

    assert error_of(response) == REFUSED_CALLERS[caller]


@pytest.mark.parametrize("route", list(AGENT_ROUTES))
def test_a_malformed_id_is_invalid_id(api, callers, route, unchanged_database):
    with unchanged_database():
        response = call_route(api, route, "not-a-uuid", token=callers["admin"])

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_ID")


@pytest.mark.parametrize("route", list(AGENT_ROUTES))
def test_a_deleted_agent_is_not_found(api, callers, target, route):
    api.delete(f"/v1.0/agents/{target.id}", token=callers["admin"])

    response = call_route(api, route, target.id, token=callers["admin"])

    assert error_of(response) == (404, "NOT_FOUND", "AGENT_NOT_FOUND")


# --- rejected inputs, route by route ---------------------------------------------------------

REJECTED_INPUTS = [
    # (route, body, expected)
    ("update", {"ring_method": "roundrobin"}, (400, "INVALID_ARGUMENT", "INVALID_RING_METHOD")),
    ("update", {"name": "x" * 256}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
    ("update", {"detail": 5}, (400, "INVALID_ARGUMENT", "INVALID_DETAIL")),
    ("status", {"status": "sleeping"}, (400, "INVALID_ARGUMENT", "INVALID_STATUS")),
    ("status", {}, (400, "INVALID_ARGUMENT", "INVALID_STATUS")),
    ("status", {"status": "away", "reason": "r" * 256}, (400, "INVALID_ARGUMENT", "INVALID_REASON")),
    ("addresses", {}, (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES")),
    (
        "addresses",
        {"addresses": [{"type": "fax", "target": "1"}]},
        (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
    ),
    (
        "addresses",
        {"addresses": [{"type": "tel", "target": "5559876543"}]},
        (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
    ),
    (
        "addresses",
        {"addresses": [{"type": "extension", "target": "12a"}]},
        (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
    ),
    (
        "addresses",
        {"addresses": [{"type": "sip", "target": "nobody"}]},
        (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
    ),
    (
        "addresses",
        {"addresses": [TEL, {**TEL, "target": "+1 555 987 6543"}]},
        (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
    ),
    (
        "addresses",
        {"addresses": [{"type": "extension", "target": str(n)} for n in range(21)]},
        (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
    ),
    ("tag_ids", {}, (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
    ("tag_ids", {"tag_ids": ["not-a-uuid"]}, (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
    ("tag_ids", {"tag_ids": "TAG"}, (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
    ("permission", {}, (400, "INVALID_ARGUMENT", "INVALID_PERMISSION")),
    ("permission", {"permission": 2}, (400, "INVALID_ARGUMENT", "INVALID_PERMISSION")),
    ("permission", {"permission": "32"}, (400, "INVALID_ARGUMENT", "INVALID_PERMISSION")),
    ("permission", {"permission": True}, (400, "INVALID_ARGUMENT", "INVALID_PERMISSION")),
    (
        "permission",
        {"permission": Permission.PROJECT_SUPER_ADMIN},
        (403, "PERMISSION_DENIED", "PERMISSION_NOT_ALLOWED"),
    ),
    ("password", {}, (400, "INVALID_ARGUMENT", "INVALID_PASSWORD")),
    ("password", {"password": ""}, (400, "INVALID_ARGUMENT", "INVALID_PASSWORD")),
    ("password", {"password": 1234}, (400, "INVALID_ARGUMENT", "INVALID_PASSWORD")),
]


@pytest.mark.parametrize(("route", "body", "expected"), REJECTED_INPUTS)
def test_rejected_inputs_change_nothing(api, callers, target, route, body, expected, unchanged_database):
    with unchanged_database():
        response = call_route(api, route, target.id, token=callers["admin"], body=body)

    assert error_of(response) == expected


def test_a_field_error_names_the_field(api, callers, target):
    body = {"addresses": [TEL, {"type": "tel", "target": "not a number"}]}

    response = call_route(api, "addresses", target.id, token=callers["admin"], body=body)

    assert response.json()["error"]["details"] == [
        {
            "field": "addresses[1].target",
            "message": "must be a phone number in E.164 format, e.g. +15559876543",
        }
    ]


def test_an_address_of_another_agent_is_already_assigned(
    api, callers, customer_a, target, unchanged_database
):
    make_agent(customer_a.id, addresses=[TEL])

    with unchanged_database():
        response = call_route(api, "addresses", target.id, token=callers["admin"])

    assert error_of(response) == (409, "ALREADY_EXISTS", "ADDRESS_ALREADY_ASSIGNED")


def test_tags_of_another_customer_are_invalid_tag_ids(api, callers, customer_b, target, unchanged_database):
    tag_b = make_tag(customer_b.id)

    with unchanged_database():
        response = call_route(
            api, "tag_ids", target.id, token=callers["admin"], body={"tag_ids": [str(tag_b.id)]}
        )

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")
    assert str(tag_b.id) in response.json()["error"]["message"]


def test_a_manager_may_not_grant_admin(api, callers, target, unchanged_database):
    with unchanged_database():
        response = call_route(
            api,
            "permission",
            target.id,
            token=callers["manager"],
            body={"permission": Permission.CUSTOMER_ADMIN},
        )

    assert error_of(response) == (403, "PERMISSION_DENIED", "PERMISSION_NOT_ALLOWED")


@pytest.fixture
def second_admin(customer_a):
    """An admin of customer A that is not its last one."""
    return make_agent(customer_a.id, username="ada-admin", permission=Permission.CUSTOMER_ADMIN)


@pytest.mark.parametrize("route", ["password", "delete"])
@pytest.mark.parametrize(
    ("caller", "victim"),
    [("manager", "second_admin"), ("admin", "super_admin"), ("access_key", "super_admin")],
)
def test_no_reset_or_delete_of_an_agent_whose_rights_the_caller_may_not_remove(
    api, callers, request, route, caller, victim, unchanged_database
):
    # A password reset hands the caller the account and its bits; a delete removes them.
    victim = request.getfixturevalue(victim)
    with unchanged_database():
        response = call_route(api, route, victim.id, token=callers[caller])

    assert error_of(response) == (403, "PERMISSION_DENIED", "PERMISSION_NOT_ALLOWED")


def test_an_admin_resets_and_deletes_another_admin(api, callers, second_admin):
    assert call_route(api, "password", second_admin.id, token=callers["admin"]).status_code == 200
    assert call_route(api, "delete", second_admin.id, token=callers["admin"]).status_code == 200


def test_the_last_admin_keeps_its_admin_bit_and_cannot_be_deleted(api, callers, admin_a, unchanged_database):
    with unchanged_database():
        demoted = call_route(api, "permission", admin_a.id, token=callers["admin"], body={"permission": 0})
        deleted = call_route(api, "delete", admin_a.id, token=callers["admin"])

    assert error_of(demoted) == (409, "FAILED_PRECONDITION", "LAST_ADMIN")
    assert error_of(deleted) == (409, "FAILED_PRECONDITION", "LAST_ADMIN")


# --- what the routes do beyond their direct answer ---------------------------------------------


def test_a_password_reset_revokes_the_agents_tokens(api, callers, target):
    target_token = token_for(target)

    call_route(api, "password", target.id, token=callers["admin"])

    assert error_of(api.get("/v1.0/me", token=target_token)) == (
        401,
        "UNAUTHENTICATED",
        "INVALID_CREDENTIALS",
    )


def test_a_permission_change_revokes_the_agents_tokens(api, callers, target):
    target_token = token_for(target)

    call_route(api, "permission", target.id, token=callers["admin"])

    assert api.get("/v1.0/me", token=target_token).status_code == 401


def test_a_manager_cannot_sign_an_admin_out_by_a_permission_change(api, callers, admin_a, unchanged_database):
    admin_token = token_for(admin_a)

    with unchanged_database():
        response = api.put(
            f"/v1.0/agents/{admin_a.id}/permission", {"permission": 48}, token=callers["manager"]
        )

    assert error_of(response) == (403, "PERMISSION_DENIED", "PERMISSION_NOT_ALLOWED")
    assert api.get("/v1.0/me", token=admin_token).status_code == 200


@pytest.mark.parametrize(
    "body", [{"password": "taken-over"}, {"password": "taken-over", "old_password": "x"}]
)
def test_a_supervisor_resetting_its_own_password_needs_the_old_one(
    api, callers, admin_a, body, unchanged_database
):
    with unchanged_database():
        response = api.put(f"/v1.0/agents/{admin_a.id}/password", body, token=callers["admin"])

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_OLD_PASSWORD")


def test_a_status_change_is_recorded_with_who_made_it_and_why(api, callers, manager_a, target):
    call_route(api, "status", target.id, token=callers["manager"], body={"status": "away", "reason": "lunch"})

    change = AgentStatusChange.objects.filter(agent=target).latest("tm_create")
    assert (change.from_status, change.to_status, change.reason) == ("offline", "away", "lunch")
    assert change.changed_by_agent_id == manager_a.id


def test_addresses_are_stored_in_canonical_form_and_order(api, callers, target):
    body = {
        "addresses": [
            {"type": "sip", "target": "sip:Pat@Example.COM", "name": "desk"},
            {"type": "tel", "target": "+1 (555) 987-6543"},
            {"type": "extension", "target": "204"},
        ]
    }

    response = call_route(api, "addresses", target.id, token=callers["admin"], body=body)

    assert [(a["type"], a["target"], a["name"]) for a in response.json()["addresses"]] == [
        ("sip", "Pat@example.com", "desk"),
        ("tel", "+15559876543", ""),
        ("extension", "204", ""),
    ]


def test_a_deleted_agent_is_gone_from_reads_and_lists(api, callers, target):
    deleted = api.delete(f"/v1.0/agents/{target.id}", token=callers["admin"]).json()

    assert deleted["direct_hash"] == ""
    assert api.get(f"/v1.0/agents/{target.id}", token=callers["admin"]).status_code == 404
    listed = api.get("/v1.0/agents", token=callers["admin"]).json()["result"]
    assert str(target.id) not in {agent["id"] for agent in listed}


def test_a_null_field_means_the_same_as_leaving_it_out(api, callers, target):
    response = api.put(f"/v1.0/agents/{target.id}", {"name": None, "detail": "new"}, token=callers["admin"])

    assert (response.json()["name"], response.json()["detail"]) == ("Target", "new")


# --- the collection: create -----------------------------------------------------------------


def create_body(**fields) -> dict:
    return {"username": "new-agent", "password": "pw", **fields}


@pytest.mark.parametrize("caller", ["admin", "manager", "access_key"])
def test_supervisors_create_agents_in_their_customer(api, callers, customer_a, tag_a, caller):
    body = create_body(
        name="New",
        detail="about",
        ring_method="linear",
        permission=Permission.CUSTOMER_AGENT,
        tag_ids=[str(tag_a.id)],
        addresses=[TEL],
    )

    response = api.post("/v1.0/agents", body, token=callers[caller])

    assert response.status_code == 201, response.content
    created = response.json()
    assert list(created) == AGENT_FIELDS
    assert "password" not in response.content.decode()
    assert created["customer_id"] == str(customer_a.id)
    assert (created["username"], created["name"], created["ring_method"], created["status"]) == (
        "new-agent",
        "New",
        "linear",
        "offline",
    )
    assert created["tag_ids"] == [str(tag_a.id)]
    assert created["addresses"][0]["target"] == "+15559876543"
    assert len(created["direct_hash"]) == 12
    assert (created["tm_update"], created["tm_delete"]) == (UNSET_TIMESTAMP, UNSET_TIMESTAMP)


def test_create_defaults(api, callers):
    created = api.post("/v1.0/agents", create_body(), token=callers["admin"]).json()

    assert (created["ring_method"], created["permission"], created["tag_ids"], created["addresses"]) == (
        "ringall",
        0,
        [],
        [],
    )


def test_another_customers_admin_creates_in_its_own_customer(api, callers, customer_b):
    created = api.post("/v1.0/agents", create_body(), token=callers["other_customer"]).json()

    assert created["customer_id"] == str(customer_b.id)


@pytest.mark.parametrize("caller", ["agent", *UNAUTHENTICATED_CALLERS])
def test_refused_callers_create_nothing(api, callers, caller, unchanged_database):
    expected = {"agent": (403, "PERMISSION_DENIED", "SUPERVISOR_REQUIRED"), **UNAUTHENTICATED_CALLERS}[caller]

    with unchanged_database():
        response = api.post("/v1.0/agents", create_body(), token=callers[caller])

    assert error_of(response) == expected


REJECTED_CREATES = [
    ({"password": "pw"}, (400, "INVALID_ARGUMENT", "INVALID_USERNAME")),
    (create_body(username="has space"), (400, "INVALID_ARGUMENT", "INVALID_USERNAME")),
    (create_body(username="u" * 256), (400, "INVALID_ARGUMENT", "INVALID_USERNAME")),
    ({"username": "new-agent"}, (400, "INVALID_ARGUMENT", "INVALID_PASSWORD")),
    (create_body(password=""), (400, "INVALID_ARGUMENT", "INVALID_PASSWORD")),
    (create_body(username="PAT-AGENT"), (409, "ALREADY_EXISTS", "AGENT_ALREADY_EXISTS")),
    (create_body(username="bob-admin"), (409, "ALREADY_EXISTS", "AGENT_ALREADY_EXISTS")),
    (create_body(name="n" * 256), (400, "INVALID_ARGUMENT", "INVALID_NAME")),
    (create_body(ring_method="random"), (400, "INVALID_ARGUMENT", "INVALID_RING_METHOD")),
    (create_body(permission=3), (400, "INVALID_ARGUMENT", "INVALID_PERMISSION")),
    (
        create_body(permission=Permission.PROJECT_SUPER_ADMIN),
        (403, "PERMISSION_DENIED", "PERMISSION_NOT_ALLOWED"),
    ),
    (create_body(tag_ids=["nope"]), (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
    (create_body(tag_ids="nope"), (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
    (create_body(addresses=[{"type": "tel"}]), (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES")),
    (create_body(addresses={"type": "tel"}), (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES")),
    (["username", "password"], (400, "INVALID_ARGUMENT", "INVALID_BODY")),
]


@pytest.mark.parametrize(("body", "expected"), REJECTED_CREATES)
def test_rejected_creates_create_nothing(api, callers, agent_a, admin_b, body, expected, unchanged_database):
    with unchanged_database():
        response = api.post("/v1.0/agents", body, token=callers["admin"])

    assert error_of(response) == expected


def test_a_manager_may_not_create_an_admin(api, callers, unchanged_database):
    with unchanged_database():
        response = api.post(
            "/v1.0/agents", create_body(permission=Permission.CUSTOMER_ADMIN), token=callers["manager"]
        )

    assert error_of(response) == (403, "PERMISSION_DENIED", "PERMISSION_NOT_ALLOWED")


def test_an_address_taken_in_the_customer_is_refused_at_create(api, callers, customer_a, unchanged_database):
    make_agent(customer_a.id, addresses=[TEL])

    with unchanged_database():
        response = api.post("/v1.0/agents", create_body(addresses=[TEL]), token=callers["admin"])

    assert error_of(response) == (409, "ALREADY_EXISTS", "ADDRESS_ALREADY_ASSIGNED")


# --- the collection: list, filters, pagination ---------------------------------------------------


def listed_usernames(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [agent["username"] for agent in response.json()["result"]]


@pytest.mark.parametrize("caller", ["admin", "manager", "access_key"])
def test_supervisors_list_their_customers_live_agents_newest_first(
    api, callers, admin_a, manager_a, agent_a, admin_b, caller
):
    gone = make_agent(admin_a.customer_id, username="gone")
    api.delete(f"/v1.0/agents/{gone.id}", token=callers["admin"])

    response = api.get("/v1.0/agents", token=callers[caller])

    assert listed_usernames(response) == ["pat-agent", "mike-manager", "alice-admin"]
    assert response.json()["next_page_token"]


def test_another_customers_admin_lists_only_its_own(api, callers, agent_a):
    assert listed_usernames(api.get("/v1.0/agents", token=callers["other_customer"])) == ["bob-admin"]


@pytest.mark.parametrize("caller", ["agent", *UNAUTHENTICATED_CALLERS])
def test_refused_callers_get_no_list(api, callers, caller):
    expected = {"agent": (403, "PERMISSION_DENIED", "SUPERVISOR_REQUIRED"), **UNAUTHENTICATED_CALLERS}[caller]

    assert error_of(api.get("/v1.0/agents", token=callers[caller])) == expected


@pytest.fixture
def routable(customer_a, tag_a):
    """Agents a queue may or may not route to."""
    other_tag = make_tag(customer_a.id, name="sales")
    agents = {
        "ready": make_agent(customer_a.id, username="ready", tag_ids=[tag_a.id], name="Ready Rita"),
        "busy": make_agent(customer_a.id, username="busy", tag_ids=[tag_a.id]),
        "untagged": make_agent(customer_a.id, username="untagged", detail="speaks READY french"),
        "sales": make_agent(customer_a.id, username="sales", tag_ids=[other_tag.id]),
    }
    for name in ("ready", "untagged", "sales"):
        Agent.objects.filter(pk=agents[name].pk).update(status="available")
    Agent.objects.filter(pk=agents["busy"].pk).update(status="busy")
    return {"tag": tag_a, "other_tag": other_tag, **agents}


def test_status_and_tag_ids_give_the_agents_a_queue_may_route_to(api, callers, routable):
    tag_ids = f"{routable['tag'].id},{routable['other_tag'].id}"

    response = api.get(f"/v1.0/agents?status=available&tag_ids={tag_ids}", token=callers["admin"])

    assert listed_usernames(response) == ["sales", "ready"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("username=READY", ["ready"]),
        ("q=ready", ["untagged", "ready"]),
        ("status=busy", ["busy"]),
        ("q=%00", []),
        ("username=pat%00", []),
    ],
)
def test_list_filters(api, callers, routable, query, expected):
    assert listed_usernames(api.get(f"/v1.0/agents?{query}", token=callers["admin"])) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag_ids=", (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
        ("tag_ids=not-a-uuid", (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS")),
        (
            "tag_ids=" + ",".join(["d7450dda-21e0-4611-b09a-8d771c50a5e6"] * 101),
            (400, "INVALID_ARGUMENT", "INVALID_TAG_IDS"),
        ),
        ("status=sleeping", (400, "INVALID_ARGUMENT", "INVALID_STATUS")),
        ("status=", (400, "INVALID_ARGUMENT", "INVALID_STATUS")),
        ("page_size=0", (400, "INVALID_ARGUMENT", "INVALID_PAGE_SIZE")),
        ("page_size=-5", (400, "INVALID_ARGUMENT", "INVALID_PAGE_SIZE")),
        ("page_size=ten", (400, "INVALID_ARGUMENT", "INVALID_PAGE_SIZE")),
        ("page_size=1.5", (400, "INVALID_ARGUMENT", "INVALID_PAGE_SIZE")),
        ("page_token=garbage!", (400, "INVALID_ARGUMENT", "INVALID_PAGE_TOKEN")),
    ],
)
def test_bad_list_parameters_are_400(api, callers, query, expected):
    assert error_of(api.get(f"/v1.0/agents?{query}", token=callers["admin"])) == expected


def test_the_self_service_agent_list_refuses_an_empty_status_too(api, callers):
    response = api.get("/v1.0/service_agents/agents?status=", token=callers["agent"])

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_STATUS")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def page_through(api, token, *, page_size: int, path: str = "/v1.0/agents") -> list[list[str]]:
    """Every page's ids, following next_page_token until the empty page."""
    pages, page_token = [], ""
    for _ in range(1000):
        body = api.get(f"{path}?page_size={page_size}&page_token={page_token}", token=token).json()
        if not body["result"]:
            assert body == {"result": [], "next_page_token": ""}
            return pages
        assert body["next_page_token"]
        pages.append([agent["id"] for agent in body["result"]])
        page_token = body["next_page_token"]
    raise AssertionError("pagination never ended")


def test_paging_through_1000_agents_with_one_tm_create_returns_each_once(api, callers, customer_a):
    same_moment = timezone.now() - timedelta(days=1)
    Agent.objects.bulk_create(
        Agent(
            customer=customer_a,
            username=f"bulk-{n}",
            username_key=f"bulk-{n}",  # bulk_create skips save(), which keeps it
            password="!",
            tm_create=same_moment,
            tm_status=same_moment,
        )
        for n in range(1000)
    )
    live_ids = set(Agent.objects.live().for_customer(customer_a.id).values_list("id", flat=True))

    pages = page_through(api, callers["admin"], page_size=100)

    seen = [agent_id for page in pages for agent_id in page]
    assert len(seen) == len(set(seen)) == len(live_ids)
    assert set(seen) == {str(agent_id) for agent_id in live_ids}
    assert [len(page) for page in pages[:10]] == [100] * 10


@pytest.mark.parametrize("page_size", ["101", "1000", "9" * 5000])
def test_page_size_is_capped_at_100(api, callers, customer_a, page_size):
    now = timezone.now()
    Agent.objects.bulk_create(
        Agent(
            customer=customer_a,
            username=f"bulk-{n}",
            username_key=f"bulk-{n}",
            password="!",
            tm_create=now,
            tm_status=now,
        )
        for n in range(101)
    )

    response = api.get(f"/v1.0/agents?page_size={page_size}", token=callers["admin"])

    assert len(response.json()["result"]) == 100


@pytest.mark.parametrize(("page_size", "expected"), [("", 3), ("2", 2), ("+2", 2), ("002", 2), (" 1 ", 1)])
def test_page_size_forms(api, callers, agent_a, page_size, expected):
    response = api.client.get(
        "/v1.0/agents", {"page_size": page_size}, secure=True, headers=bearer(callers["admin"])
    )

    assert len(response.json()["result"]) == expected


def test_a_bare_timestamp_page_token_lists_items_created_strictly_before_it(
    api, callers, admin_a, manager_a, agent_a
):
    before_manager = quote(format_timestamp(manager_a.tm_create))

    response = api.get(f"/v1.0/agents?page_token={before_manager}", token=callers["admin"])

    assert listed_usernames(response) == ["alice-admin"]


def test_a_page_past_the_end_is_empty(api, callers, admin_a):
    first = api.get("/v1.0/agents?page_size=100", token=callers["admin"]).json()

    past = api.get(f"/v1.0/agents?page_token={first['next_page_token']}", token=callers["admin"]).json()

    assert past == {"result": [], "next_page_token": ""}


def test_the_list_runs_the_same_queries_whatever_the_page_size(api, callers, customer_a, tag_a):
    for n in range(100):
        make_agent(
            customer_a.id,
            username=f"many-{n}",
            tag_ids=[tag_a.id],
            addresses=[{"type": "extension", "target": str(n)}],
        )

    counts = {}
    for page_size in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/v1.0/agents?page_size={page_size}", token=callers["admin"])
        assert len(response.json()["result"]) == page_size
        counts[page_size] = len(queries)

    assert counts[10] == counts[100] == 2  # the credential, the page with addresses and tags


def _data_statements(queries) -> list[str]:
    """The statements that read or write data (savepoints apart: the test's own transaction)."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


@pytest.mark.parametrize(
    ("caller", "path"),
    [
        ("admin", "/v1.0/agents/{id}"),
        ("access_key", "/v1.0/agents/{id}"),
        ("agent", "/v1.0/service_agents/agents/{id}"),
    ],
)
def test_a_route_that_names_an_agent_reads_it_with_the_credential_in_one_statement(
    api, callers, customer_a, tag_a, caller, path
):
    addresses = [TEL, {"type": "extension", "target": "7"}]
    target = make_agent(customer_a.id, tag_ids=[tag_a.id], addresses=addresses)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path.format(id=target.id), token=callers[caller])

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["tag_ids"], [address["target"] for address in body["addresses"]]) == (
        [str(tag_a.id)],
        [TEL["target"], "7"],
    )
    assert body == agent_representation(Agent.objects.with_representation().get(pk=target.pk))
    assert len(_data_statements(queries)) == 1, _data_statements(queries)


@pytest.mark.parametrize("path", ["/v1.0/me", "/v1.0/service_agents/me"])
def test_a_route_about_the_callers_own_record_reads_it_with_the_credential_in_one_statement(
    api, callers, agent_a, tag_a, path
):
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag_a.id])
    services.agent_replace_addresses(actor=SYSTEM, agent=Agent.objects.get(pk=agent_a.pk), addresses=[TEL])
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path, token=callers["agent"])

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["tag_ids"], [address["target"] for address in body["addresses"]]) == (
        [str(tag_a.id)],
        [TEL["target"]],
    )
    assert body == agent_representation(Agent.objects.with_representation().get(pk=agent_a.pk))
    assert len(_data_statements(queries)) == 1, _data_statements(queries)


def test_an_access_key_has_no_own_record_to_read(api, callers, customer_a):
    with CaptureQueriesContext(connection) as queries:
        me = api.get("/v1.0/me", token=callers["access_key"])

    assert me.status_code == 200
    assert (me.json()["customer_id"], me.json()["username"], me.json()["permission"]) == (
        str(customer_a.id),
        "",
        32,
    )
    assert len(_data_statements(queries)) == 1, _data_statements(queries)
    assert error_of(api.get("/v1.0/service_agents/me", token=callers["access_key"]))[2] == "AGENT_REQUIRED"


# PostgreSQL runs each compare-and-set write with its history and event as one statement.
@pytest.mark.parametrize(
    ("route", "body", "on_postgresql", "elsewhere"),
    [
        ("status", {"status": "busy"}, 2, 4),  # credential with the agent, the change (+ history, event)
        ("addresses", {"addresses": [TEL, {"type": "extension", "target": "7"}]}, 4, 5),  # + delete, insert
    ],
)
def test_the_hot_writes_run_a_fixed_number_of_statements(
    api, callers, target, route, body, on_postgresql, elsewhere
):
    with CaptureQueriesContext(connection) as queries:
        response = api.put(f"/v1.0/agents/{target.id}/{route}", body, token=callers["admin"])

    assert response.status_code == 200
    expected = on_postgresql if connection.vendor == "postgresql" else elsewhere
    assert len(_data_statements(queries)) == expected, _data_statements(queries)
    # An agent's own change, on its phone: the same statements (other addresses: those are
    # the target's now).
    if route == "addresses":
        body = {"addresses": [{"type": "extension", "target": "8"}, {"type": "extension", "target": "9"}]}
    with CaptureQueriesContext(connection) as own:
        response = api.put(f"/v1.0/service_agents/me/{route}", body, token=callers["agent"])

    assert response.status_code == 200, response.json()
    assert len(_data_statements(own)) == expected, _data_statements(own)


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [statement for (statement,) in cursor.fetchall()]


def test_postgresql_plans_the_hot_statements_once_per_connection(api, callers, target):
    # Prepared statements (README, "Configuration"): psycopg prepares a statement on its 5th run.
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for status in ["busy", "away"] * 5:
        response = api.put(f"/v1.0/agents/{target.id}/status", {"status": status}, token=callers["admin"])
        assert response.status_code == 200

    prepared = _prepared_statements()

    for hot in [
        "FROM agents_logintoken t JOIN agents_agent a ON a.id = t.agent_id LEFT JOIN agents_agent g ON g.id",
        "WITH changed AS",
    ]:
        assert any(hot in statement for statement in prepared), (hot, prepared)


@pytest.mark.django_db(transaction=True)
def test_prepared_reads_survive_a_migration_that_adds_a_column(api, callers, target):
    # A deploy migrates while running servers keep their connections. PostgreSQL then refuses a
    # prepared `SELECT *` ("cached plan must not change result type"); the hot reads name their
    # columns, as the ORM does.
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for _ in range(6):
        assert api.get(f"/v1.0/agents/{target.id}", token=callers["admin"]).status_code == 200
    assert any("LEFT JOIN agents_agent g ON g.id" in statement for statement in _prepared_statements())

    migration = connections.create_connection(DEFAULT_DB_ALIAS)
    with migration.cursor() as cursor:
        cursor.execute("ALTER TABLE agents_agent ADD COLUMN added_by_a_later_release integer")
    try:
        response = api.get(f"/v1.0/agents/{target.id}", token=callers["admin"])
    finally:
        with migration.cursor() as cursor:
            cursor.execute("ALTER TABLE agents_agent DROP COLUMN added_by_a_later_release")
        migration.close()

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == str(target.id)


# --- agent self-service (section 9) ---------------------------------------------------------------


def test_an_agent_reads_and_updates_its_own_record(api, callers, agent_a):
    token = callers["agent"]

    assert api.get("/v1.0/service_agents/me", token=token).json()["id"] == str(agent_a.id)
    updated = api.put("/v1.0/service_agents/me", {"name": "Pat", "ring_method": "linear"}, token=token)
    assert (updated.json()["name"], updated.json()["ring_method"]) == ("Pat", "linear")


def test_an_agent_sets_its_own_status_and_addresses(api, callers, agent_a):
    token = callers["agent"]

    status = api.put("/v1.0/service_agents/me/status", {"status": "available", "reason": "back"}, token=token)
    addresses = api.put("/v1.0/service_agents/me/addresses", {"addresses": [TEL]}, token=token)

    assert status.json()["status"] == "available"
    assert addresses.json()["addresses"][0]["target"] == "+15559876543"
    assert AgentStatusChange.objects.filter(agent=agent_a, reason="back", changed_by_agent=agent_a).exists()


def test_an_agent_changes_its_own_password_with_the_old_one(api, callers, agent_a, password):
    response = api.put(
        "/v1.0/service_agents/me/password",
        {"old_password": password, "password": "brand-new"},
        token=callers["agent"],
    )

    assert response.status_code == 200
    agent_a.refresh_from_db()
    assert agent_a.check_password("brand-new")
    assert api.get("/v1.0/me", token=callers["agent"]).status_code == 401  # its tokens are revoked


@pytest.mark.parametrize("caller", ["agent", "admin"])
@pytest.mark.parametrize("old_password", [None, "wrong", 7])
def test_ones_own_password_needs_the_old_one_even_for_a_supervisor(
    api, callers, caller, old_password, unchanged_database
):
    body = (
        {"password": "brand-new"} if old_password is None else {"old_password": old_password, "password": "x"}
    )

    with unchanged_database():
        response = api.put("/v1.0/service_agents/me/password", body, token=callers[caller])

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_OLD_PASSWORD")


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/v1.0/service_agents/me", {"ring_method": "x"}, (400, "INVALID_ARGUMENT", "INVALID_RING_METHOD")),
        ("/v1.0/service_agents/me/status", {"status": "x"}, (400, "INVALID_ARGUMENT", "INVALID_STATUS")),
        (
            "/v1.0/service_agents/me/addresses",
            {"addresses": [{"type": "x"}]},
            (400, "INVALID_ARGUMENT", "INVALID_ADDRESSES"),
        ),
    ],
)
def test_rejected_self_service_inputs_change_nothing(api, callers, path, body, expected, unchanged_database):
    with unchanged_database():
        response = api.put(path, body, token=callers["agent"])

    assert error_of(response) == expected


SELF_SERVICE_ROUTES = [
    ("GET", "/v1.0/service_agents/me", None),
    ("PUT", "/v1.0/service_agents/me", {"name": "n"}),
    ("PUT", "/v1.0/service_agents/me/status", {"status": "away"}),
    ("PUT", "/v1.0/service_agents/me/addresses", {"addresses": []}),
    ("PUT", "/v1.0/service_agents/me/password", {"old_password": "secret-pass", "password": "x"}),
]


@pytest.mark.parametrize("caller", ["access_key", *UNAUTHENTICATED_CALLERS])
@pytest.mark.parametrize(("method", "path", "body"), SELF_SERVICE_ROUTES)
def test_only_an_agent_has_a_self(api, callers, method, path, body, caller, unchanged_database):
    expected = {"access_key": (403, "PERMISSION_DENIED", "AGENT_REQUIRED"), **UNAUTHENTICATED_CALLERS}[caller]
    kwargs = {} if body is None else {"body": body}

    with unchanged_database():
        response = api.call(method, path, token=callers[caller], **kwargs)

    assert error_of(response) == expected


def test_any_agent_reads_its_customers_agents(api, callers, target, admin_b):
    token = callers["agent"]

    listed = api.get("/v1.0/service_agents/agents?page_size=2", token=token)
    one = api.get(f"/v1.0/service_agents/agents/{target.id}", token=token)
    others = api.get(f"/v1.0/service_agents/agents/{admin_b.id}", token=token)

    assert listed_usernames(listed) == ["target-agent", "pat-agent"]
    assert one.json()["id"] == str(target.id)
    assert error_of(others) == (404, "NOT_FOUND", "AGENT_NOT_FOUND")


@pytest.mark.parametrize("caller", list(UNAUTHENTICATED_CALLERS))
@pytest.mark.parametrize("path", ["/v1.0/service_agents/agents", "/v1.0/service_agents/agents/{id}"])
def test_the_customers_agents_need_a_credential(api, callers, target, path, caller):
    response = api.get(path.format(id=target.id), token=callers[caller])

    assert error_of(response) == UNAUTHENTICATED_CALLERS[caller]
