"""The console's tag pages: counts, create, rename, delete, and who may use them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents import services
from agents.permissions import SYSTEM
from tags.models import AgentTag, Tag
from tests.factories import make_tag


@pytest.fixture
def billing(admin_a, agent_a, manager_a):
    tag = make_tag(admin_a.customer_id, name="billing")
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[tag.id])
    services.agent_replace_tags(actor=SYSTEM, agent=manager_a, tag_ids=[tag.id])
    services.agent_set_status(actor=SYSTEM, agent=manager_a, status="available")
    return tag


def url(name, *args):
    return reverse(f"console:{name}", args=args)


def test_tag_list_shows_agent_and_available_counts(client, admin_a, billing):
    make_tag(admin_a.customer_id, name="empty")
    client.force_login(admin_a)
    tags = {tag.name: tag for tag in client.get(url("tag_list")).context["tags"]}
    assert (tags["billing"].agent_count, tags["billing"].available_count) == (2, 1)
    assert (tags["empty"].agent_count, tags["empty"].available_count) == (0, 0)


def test_create_and_duplicate_name(client, manager_a, unchanged_database):
    client.force_login(manager_a)
    assert client.post(url("tag_list"), {"name": "vip", "detail": "big customers"}).url == url("tag_list")
    assert Tag.objects.get(name="vip").detail == "big customers"
    with unchanged_database():
        response = client.post(url("tag_list"), {"name": "VIP"})
    assert response.status_code == 400
    assert "already exists" in response.context["form"].errors["name"][0]


def test_rename(client, manager_a, billing):
    client.force_login(manager_a)
    assert client.get(url("tag_edit", billing.id)).status_code == 200
    client.post(url("tag_edit", billing.id), {"name": "invoices", "detail": ""})
    billing.refresh_from_db()
    assert billing.name == "invoices"


def test_delete_says_how_many_agents_lose_it(client, manager_a, billing, unchanged_database):
    client.force_login(manager_a)
    with unchanged_database():
        confirm = client.get(url("tag_delete", billing.id))
    assert 'data-affected="2"' in confirm.content.decode()
    response = client.post(url("tag_delete", billing.id), follow=True)
    assert "taken off 2 agents" in response.content.decode()
    assert not AgentTag.objects.filter(tag=billing).exists()
    assert client.get(url("tag_edit", billing.id)).status_code == 404


@pytest.mark.parametrize(
    ("name", "method", "data"),
    [
        ("tag_edit", "get", None),
        ("tag_edit", "post", {"name": "stolen"}),
        ("tag_delete", "get", None),
        ("tag_delete", "post", {}),
    ],
)
def test_other_customer_and_plain_agent_are_refused(
    client, admin_b, agent_a, billing, unchanged_database, name, method, data
):
    client.force_login(admin_b)
    with unchanged_database():
        assert getattr(client, method)(url(name, billing.id), data or {}).status_code == 404
    client.force_login(agent_a)
    with unchanged_database():
        assert getattr(client, method)(url(name, billing.id), data or {}).status_code == 403


def test_plain_agent_cannot_list_or_create_tags(client, agent_a, unchanged_database):
    client.force_login(agent_a)
    with unchanged_database():
        assert client.get(url("tag_list")).status_code == 403
        assert client.post(url("tag_list"), {"name": "mine"}).status_code == 403


def test_tag_names_with_markup_are_escaped(client, admin_a):
    make_tag(admin_a.customer_id, name="<img src=x onerror=alert(1)>")
    client.force_login(admin_a)
    body = client.get(url("tag_list")).content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
