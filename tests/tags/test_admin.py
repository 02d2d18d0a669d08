"""Tags in the admin site: pages load, writes go through tags.services, deletion is soft."""

from __future__ import annotations

import pytest

from agents import services as agent_services
from agents.models import AgentEvent, AgentEventType
from agents.permissions import SYSTEM
from tags.models import AgentTag, Tag
from tests.agents.test_admin import (
    admin_url,
    form_errors,
    messages_of,
    page_form_data,
    query_count,
    run_action,
)
from tests.factories import make_agent, make_tag


@pytest.fixture
def tag_a(customer_a):
    return make_tag(customer_a.id, name="billing", detail="invoices")


def test_changelist_search_add_and_change_pages_load(operator, tag_a):
    assert operator.get(admin_url(Tag, "changelist")).status_code == 200
    search = operator.get(admin_url(Tag, "changelist"), {"q": "bill"})
    assert [tag.name for tag in search.context["cl"].result_list] == ["billing"]
    assert operator.get(admin_url(Tag, "add")).status_code == 200
    assert operator.get(admin_url(Tag, "change", tag_a.pk)).status_code == 200


def test_changelist_counts_live_agents_with_constant_queries(operator, customer_a, tag_a):
    for _ in range(3):
        make_agent(customer_a.id, tag_ids=[tag_a.id])
    url = admin_url(Tag, "changelist")
    few = query_count(operator, url)
    agent_services.agent_delete(actor=SYSTEM, agent=make_agent(customer_a.id, tag_ids=[tag_a.id]))
    for _ in range(20):
        make_agent(customer_a.id, tag_ids=[make_tag(customer_a.id).id])

    assert query_count(operator, url) == few
    response = operator.get(url, {"q": "billing"})
    assert [tag.agent_count for tag in response.context["cl"].result_list] == [3]


def test_adding_a_tag_goes_through_tag_create(operator, customer_a):
    response = operator.post(
        admin_url(Tag, "add"), {"customer": str(customer_a.pk), "name": "vip", "detail": "x"}
    )

    assert response.status_code == 302
    tag = Tag.objects.get(name="vip")
    assert (tag.customer_id, tag.detail, tag.tm_delete) == (customer_a.id, "x", None)


def test_a_duplicate_tag_name_shows_the_error_and_changes_nothing(
    operator, customer_a, tag_a, unchanged_database
):
    with unchanged_database():
        response = operator.post(admin_url(Tag, "add"), {"customer": str(customer_a.pk), "name": "BILLING"})

    assert response.status_code == 200
    assert form_errors(response)["name"] == ["A tag named 'BILLING' already exists."]


def test_the_same_name_in_another_customer_is_fine(operator, admin_b, tag_a):
    response = operator.post(admin_url(Tag, "add"), {"customer": str(admin_b.customer_id), "name": "billing"})

    assert response.status_code == 302
    assert Tag.objects.filter(name="billing").count() == 2


def test_renaming_a_tag_goes_through_tag_update(operator, customer_a, tag_a, unchanged_database):
    make_tag(customer_a.id, name="sales")
    url = admin_url(Tag, "change", tag_a.pk)
    data = page_form_data(operator.get(url))

    with unchanged_database():
        taken = operator.post(url, {**data, "name": "Sales"})
    assert form_errors(taken)["name"]

    assert operator.post(url, {**data, "name": "accounts"}).status_code == 302
    tag_a.refresh_from_db()
    assert (tag_a.name, tag_a.detail) == ("accounts", "invoices")
    assert tag_a.tm_update is not None


def test_delete_page_soft_deletes_and_takes_the_tag_off_every_agent(operator, customer_a, tag_a):
    agent = make_agent(customer_a.id, tag_ids=[tag_a.id])
    url = admin_url(Tag, "delete", tag_a.pk)
    assert operator.get(url).context["deleted_objects"] == ["billing"]

    response = operator.post(url, {"post": "yes"})

    assert response.status_code == 302
    tag_a.refresh_from_db()
    assert tag_a.tm_delete is not None
    assert not AgentTag.objects.filter(tag=tag_a).exists()
    event = AgentEvent.objects.filter(agent=agent).order_by("-id").first()
    assert (event.type, event.data["tag_ids"]) == (AgentEventType.UPDATED, [])
    # A deleted tag is shown read-only and cannot be deleted again.
    assert operator.get(admin_url(Tag, "change", tag_a.pk)).status_code == 200
    assert operator.post(admin_url(Tag, "change", tag_a.pk), {"name": "x"}).status_code == 403
    assert operator.get(url).status_code == 403


def test_soft_delete_action_deletes_live_tags_and_skips_deleted_ones(operator, customer_a, tag_a):
    other = make_tag(customer_a.id, name="support")
    old = make_tag(customer_a.id, name="old")
    operator.post(admin_url(Tag, "delete", old.pk), {"post": "yes"})
    old.refresh_from_db()
    deleted_at = old.tm_delete

    response = run_action(operator, Tag, "soft_delete", [tag_a, other, old])

    assert response.status_code == 302
    assert Tag.objects.live().filter(pk__in=[tag_a.pk, other.pk]).count() == 0
    old.refresh_from_db()
    assert old.tm_delete == deleted_at
    assert messages_of(response) == ["Deleted: billing, support.", "Skipped, already deleted: old."]


def test_deleted_filter(operator, customer_a, tag_a):
    old = make_tag(customer_a.id, name="old")
    operator.post(admin_url(Tag, "delete", old.pk), {"post": "yes"})

    def listed(deleted):
        response = operator.get(admin_url(Tag, "changelist"), {"deleted": deleted})
        return [tag.name for tag in response.context["cl"].result_list]

    assert listed("yes") == ["old"]
    assert listed("no") == ["billing"]
