"""The supervisor console's agent pages: thin tests of access, error mapping and resulting state.

The rules themselves are tested on the services; here we check that each page calls them, puts
their errors where a person looks, refuses whoever may not act, and stays cheap in queries.
"""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents import selectors, services
from agents.models import AccessKey, Address, Agent, AgentStatus, AgentStatusChange, Permission
from agents.permissions import SYSTEM
from tags.models import AgentTag
from tests.factories import PASSWORD, make_agent, make_bulk_agents, make_tag


@pytest.fixture
def signed_in(client):
    def sign_in(agent):
        client.force_login(agent)
        return client

    return sign_in


@pytest.fixture
def pat(agent_a):
    """A plain agent of customer A with an address and some history."""
    services.agent_replace_addresses(
        actor=SYSTEM, agent=agent_a, addresses=[{"type": "extension", "target": "2001"}]
    )
    return agent_a


def url(name, *args):
    return reverse(f"console:{name}", args=args)


# --- sign in ---------------------------------------------------------------------------------


def test_sign_in_with_username_and_password_opens_the_board(client, manager_a):
    response = client.post(url("login"), {"username": "MIKE-manager", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"]).url == url("board")


def test_wrong_password_is_refused(client, manager_a):
    response = client.post(url("login"), {"username": "mike-manager", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_repeated_failures_are_throttled_like_the_api(client, manager_a, settings):
    settings.LOGIN_THROTTLE_RATE = "2/min"
    for _ in range(2):
        assert client.post(url("login"), {"username": "mike-manager", "password": "nope"}).status_code == 200
    response = client.post(url("login"), {"username": "mike-manager", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_needs_post_and_ends_the_session(signed_in, manager_a):
    client = signed_in(manager_a)
    assert client.get(url("logout")).status_code == 405
    response = client.post(url("logout"))
    assert response.url == url("login")
    assert client.get(url("board")).status_code == 302


def test_login_form_is_csrf_protected(manager_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(url("login"), {"username": "mike-manager", "password": PASSWORD})
    assert response.status_code == 403


def test_plain_agent_home_is_its_own_page(signed_in, agent_a):
    assert signed_in(agent_a).get(url("home")).url == url("me")


def test_anonymous_is_sent_to_sign_in(client, admin_a):
    response = client.get(url("agent_detail", admin_a.id))
    assert response.status_code == 302
    assert response.url.startswith(url("login") + "?next=")


def test_anonymous_board_poll_asks_htmx_to_redirect(client, db):
    response = client.get(url("board_live"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == url("login")


# --- who may use which page ---------------------------------------------------------------------

# (url name, needs an agent id, method, data) for every supervisor page and action.
SUPERVISOR_ENDPOINTS = [
    ("board", False, "get", None),
    ("board_live", False, "get", None),
    ("agent_list", False, "get", None),
    ("agent_create", False, "get", None),
    ("agent_create", False, "post", {"username": "intruder", "password": "x"}),
    ("agent_bulk", False, "post", {"action": "delete", "confirmed": "on", "agent_ids": "TARGET"}),
    ("agent_bulk_result", False, "get", None),
    ("agent_export", False, "get", None),
    ("agent_import", False, "get", None),
    ("agent_import", False, "post", {"step": "apply", "content": "username,password\nintruder,x\n"}),
    ("accesskey_list", False, "get", None),
    ("accesskey_list", False, "post", {"name": "k", "expire_days": "30"}),
    ("tag_list", False, "get", None),
    ("tag_list", False, "post", {"name": "intruders"}),
    ("agent_detail", True, "get", None),
    ("agent_profile", True, "post", {"name": "hacked", "detail": "", "ring_method": "linear"}),
    ("agent_status", True, "post", {"status": "busy", "reason": "x"}),
    ("agent_addresses", True, "post", {"type": "tel", "target": "+15559876543"}),
    ("agent_tags", True, "post", {"tags": []}),
    ("agent_permission", True, "post", {"roles": ["64"]}),
    ("agent_password", True, "post", {"password": "new-pass", "password_again": "new-pass"}),
    ("agent_direct_hash", True, "get", None),
    ("agent_direct_hash", True, "post", {}),
    ("agent_delete", True, "get", None),
    ("agent_delete", True, "post", {}),
]


def _call(client, name, needs_id, method, data, target):
    path = url(name, target.id) if needs_id else url(name)
    if data and data.get("agent_ids") == "TARGET":
        data = {**data, "agent_ids": str(target.id)}
    return getattr(client, method)(path, data or {})


@pytest.mark.parametrize(("name", "needs_id", "method", "data"), SUPERVISOR_ENDPOINTS)
def test_plain_agent_is_refused_every_supervisor_page(
    signed_in, agent_a, manager_a, unchanged_database, name, needs_id, method, data
):
    client = signed_in(agent_a)
    with unchanged_database():
        response = _call(client, name, needs_id, method, data, manager_a)
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "needs_id", "method", "data"), SUPERVISOR_ENDPOINTS)
def test_other_customers_supervisor_sees_nothing_of_a(
    signed_in, admin_b, manager_a, unchanged_database, name, needs_id, method, data
):
    client = signed_in(admin_b)
    make_tag(manager_a.customer_id, name="a-secret-tag")
    if method == "post" and not needs_id and name != "agent_bulk":
        # Pages of B's own customer: they may write there, but never into A.
        before = Agent.objects.filter(customer_id=manager_a.customer_id).count()
        _call(client, name, needs_id, method, data, manager_a)
        assert Agent.objects.filter(customer_id=manager_a.customer_id).count() == before
        return
    with unchanged_database():
        response = _call(client, name, needs_id, method, data, manager_a)
    if needs_id:
        assert response.status_code == 404
    else:
        body = response.content.decode()
        assert "mike-manager" not in body
        assert "a-secret-tag" not in body


def test_bulk_action_on_another_customers_agent_reports_it_missing(signed_in, admin_b, manager_a):
    client = signed_in(admin_b)
    client.post(
        url("agent_bulk"), {"action": "set_status", "status": "busy", "agent_ids": [str(manager_a.id)]}
    )
    result = client.get(url("agent_bulk_result"))
    assert "AGENT_NOT_FOUND" in result.content.decode()
    manager_a.refresh_from_db()
    assert manager_a.status == AgentStatus.OFFLINE


def test_manager_may_not_open_admin_pages(signed_in, manager_a, agent_a, unchanged_database):
    client = signed_in(manager_a)
    with unchanged_database():
        assert client.get(url("accesskey_list")).status_code == 403
        # The admin bit is not among a manager's choices.
        assert client.post(url("agent_permission", agent_a.id), {"roles": ["32"]}).status_code == 400


def test_a_manager_sets_the_agent_and_manager_bits_as_the_api_lets_it(signed_in, manager_a, agent_a):
    """One rule for every door (issue #11, item 11): `permissions.permission_bits_offered`."""
    client = signed_in(manager_a)
    page = client.get(url("agent_detail", agent_a.id))
    offered = [value for value, _label in page.context["permission_form"].fields["roles"].choices]

    response = client.post(url("agent_permission", agent_a.id), {"roles": ["16", "64"]})

    assert offered == ["16", "64"]
    assert response.status_code == 302
    agent_a.refresh_from_db()
    assert agent_a.permission == 80


def test_a_manager_is_not_offered_an_admins_permission(signed_in, manager_a, admin_a, unchanged_database):
    client = signed_in(manager_a)
    assert client.get(url("agent_detail", admin_a.id)).context["permission_form"] is None

    with unchanged_database():
        response = client.post(url("agent_permission", admin_a.id), {"roles": ["16", "64"]})

    assert response.status_code == 400
    assert "admin or project super admin bit" in response.context["permission_form"].non_field_errors()[0]


def test_malformed_or_unknown_agent_id_is_404(signed_in, admin_a):
    client = signed_in(admin_a)
    assert client.get(f"/agents/{uuid.uuid4()}/").status_code == 404
    assert client.get("/agents/not-a-uuid/").status_code == 404


def test_super_admin_works_on_its_own_customer_only(signed_in, super_admin, admin_b):
    client = signed_in(super_admin)
    assert client.get(url("agent_detail", admin_b.id)).status_code == 404
    assert "bob-admin" not in client.get(url("agent_list")).content.decode()


# --- markup in names is text ----------------------------------------------------------------------


def test_names_with_markup_are_escaped_everywhere(signed_in, admin_a):
    evil = make_agent(admin_a.customer_id, username="evil", name="<script>alert('x')</script>")
    make_tag(admin_a.customer_id, name="<b>bold</b>")
    services.agent_replace_tags(actor=SYSTEM, agent=evil, tag_ids=[t.id for t in evil.customer.tags.all()])
    client = signed_in(admin_a)
    for page in (
        url("board"),
        url("board_live"),
        url("agent_list"),
        url("agent_detail", evil.id),
        url("tag_list"),
    ):
        body = client.get(page).content.decode()
        assert "<script>alert" not in body, page
        assert "<b>bold</b>" not in body, page
    assert (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
        in client.get(url("agent_detail", evil.id)).content.decode()
    )


# --- live board ---------------------------------------------------------------------------------


def test_board_shows_counts_time_in_status_and_uncovered_tags(signed_in, admin_a, agent_a):
    billing = make_tag(admin_a.customer_id, name="billing")
    vip = make_tag(admin_a.customer_id, name="vip")
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[billing.id, vip.id])
    services.agent_replace_tags(actor=SYSTEM, agent=admin_a, tag_ids=[vip.id])
    services.agent_set_status(actor=SYSTEM, agent=admin_a, status="available")
    response = signed_in(admin_a).get(url("board"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-status-count="available"' in body
    assert 'data-agent="alice-admin" data-status="available"' in body
    assert 'data-agent="pat-agent" data-status="offline"' in body
    # billing: its only agent is offline, so it stands out; vip has one available.
    assert 'class="coverage-tag is-uncovered" data-tag="billing"' in body
    assert 'class="coverage-tag" data-tag="vip"' in body
    assert "1 with nobody available" in body


def test_board_filters_by_status_tag_and_search(signed_in, admin_a, agent_a, manager_a):
    tag = make_tag(admin_a.customer_id, name="spanish")
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag.id])
    services.agent_set_status(actor=SYSTEM, agent=manager_a, status="busy")
    client = signed_in(admin_a)
    assert _board_agents(client, {"status": "busy"}) == {"mike-manager"}
    assert _board_agents(client, {"tag": str(tag.id)}) == {"pat-agent"}
    assert _board_agents(client, {"q": "ALICE"}) == {"alice-admin"}
    assert _board_agents(client, {"status": "nonsense"}) == {"alice-admin", "mike-manager", "pat-agent"}


def _board_agents(client, params):
    import re

    body = client.get(url("board_live"), params).content.decode()
    return set(re.findall(r'class="tile status-\w+" data-agent="([^"]+)"', body))


def _board_version(body: str) -> str:
    """The version a board's live part says it shows (the next poll sends it back as `v`)."""
    return body.split('name="v" value="', 1)[1].split('"', 1)[0]


def test_board_poll_answers_204_until_something_changes(signed_in, admin_a, agent_a):
    client = signed_in(admin_a)
    first = client.get(url("board_live"))
    version = _board_version(first.content.decode())
    assert client.get(url("board_live"), {"v": version}).status_code == 204
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="away")
    changed = client.get(url("board_live"), {"v": version})
    assert changed.status_code == 200
    assert 'data-agent="pat-agent" data-status="away"' in changed.content.decode()


def test_board_version_changes_on_rename_retag_and_filters(signed_in, admin_a, agent_a):
    client = signed_in(admin_a)

    def version(params=None):
        body = client.get(url("board_live"), params or {}).content.decode()
        return _board_version(body)

    seen = {version()}
    services.agent_update(actor=SYSTEM, agent=agent_a, name="Pat Renamed")
    seen.add(version())
    tag = make_tag(admin_a.customer_id, name="night")
    seen.add(version())
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag.id])
    seen.add(version())
    seen.add(version({"status": "away"}))
    assert len(seen) == 5


def _bulk_agents(customer_id, count, prefix="bulk"):
    """Many agents at once, without the services (speed); enough for query-count guards."""
    agents = make_bulk_agents(customer_id, count, prefix=prefix, name="Bulk Agent")
    tags = [make_tag(customer_id, name=f"{prefix}-tag-{i}") for i in range(3)]
    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag=tags[i % 3]) for i, agent in enumerate(agents))
    Address.objects.bulk_create(
        Address(
            customer_id=customer_id, agent=agent, position=0, type="extension", target=f"{len(prefix)}{i:05d}"
        )
        for i, agent in enumerate(agents)
    )


@pytest.mark.parametrize("page", ["board", "board_live", "agent_list", "agent_export"])
def test_pages_take_a_constant_number_of_queries(signed_in, admin_a, django_assert_max_num_queries, page):
    client = signed_in(admin_a)
    # The list's small case is over one page: a first page with no next one counts no further.
    params = {"per_page": "25"} if page == "agent_list" else {}
    _bulk_agents(admin_a.customer_id, 30 if page == "agent_list" else 10)
    client.get(url(page), params)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url(page), params).status_code == 200
    Agent.objects.filter(username__startswith="bulk-").delete()
    _bulk_agents(admin_a.customer_id, 1000, prefix="many")
    with django_assert_max_num_queries(len(small)):
        response = client.get(url(page), params)
    assert response.status_code == 200
    if page in ("board", "board_live"):
        # 1,001 agents, 200 or 201 in each status: each group shows its first tiles, counts the rest.
        import re

        body = response.content.decode()
        assert body.count('class="tile ') == 5 * selectors.BOARD_GROUP_TILES
        more = [int(n) for n in re.findall(r'data-more="(\d+)"', body)]
        assert sum(more) == 1001 - 5 * selectors.BOARD_GROUP_TILES


# --- agents list ----------------------------------------------------------------------------


def _listed(client, params=None):
    import re

    body = client.get(url("agent_list"), params or {}).content.decode()
    return re.findall(r'<tr data-agent="([^"]+)"', body)


def test_agents_list_filters_sorts_and_paginates(signed_in, admin_a, manager_a, agent_a):
    tag = make_tag(admin_a.customer_id, name="german")
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag.id])
    services.agent_update(actor=SYSTEM, agent=manager_a, ring_method="linear", detail="night shift")
    services.agent_set_status(actor=SYSTEM, agent=admin_a, status="available")
    client = signed_in(admin_a)
    assert _listed(client) == ["pat-agent", "mike-manager", "alice-admin"]
    assert _listed(client, {"status": "available"}) == ["alice-admin"]
    assert _listed(client, {"tag": str(tag.id)}) == ["pat-agent"]
    assert _listed(client, {"ring_method": "linear"}) == ["mike-manager"]
    assert _listed(client, {"permission": "64"}) == ["mike-manager"]
    assert _listed(client, {"permission": "32"}) == ["alice-admin"]
    assert _listed(client, {"q": "NIGHT"}) == ["mike-manager"]
    assert _listed(client, {"sort": "username"}) == ["alice-admin", "mike-manager", "pat-agent"]
    assert _listed(client, {"sort": "-username"}) == ["pat-agent", "mike-manager", "alice-admin"]
    assert _listed(client, {"sort": "drop table"}) == ["pat-agent", "mike-manager", "alice-admin"]
    assert _listed(client, {"sort": "username", "per_page": "25", "page": "2"}) == _listed(
        client, {"sort": "username"}
    )
    make_agent(admin_a.customer_id, username="zed", permission=0)
    assert _listed(client, {"permission": "0"}) == ["zed"]


def _page_links(body: str) -> dict[str, str]:
    import html
    import re

    return {rel: html.unescape(href) for href, rel in re.findall(r'href="([^"]*)" rel="(prev|next)"', body)}


def _follow(client, params, link):
    return client.get(url("agent_list") + link if link.startswith("?") else link, {})


def test_agents_list_pages(signed_in, admin_a):
    """Keyset pages: next, next, then previous comes back; nothing repeated or skipped."""
    _bulk_agents(admin_a.customer_id, 60)
    client = signed_in(admin_a)
    first = client.get(url("agent_list"), {"sort": "username", "per_page": "25"}).content.decode()
    second = _follow(client, {}, _page_links(first)["next"]).content.decode()
    third = _follow(client, {}, _page_links(second)["next"]).content.decode()
    back = _follow(client, {}, _page_links(third)["prev"]).content.decode()
    rows = [re.findall(r'<tr data-agent="([^"]+)"', body) for body in (first, second, third, back)]

    assert [len(r) for r in rows] == [25, 25, 11, 25]
    assert rows[0] + rows[1] + rows[2] == sorted(rows[0] + rows[1] + rows[2])
    assert len(set(rows[0] + rows[1] + rows[2])) == 61
    assert rows[3] == rows[1]
    assert "next" not in _page_links(third)
    assert "prev" not in _page_links(first)
    assert "prev" not in _page_links(_follow(client, {}, _page_links(second)["prev"]).content.decode())


@pytest.mark.parametrize(
    "sort", ["name", "-name", "status", "-status", "status_since", "-created", "created"]
)
def test_agents_list_pages_in_every_order(signed_in, admin_a, sort):
    _bulk_agents(admin_a.customer_id, 30)
    client = signed_in(admin_a)
    everyone = re.findall(
        r'<tr data-agent="([^"]+)"',
        client.get(url("agent_list"), {"sort": sort, "per_page": "200"}).content.decode(),
    )
    seen, body = [], client.get(url("agent_list"), {"sort": sort, "per_page": "25"}).content.decode()
    while True:
        seen += re.findall(r'<tr data-agent="([^"]+)"', body)
        link = _page_links(body).get("next")
        if link is None:
            break
        body = _follow(client, {}, link).content.decode()
    assert seen == everyone
    assert len(everyone) == 31


@pytest.mark.parametrize(
    "token", ["", "x", "%%%", "W10", "WyJ4Il0", "eyJhIjogMX0", "WyJ0bV9jcmVhdGUsaWQiLCAibm8iLCAibm8iXQ"]
)
def test_a_malformed_page_token_gives_the_first_page(signed_in, admin_a, token):
    _bulk_agents(admin_a.customer_id, 30)
    client = signed_in(admin_a)
    first = _listed(client, {"per_page": "25"})
    assert _listed(client, {"per_page": "25", "after": token}) == first
    assert _listed(client, {"per_page": "25", "before": token}) == first


def test_the_per_page_select_shows_the_page_size_listed(signed_in, admin_a):
    _bulk_agents(admin_a.customer_id, 60)
    client = signed_in(admin_a)
    body = client.get(url("agent_list")).content.decode()
    assert len(re.findall(r'<tr data-agent="', body)) == 50
    assert '<option value="50" selected>' in body
    body = client.get(url("agent_list"), {"per_page": "7"}).content.decode()
    assert len(re.findall(r'<tr data-agent="', body)) == 50
    assert '<option value="50" selected>' in body


def test_the_list_count_stops_at_its_limit(signed_in, admin_a, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_COUNT_LIMIT", 40)
    _bulk_agents(admin_a.customer_id, 60)
    client = signed_in(admin_a)
    assert '<span class="head-count">40+</span>' in client.get(url("agent_list")).content.decode()
    assert (
        '<span class="head-count">11</span>'
        in client.get(url("agent_list"), {"q": "Bulk Agent 1"}).content.decode()
    )


def _hrefs(body: str, pattern: str) -> list[str]:
    import html
    import re

    return [html.unescape(href) for href in re.findall(pattern, body)]


def test_sort_and_page_links_keep_the_other_parameters(signed_in, admin_a):
    _bulk_agents(admin_a.customer_id, 60)
    client = signed_in(admin_a)
    first = client.get(url("agent_list"), {"q": "bulk", "sort": "name", "per_page": "25"}).content.decode()
    body = _follow(client, {}, _page_links(first)["next"]).content.decode()

    sort_links = _hrefs(body, r'<th><a href="([^"]*)" class="sort')
    assert sort_links == [
        "?q=bulk&sort=-name&per_page=25",  # the current sort turns around; back to the first page
        "?q=bulk&sort=username&per_page=25",
        "?q=bulk&sort=status&per_page=25",
        "?q=bulk&sort=status_since&per_page=25",
    ]
    links = _page_links(body)
    assert links["prev"].startswith("?q=bulk&sort=name&per_page=25&before=")
    assert links["next"].startswith("?q=bulk&sort=name&per_page=25&after=")


def test_the_wall_mode_link_keeps_the_board_filters(signed_in, admin_a):
    client = signed_in(admin_a)
    pattern = r'href="([^"]*)" data-wall-toggle'
    board = client.get(url("board"), {"q": "pat", "status": "busy"}).content.decode()
    wall = client.get(url("board"), {"q": "pat", "status": "busy", "wall": "1"}).content.decode()
    assert _hrefs(board, pattern) == ["?q=pat&status=busy&wall=1"]
    assert _hrefs(wall, pattern) == ["?q=pat&status=busy"]


# --- bulk actions ------------------------------------------------------------------------------


def test_bulk_set_status_reports_each_agent(signed_in, admin_a, manager_a, agent_a):
    client = signed_in(admin_a)
    response = client.post(
        url("agent_bulk"),
        {
            "action": "set_status",
            "status": "available",
            "reason": "shift start",
            "agent_ids": [manager_a.id, agent_a.id],
        },
    )
    assert response.url == url("agent_bulk_result")
    body = client.get(response.url).content.decode()
    assert "Set status: 2 done" in body
    assert AgentStatusChange.objects.filter(to_status="available", reason="shift start").count() == 2
    assert client.get(url("agent_bulk_result")).url == url("agent_list")  # shown once


def test_bulk_tag_add_and_remove(signed_in, admin_a, manager_a, agent_a):
    tag = make_tag(admin_a.customer_id, name="sales")
    client = signed_in(admin_a)
    client.post(
        url("agent_bulk"), {"action": "add_tag", "tag": str(tag.id), "agent_ids": [manager_a.id, agent_a.id]}
    )
    assert set(AgentTag.objects.filter(tag=tag).values_list("agent__username", flat=True)) == {
        "mike-manager",
        "pat-agent",
    }
    client.post(url("agent_bulk"), {"action": "remove_tag", "tag": str(tag.id), "agent_ids": [agent_a.id]})
    assert set(AgentTag.objects.filter(tag=tag).values_list("agent__username", flat=True)) == {"mike-manager"}


def test_bulk_delete_asks_first_then_reports_the_last_admin(signed_in, admin_a, agent_a, unchanged_database):
    client = signed_in(admin_a)
    data = {"action": "delete", "agent_ids": [admin_a.id, agent_a.id]}
    with unchanged_database():
        confirm = client.post(url("agent_bulk"), data)
    assert confirm.status_code == 200
    assert "Delete 2 agents?" in confirm.content.decode()
    client.post(url("agent_bulk"), {**data, "confirmed": "on"})
    body = client.get(url("agent_bulk_result")).content.decode()
    assert "1 done, 1 failed" in body
    assert "LAST_ADMIN" in body
    assert Agent.objects.get(pk=agent_a.pk).tm_delete is not None
    assert Agent.objects.get(pk=admin_a.pk).tm_delete is None


def test_bulk_without_selection_or_status_changes_nothing(signed_in, admin_a, agent_a, unchanged_database):
    client = signed_in(admin_a)
    with unchanged_database():
        assert client.post(url("agent_bulk"), {"action": "set_status", "status": "busy"}).status_code == 302
        client.post(url("agent_bulk"), {"action": "set_status", "agent_ids": [agent_a.id]})
        client.post(url("agent_bulk"), {"action": "set_status", "status": "busy", "agent_ids": ["junk"]})


# --- create -----------------------------------------------------------------------------------


def test_create_agent(signed_in, admin_a):
    tag = make_tag(admin_a.customer_id, name="english")
    client = signed_in(admin_a)
    response = client.post(
        url("agent_create"),
        {
            "username": "new-one",
            "password": "pw",
            "name": "New One",
            "ring_method": "linear",
            "roles": ["16", "64"],
            "tags": [str(tag.id)],
        },
    )
    agent = Agent.objects.get(username="new-one")
    assert response.url == url("agent_detail", agent.id)
    assert agent.permission == 80
    assert agent.ring_method == "linear"
    assert list(agent.tag_links.values_list("tag_id", flat=True)) == [tag.id]
    assert agent.check_password("pw")


def test_create_agent_errors_go_next_to_their_field(signed_in, manager_a, unchanged_database):
    client = signed_in(manager_a)
    with unchanged_database():
        taken = client.post(
            url("agent_create"), {"username": "ALICE-admin", "password": "pw", "ring_method": "ringall"}
        )
        spaced = client.post(
            url("agent_create"), {"username": "two words", "password": "pw", "ring_method": "ringall"}
        )
        admin = client.post(
            url("agent_create"),
            {"username": "boss", "password": "pw", "ring_method": "ringall", "roles": ["32"]},
        )
    assert taken.status_code == 400
    assert "already exists" in taken.context["form"].errors["username"][0]
    assert "no spaces" in spaced.context["form"].errors["username"][0]
    assert "Only an admin" in admin.context["form"].non_field_errors()[0]


# --- agent page --------------------------------------------------------------------------------


def test_agent_page_shows_profile_history_and_direct_uri(signed_in, admin_a, pat):
    services.agent_set_status(actor=admin_a, agent=pat, status="away", reason="lunch break")
    response = signed_in(admin_a).get(url("agent_detail", pat.id))
    body = response.content.decode()
    assert response.status_code == 200
    assert pat.direct_sip_uri.replace("@", "<wbr>@") in body  # it may wrap before its @ only
    assert "lunch break" in body
    assert "by <b>alice-admin</b>" in body
    assert 'value="2001"' in body


def test_profile_update(signed_in, manager_a, agent_a):
    client = signed_in(manager_a)
    response = client.post(
        url("agent_profile", agent_a.id), {"name": "Pat", "detail": "day", "ring_method": "linear"}
    )
    assert response.status_code == 302
    agent_a.refresh_from_db()
    assert (agent_a.name, agent_a.detail, agent_a.ring_method) == ("Pat", "day", "linear")


def test_profile_too_long_name_is_a_field_error(signed_in, manager_a, agent_a, unchanged_database):
    client = signed_in(manager_a)
    with unchanged_database():
        response = client.post(
            url("agent_profile", agent_a.id), {"name": "x" * 256, "detail": "", "ring_method": "ringall"}
        )
    assert response.status_code == 400
    assert "at most 255" in response.context["profile_form"].errors["name"][0]


def test_status_change_with_reason_is_recorded(signed_in, manager_a, agent_a):
    client = signed_in(manager_a)
    response = client.post(url("agent_status", agent_a.id), {"status": "busy", "reason": "on a call"})
    assert response.status_code == 302
    change = AgentStatusChange.objects.filter(agent=agent_a).first()
    assert (change.from_status, change.to_status, change.reason, change.changed_by_agent) == (
        "offline",
        "busy",
        "on a call",
        manager_a,
    )


def test_status_reason_too_long_is_refused(signed_in, manager_a, agent_a, unchanged_database):
    client = signed_in(manager_a)
    with unchanged_database():
        response = client.post(url("agent_status", agent_a.id), {"status": "busy", "reason": "r" * 300})
    assert response.status_code == 400
    assert "at most 255" in response.context["status_form"].errors["reason"][0]


def test_addresses_save_all_in_order(signed_in, manager_a, pat):
    client = signed_in(manager_a)
    response = client.post(
        url("agent_addresses", pat.id),
        {
            "type": ["sip", "tel", "extension", "tel"],
            "target": ["sip:Pat@SIP.Example.com", "+1 (555) 987-6543", "", "  "],
            "target_name": ["", "", "", ""],
            "name": ["desk", "mobile", "", ""],
            "detail": ["", "", "", ""],
        },
    )
    assert response.status_code == 302
    assert [(a.type, a.target, a.name) for a in pat.addresses.order_by("position")] == [
        ("sip", "Pat@sip.example.com", "desk"),
        ("tel", "+15559876543", "mobile"),
    ]


def test_invalid_address_is_shown_on_its_row_and_nothing_is_saved(
    signed_in, manager_a, pat, unchanged_database
):
    client = signed_in(manager_a)
    with unchanged_database():
        response = client.post(
            url("agent_addresses", pat.id),
            {
                "type": ["tel", "extension", "tel", "sip"],
                "target": ["+15559876543", "", "12ab", "nobody"],
                "target_name": ["", "", "", ""],
                "name": ["", "", "", ""],
                "detail": ["", "", "", ""],
            },
        )
    assert response.status_code == 400
    rows = response.context["addresses"].rows
    assert [row.errors for row in rows] == [
        {},
        {},
        {"target": "must be a phone number in E.164 format, e.g. +15559876543"},
        {"target": "must be user@domain"},
    ]
    body = response.content.decode()
    assert 'value="12ab"' in body  # what was typed stays, to be fixed
    assert "Nothing was saved" in body


def test_address_of_another_agent_is_refused_on_its_row(
    signed_in, manager_a, pat, admin_a, unchanged_database
):
    client = signed_in(manager_a)
    with unchanged_database():
        response = client.post(
            url("agent_addresses", admin_a.id),
            {
                "type": ["tel", "extension"],
                "target": ["+15550001111", "2001"],
                "target_name": ["", ""],
                "name": ["", ""],
                "detail": ["", ""],
            },
        )
    assert response.status_code == 400
    rows = response.context["addresses"].rows
    assert rows[1].errors == {"target": "is already assigned to another agent"}
    assert rows[0].errors == {}


def test_address_check_uses_the_contract_rule(signed_in, agent_a):
    client = signed_in(agent_a)
    assert (
        "Will be saved as +15559876543"
        in client.post(url("address_check"), {"type": "tel", "target": "+1 555 987 6543"}).content.decode()
    )
    assert (
        "E.164" in client.post(url("address_check"), {"type": "tel", "target": "5559876543"}).content.decode()
    )
    assert (
        "digits" in client.post(url("address_check"), {"type": "extension", "target": "12a"}).content.decode()
    )
    assert (
        "Looks right"
        in client.post(url("address_check"), {"type": "sip", "target": "a@b.example"}).content.decode()
    )


def test_tags_permission_and_password(signed_in, admin_a, agent_a):
    tag = make_tag(admin_a.customer_id, name="vip")
    client = signed_in(admin_a)
    client.post(url("agent_tags", agent_a.id), {"tags": [str(tag.id)]})
    client.post(url("agent_permission", agent_a.id), {"roles": ["16", "64"]})
    client.post(url("agent_password", agent_a.id), {"password": "fresh-pass", "password_again": "fresh-pass"})
    agent_a.refresh_from_db()
    assert list(agent_a.tag_links.values_list("tag_id", flat=True)) == [tag.id]
    assert agent_a.permission == 80
    assert agent_a.check_password("fresh-pass")


def test_last_admin_cannot_drop_its_admin_bit(signed_in, admin_a, unchanged_database):
    client = signed_in(admin_a)
    with unchanged_database():
        response = client.post(url("agent_permission", admin_a.id), {"roles": ["64"]})
    assert response.status_code == 400
    assert "at least one admin" in response.context["permission_form"].non_field_errors()[0]


def test_an_admin_may_not_change_a_super_admins_permission(
    signed_in, admin_a, super_admin, unchanged_database
):
    client = signed_in(admin_a)
    assert client.get(url("agent_detail", super_admin.id)).context["permission_form"] is None

    with unchanged_database():
        response = client.post(url("agent_permission", super_admin.id), {"roles": ["32", "64"]})

    assert response.status_code == 400
    super_admin.refresh_from_db()
    assert super_admin.permission == Permission.PROJECT_SUPER_ADMIN | 32


def test_password_mismatch_changes_nothing(signed_in, admin_a, agent_a, unchanged_database):
    client = signed_in(admin_a)
    with unchanged_database():
        response = client.post(url("agent_password", agent_a.id), {"password": "a", "password_again": "b"})
    assert response.status_code == 400


def test_changing_own_password_needs_the_current_one_and_keeps_the_session(signed_in, admin_a):
    client = signed_in(admin_a)
    new = {"password": "mine-new", "password_again": "mine-new"}

    refused = client.post(url("agent_password", admin_a.id), new)
    wrong = client.post(url("agent_password", admin_a.id), {**new, "old_password": "nope"})
    changed = client.post(url("agent_password", admin_a.id), {**new, "old_password": PASSWORD})

    assert refused.status_code == wrong.status_code == 400
    assert "does not match" in wrong.context["password_form"].errors["old_password"][0]
    assert changed.status_code == 302
    admin_a.refresh_from_db()
    assert admin_a.check_password("mine-new")
    assert client.get(url("board")).status_code == 200


def test_regenerate_direct_hash_asks_then_replaces_it(signed_in, manager_a, agent_a, unchanged_database):
    client = signed_in(manager_a)
    old = agent_a.direct_hash
    with unchanged_database():
        assert "stops working at once" in client.get(url("agent_direct_hash", agent_a.id)).content.decode()
    client.post(url("agent_direct_hash", agent_a.id))
    agent_a.refresh_from_db()
    assert agent_a.direct_hash != old
    assert len(agent_a.direct_hash) == 12


def test_delete_agent_asks_first(signed_in, manager_a, agent_a, unchanged_database):
    client = signed_in(manager_a)
    with unchanged_database():
        assert client.get(url("agent_delete", agent_a.id)).status_code == 200
    assert client.post(url("agent_delete", agent_a.id)).url == url("agent_list")
    assert Agent.objects.get(pk=agent_a.pk).tm_delete is not None
    assert client.get(url("agent_detail", agent_a.id)).status_code == 404


# --- the plain agent's own page ------------------------------------------------------------------


def test_plain_agent_sets_its_own_status_and_addresses(signed_in, pat):
    client = signed_in(pat)
    page = client.get(url("me"))
    assert page.status_code == 200
    assert "2001" in page.content.decode()
    client.post(url("me_status"), {"status": "available", "reason": "ready"})
    client.post(
        url("me_addresses"),
        {
            "type": ["extension", "tel"],
            "target": ["2001", "+4930123456"],
            "target_name": ["", ""],
            "name": ["", ""],
            "detail": ["", ""],
        },
    )
    pat.refresh_from_db()
    assert pat.status == "available"
    assert [a.target for a in pat.addresses.order_by("position")] == ["2001", "+4930123456"]


def test_plain_agent_own_page_shows_errors_inline(signed_in, pat, unchanged_database):
    client = signed_in(pat)
    with unchanged_database():
        response = client.post(
            url("me_addresses"),
            {"type": ["tel"], "target": ["nope"], "target_name": [""], "name": [""], "detail": [""]},
        )
    assert response.status_code == 400
    assert response.context["addresses"].rows[0].errors


# --- CSV -------------------------------------------------------------------------------------


def _csv_rows(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_export_has_the_columns_and_follows_the_filters(signed_in, admin_a, pat):
    tag = make_tag(admin_a.customer_id, name="billing")
    services.agent_replace_tags(actor=SYSTEM, agent=pat, tag_ids=[tag.id])
    services.agent_update(actor=SYSTEM, agent=pat, name="=HYPERLINK(1)")
    client = signed_in(admin_a)
    response = client.get(url("agent_export"), {"sort": "username"})
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    assert list(rows[0]) == [
        "username",
        "name",
        "detail",
        "ring_method",
        "status",
        "permission",
        "tags",
        "addresses",
    ]
    assert [row["username"] for row in rows] == ["alice-admin", "pat-agent"]
    assert rows[1]["tags"] == "billing"
    assert rows[1]["addresses"] == "extension:2001"
    assert rows[1]["name"] == "'=HYPERLINK(1)"  # not a formula in a spreadsheet
    assert [row["username"] for row in _csv_rows(client.get(url("agent_export"), {"tag": str(tag.id)}))] == [
        "pat-agent"
    ]


def _import(client, text, step="preview"):
    if step == "preview":
        upload = io.BytesIO(text.encode())
        upload.name = "agents.csv"
        return client.post(url("agent_import"), {"step": "preview", "file": upload})
    return client.post(url("agent_import"), {"step": "apply", "content": text})


def test_import_preview_changes_nothing_and_apply_does_it_all(
    signed_in, admin_a, pat, unchanged_database, run_tasks
):
    make_tag(admin_a.customer_id, name="billing")
    client = signed_in(admin_a)
    text = (
        "username,name,status,tags,addresses,password\n"
        "pat-agent,Pat Renamed,available,billing,extension:2001;tel:+15559876543,\n"
        "newbie,New Person,,,sip:newbie@sip.example.com,pw\n"
        "alice-admin,Customer A admin,,,,\n"
    )
    with unchanged_database():
        preview = _import(client, text)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert [(r.username, r.action) for r in result.rows] == [
        ("pat-agent", "update"),
        ("newbie", "create"),
        ("alice-admin", "unchanged"),
    ]
    assert "name: 'Pat' → 'Pat Renamed'" not in result.rows[0].changes  # Pat had no name
    assert "status: offline → available" in result.rows[0].changes
    applied = _import(client, text, step="apply")
    assert applied.url.startswith(url("agent_import"))
    run_tasks()
    assert "Import applied: 1 created, 1 updated, 1 unchanged" in client.get(applied.url).content.decode()
    pat.refresh_from_db()
    assert (pat.name, pat.status) == ("Pat Renamed", "available")
    assert [a.target for a in pat.addresses.order_by("position")] == ["2001", "+15559876543"]
    assert Agent.objects.get(username="newbie").addresses.get().target == "newbie@sip.example.com"


def test_import_reports_row_errors_and_applies_nothing(
    signed_in, admin_a, pat, unchanged_database, run_tasks
):
    client = signed_in(admin_a)
    text = (
        "username,name,status,tags,addresses,password\n"
        "pat-agent,Pat,available,,extension:2001,\n"
        "newbie,New,,nosuchtag,,pw\n"
        "nopass,,,,,\n"
        "bad-address,,,,tel:12ab,pw\n"
        "PAT-agent,,,,,\n"
        "taken,,,,extension:2001,pw\n"
    )
    with unchanged_database():
        preview = _import(client, text)
    assert preview.status_code == 400
    rows = {r.username: r for r in preview.context["result"].rows}
    assert rows["pat-agent"].action == "update"
    assert rows["newbie"].errors == ["tags: no tag named 'nosuchtag'"]
    assert "password" in rows["nopass"].errors[0]
    assert "address tel:12ab" in rows["bad-address"].errors[0]
    assert "already on line 2" in rows["PAT-agent"].errors[0]
    assert "already assigned" in rows["taken"].errors[0]
    applied = _import(client, text, step="apply")
    run_tasks()
    assert "Not applied: nothing was saved" in client.get(applied.url).content.decode()
    pat.refresh_from_db()
    assert pat.status == "offline"
    assert not Agent.objects.filter(username__in=["newbie", "taken"]).exists()


def test_import_rejects_unknown_columns_and_bad_files(signed_in, admin_a, unchanged_database):
    client = signed_in(admin_a)
    with unchanged_database():
        assert "Unknown columns: colour" in _import(client, "username,colour\nx,red\n").content.decode()
        assert "needs a &#x27;username&#x27; column" in _import(client, "name\nx\n").content.decode()
        assert "no rows" in _import(client, "username\n").content.decode()
        upload = io.BytesIO(b"\xff\xfe\x00bad")
        upload.name = "agents.csv"
        assert (
            "not UTF-8"
            in client.post(url("agent_import"), {"step": "preview", "file": upload}).content.decode()
        )
        assert client.post(url("agent_import"), {"step": "preview"}).status_code == 400


def test_csv_round_trip_changes_nothing(signed_in, admin_a, pat, manager_a):
    tag = make_tag(admin_a.customer_id, name="a;b")
    services.agent_replace_tags(actor=SYSTEM, agent=manager_a, tag_ids=[tag.id])
    services.agent_update(actor=SYSTEM, agent=manager_a, name="-dash name")
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=manager_a,
        addresses=[{"type": "tel", "target": "+15551112222", "name": "kept name"}],
    )
    client = signed_in(admin_a)
    exported = client.get(url("agent_export")).content.decode()
    preview = _import(client, exported)
    assert [r.action for r in preview.context["result"].rows if r.username != "mike-manager"] == [
        "unchanged"
    ] * 2
    # A tag whose name holds the separator cannot be named in a cell; it is reported, not guessed.
    assert any(
        "no tag named 'a'" in e
        for e in next(r for r in preview.context["result"].rows if r.username == "mike-manager").errors
    )


# --- access keys ------------------------------------------------------------------------------


def test_access_key_is_shown_once_then_only_its_prefix(signed_in, admin_a):
    client = signed_in(admin_a)
    response = client.post(
        url("accesskey_list"), {"name": "crm", "detail": "", "expire_days": "30"}, follow=True
    )
    key = AccessKey.objects.get(name="crm")
    body = response.content.decode()
    token = body.split("data-new-key>", 1)[1].split("<", 1)[0]
    assert token.startswith("vb_")
    assert token[:11] == key.token_prefix
    assert (key.tm_expire - key.tm_create).days == 30
    again = client.get(url("accesskey_list")).content.decode()
    assert token not in again
    assert key.token_prefix + "…" in again


def test_access_key_lifetime_below_a_day_is_refused(signed_in, admin_a, unchanged_database):
    client = signed_in(admin_a)
    with unchanged_database():
        response = client.post(url("accesskey_list"), {"name": "x", "expire_days": "0"})
    assert response.status_code == 400


def test_revoke_access_key(signed_in, admin_a, admin_b, unchanged_database):
    key, _ = services.access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="old")
    other, _ = services.access_key_create(actor=admin_b, customer_id=admin_b.customer_id, name="theirs")
    client = signed_in(admin_a)
    with unchanged_database():
        assert client.get(url("accesskey_revoke", key.id)).status_code == 200
        assert client.post(url("accesskey_revoke", other.id)).status_code == 404
    client.post(url("accesskey_revoke", key.id))
    key.refresh_from_db()
    assert key.tm_delete is not None


def test_import_applies_the_text_it_previewed_whatever_the_line_breaks(
    signed_in, admin_a, agent_a, run_tasks
):
    services.agent_update(actor=SYSTEM, agent=agent_a, detail="line one\nline two")
    client = signed_in(admin_a)
    exported = client.get(url("agent_export")).content.decode()
    as_a_browser_posts_it = exported.replace("\r\n", "\n").replace("\n", "\r\n")
    preview = _import(client, as_a_browser_posts_it)
    assert {r.action for r in preview.context["result"].rows} == {"unchanged"}
    assert 'name="content" hidden aria-hidden="true">\n' in preview.content.decode()
    assert _import(client, as_a_browser_posts_it, step="apply").status_code == 302
    run_tasks()
    agent_a.refresh_from_db()
    assert agent_a.detail == "line one\nline two"


# --- messages: each shown once, where the eye is, none dropped ---------------------------------


def test_a_sections_message_is_shown_in_its_section(signed_in, admin_a, agent_a):
    client = signed_in(admin_a)
    response = client.post(url("agent_status", agent_a.id), {"status": "busy"}, follow=True)
    body = response.content.decode()
    assert body.count("Status changed from offline to busy.") == 1
    section = body[body.index('id="status"') : body.index('id="addresses"')]
    assert "Status changed from offline to busy." in section


def test_a_sections_message_is_shown_on_a_page_without_that_section(signed_in, admin_a, agent_a):
    client = signed_in(admin_a)
    client.post(url("agent_status", agent_a.id), {"status": "busy"})  # its redirect not followed
    assert "Status changed from offline to busy." in client.get(url("agent_list")).content.decode()


def test_the_permission_message_is_shown_when_the_section_is_gone(signed_in, admin_a, agent_a):
    services.agent_set_permission(actor=SYSTEM, agent=agent_a, permission=Permission.CUSTOMER_ADMIN)
    client = signed_in(admin_a)
    # An admin makes itself a plain agent: its own page back in the console is the 403 page.
    response = client.post(url("agent_permission", admin_a.id), {"roles": ["16"]}, follow=True)
    assert response.status_code == 403
    assert "Permission saved." in response.content.decode()


# --- restyled markup keeps its roles (WebKit drops a table's semantics under display: block) ---


def _parts_without_role(html: str, tag: str, role: str) -> list[str]:
    return [part for part in re.findall(rf"<{tag}\b[^>]*>", html) if f'role="{role}"' not in part]


def test_tables_drawn_as_cards_on_a_phone_say_their_roles(signed_in, admin_a, agent_a):
    make_tag(admin_a.customer_id, name="vip")
    services.access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="crm")
    client = signed_in(admin_a)
    for page in ("tag_list", "accesskey_list"):
        body = client.get(url(page)).content.decode()
        tables = re.findall(r'<table[^>]*class="table table-cards.*?</table>', body, re.S)
        assert tables, page
        for html in tables:
            assert 'role="table"' in html.split(">", 1)[0], page
            for tag, role in (("tr", "row"), ("th", "columnheader"), ("td", "cell")):
                assert _parts_without_role(html, tag, role) == [], (page, tag)


def test_the_walls_groups_and_tiles_say_their_roles(signed_in, admin_a, agent_a):
    body = signed_in(admin_a).get(url("board") + "?wall=1").content.decode()
    assert re.findall(r'<section class="status-group[^>]*>', body)
    assert _parts_without_role(body, 'section class="status-group', "region") == []
    assert _parts_without_role(body, 'ul class="tiles"', "list") == []
    assert _parts_without_role(body, 'li class="tile ', "listitem") == []


def test_the_admin_site_keeps_djangos_base_site_with_the_favicon(client):
    body = client.get("/admin/login/").content.decode()
    assert body.count("favicon.svg") == 1
    assert 'id="site-name"' in body  # Django's own branding block, extended, not copied
