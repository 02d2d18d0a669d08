"""The tags door of the REST API (contract sections 7 and 9).

Supervisors manage their customer's tags; any agent reads them through service_agents; every
refused caller and rejected input gets its documented error and changes nothing.
"""

from __future__ import annotations

import pytest

from tags.models import Tag
from tests.api_support import UNAUTHENTICATED_CALLERS, error_of
from tests.factories import make_agent, make_tag
from voipbin_admin.timestamps import UNSET_TIMESTAMP

TAG_FIELDS = ["id", "customer_id", "name", "detail", "tm_create", "tm_update", "tm_delete"]


@pytest.fixture
def tag(customer_a):
    return make_tag(customer_a.id, name="billing", detail="invoices")


SUPERVISORS = ["admin", "manager", "access_key"]


# --- collection -------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", SUPERVISORS)
def test_supervisors_create_tags_with_200(api, callers, customer_a, caller):
    response = api.post("/v1.0/tags", {"name": "Spanish", "detail": "speaks it"}, token=callers[caller])

    assert response.status_code == 200
    created = response.json()
    assert list(created) == TAG_FIELDS
    assert (created["customer_id"], created["name"], created["detail"]) == (
        str(customer_a.id),
        "Spanish",
        "speaks it",
    )
    assert (created["tm_update"], created["tm_delete"]) == (UNSET_TIMESTAMP, UNSET_TIMESTAMP)
    assert Tag.objects.filter(pk=created["id"], customer=customer_a).exists()


@pytest.mark.parametrize("caller", SUPERVISORS)
def test_supervisors_list_their_customers_live_tags_newest_first(
    api, callers, customer_a, customer_b, caller
):
    make_tag(customer_a.id, name="first")
    make_tag(customer_a.id, name="second")
    gone = make_tag(customer_a.id, name="gone")
    make_tag(customer_b.id, name="not ours")
    api.delete(f"/v1.0/tags/{gone.id}", token=callers["admin"])

    body = api.get("/v1.0/tags", token=callers[caller]).json()

    assert [tag["name"] for tag in body["result"]] == ["second", "first"]
    assert body["next_page_token"]


def test_tags_page_like_every_list(api, callers, customer_a):
    for n in range(5):
        make_tag(customer_a.id, name=f"tag-{n}")
    token = callers["admin"]

    first = api.get("/v1.0/tags?page_size=3", token=token).json()
    second = api.get(f"/v1.0/tags?page_size=3&page_token={first['next_page_token']}", token=token).json()
    past = api.get(f"/v1.0/tags?page_size=3&page_token={second['next_page_token']}", token=token).json()

    names = [tag["name"] for tag in first["result"] + second["result"]]
    assert names == ["tag-4", "tag-3", "tag-2", "tag-1", "tag-0"]
    assert past == {"result": [], "next_page_token": ""}


COLLECTION_REFUSALS = {"agent": (403, "PERMISSION_DENIED", "SUPERVISOR_REQUIRED"), **UNAUTHENTICATED_CALLERS}


@pytest.mark.parametrize("caller", list(COLLECTION_REFUSALS))
@pytest.mark.parametrize(("method", "body"), [("GET", None), ("POST", {"name": "new"})])
def test_refused_callers_neither_list_nor_create(api, callers, method, body, caller, unchanged_database):
    kwargs = {} if body is None else {"body": body}

    with unchanged_database():
        response = api.call(method, "/v1.0/tags", token=callers[caller], **kwargs)

    assert error_of(response) == COLLECTION_REFUSALS[caller]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ({"name": ""}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ({"name": "n" * 256}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ({"name": 12}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ({"name": "ok", "detail": ["x"]}, (400, "INVALID_ARGUMENT", "INVALID_DETAIL")),
        ({"name": "BILLING"}, (409, "ALREADY_EXISTS", "TAG_ALREADY_EXISTS")),
        ("billing", (400, "INVALID_ARGUMENT", "INVALID_BODY")),
    ],
)
def test_rejected_creates_create_nothing(api, callers, tag, body, expected, unchanged_database):
    with unchanged_database():
        response = api.post("/v1.0/tags", body, token=callers["admin"])

    assert error_of(response) == expected


def test_the_same_name_is_free_in_another_customer(api, callers, tag):
    response = api.post("/v1.0/tags", {"name": "billing"}, token=callers["other_customer"])

    assert response.status_code == 200


# --- one tag ----------------------------------------------------------------------------------

TAG_ROUTES = {
    "get": ("GET", None),
    "update": ("PUT", {"name": "Accounts"}),
    "delete": ("DELETE", None),
}


def call_tag_route(api, route: str, tag_id, *, token, body=None):
    method, default_body = TAG_ROUTES[route]
    body = default_body if body is None else body
    kwargs = {} if body is None else {"body": body}
    return api.call(method, f"/v1.0/tags/{tag_id}", token=token, **kwargs)


@pytest.mark.parametrize("caller", SUPERVISORS)
@pytest.mark.parametrize("route", list(TAG_ROUTES))
def test_supervisors_may_use_every_tag_route(api, callers, tag, route, caller):
    response = call_tag_route(api, route, tag.id, token=callers[caller])

    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == TAG_FIELDS
    assert body["id"] == str(tag.id)
    fresh = Tag.objects.get(pk=tag.pk)
    if route == "update":
        assert (body["name"], body["detail"]) == (fresh.name, fresh.detail) == ("Accounts", "invoices")
        assert body["tm_update"] != UNSET_TIMESTAMP
    elif route == "delete":
        assert body["tm_delete"] != UNSET_TIMESTAMP
        assert fresh.tm_delete is not None
    else:
        assert (body["name"], body["detail"]) == ("billing", "invoices")


OBJECT_REFUSALS = {
    "agent": (403, "PERMISSION_DENIED", "SUPERVISOR_REQUIRED"),
    "other_customer": (404, "NOT_FOUND", "TAG_NOT_FOUND"),
    **UNAUTHENTICATED_CALLERS,
}


@pytest.mark.parametrize("caller", list(OBJECT_REFUSALS))
@pytest.mark.parametrize("route", list(TAG_ROUTES))
def test_refused_callers_change_no_tag(api, callers, tag, route, caller, unchanged_database):
    with unchanged_database():
        response = call_tag_route(api, route, tag.id, token=callers[caller])

    assert error_of(response) == OBJECT_REFUSALS[caller]


@pytest.mark.parametrize("route", list(TAG_ROUTES))
def test_a_malformed_tag_id_is_invalid_id(api, callers, route, unchanged_database):
    with unchanged_database():
        response = call_tag_route(api, route, "12345", token=callers["admin"])

    assert error_of(response) == (400, "INVALID_ARGUMENT", "INVALID_ID")


@pytest.mark.parametrize("route", list(TAG_ROUTES))
def test_a_deleted_tag_is_not_found(api, callers, tag, route):
    api.delete(f"/v1.0/tags/{tag.id}", token=callers["admin"])

    assert error_of(call_tag_route(api, route, tag.id, token=callers["admin"])) == (
        404,
        "NOT_FOUND",
        "TAG_NOT_FOUND",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": ""}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ({"name": "n" * 256}, (400, "INVALID_ARGUMENT", "INVALID_NAME")),
        ({"detail": 3}, (400, "INVALID_ARGUMENT", "INVALID_DETAIL")),
        ({"name": "SALES"}, (409, "ALREADY_EXISTS", "TAG_ALREADY_EXISTS")),
        ([], (400, "INVALID_ARGUMENT", "INVALID_BODY")),
    ],
)
def test_rejected_updates_change_nothing(api, callers, customer_a, tag, body, expected, unchanged_database):
    make_tag(customer_a.id, name="sales")

    with unchanged_database():
        response = call_tag_route(api, "update", tag.id, token=callers["admin"], body=body)

    assert error_of(response) == expected


def test_an_update_changes_only_the_fields_sent(api, callers, tag):
    body = call_tag_route(api, "update", tag.id, token=callers["admin"], body={"detail": "new"}).json()

    assert (body["name"], body["detail"]) == ("billing", "new")


def test_deleting_a_tag_takes_it_off_every_agent(api, callers, customer_a, tag):
    tagged = make_agent(customer_a.id, tag_ids=[tag.id])

    api.delete(f"/v1.0/tags/{tag.id}", token=callers["admin"])

    assert api.get(f"/v1.0/agents/{tagged.id}", token=callers["admin"]).json()["tag_ids"] == []


# --- read-only tags for any agent (section 9) ----------------------------------------------------


@pytest.mark.parametrize("caller", ["agent", "manager", "access_key"])
def test_any_agent_reads_its_customers_tags(api, callers, tag, customer_b, caller):
    other = make_tag(customer_b.id)
    token = callers[caller]

    listed = api.get("/v1.0/service_agents/tags", token=token).json()
    one = api.get(f"/v1.0/service_agents/tags/{tag.id}", token=token)
    not_ours = api.get(f"/v1.0/service_agents/tags/{other.id}", token=token)

    assert [t["id"] for t in listed["result"]] == [str(tag.id)]
    assert one.json()["name"] == "billing"
    assert error_of(not_ours) == (404, "NOT_FOUND", "TAG_NOT_FOUND")


@pytest.mark.parametrize("caller", list(UNAUTHENTICATED_CALLERS))
@pytest.mark.parametrize("path", ["/v1.0/service_agents/tags", "/v1.0/service_agents/tags/{id}"])
def test_the_customers_tags_need_a_credential(api, callers, tag, path, caller):
    response = api.get(path.format(id=tag.id), token=callers[caller])

    assert error_of(response) == UNAUTHENTICATED_CALLERS[caller]


def test_the_tag_list_runs_the_same_queries_whatever_the_page_size(
    api, callers, customer_a, django_assert_max_num_queries
):
    for n in range(30):
        make_tag(customer_a.id, name=f"t{n}")

    for page_size in (5, 30):
        with django_assert_max_num_queries(2):  # the credential, the tags
            api.get(f"/v1.0/tags?page_size={page_size}", token=callers["admin"])
