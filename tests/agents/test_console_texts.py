"""What the console's pages say, read as a person would: rows counted from 1, tags in name order,
the tag a bulk action was about, a warning before deleting oneself, times with their zone, the
404 page, and no autofocus on a destructive button."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agents import services
from agents.models import Customer
from agents.permissions import SYSTEM
from agents.templatetags.console import wbr_at
from tests.factories import make_tag


def url(name, *args):
    return reverse(f"console:{name}", args=args)


@pytest.fixture
def admin_client(client, admin_a):
    client.force_login(admin_a)
    return client


def test_a_duplicate_address_names_the_row_as_shown(admin_client, agent_a):
    # Rows as shown: 1 extension, 2 blank (left out of the service's list), 3 tel, 4 the same tel.
    response = admin_client.post(
        url("agent_addresses", agent_a.id),
        {
            "type": ["extension", "tel", "tel", "tel"],
            "target": ["2001", "", "+15559876543", "+1 555 987 6543"],
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "the same address is already given at row 3" in body
    assert "addresses[" not in body


#: How many lists of the customer's tags each page shows.
TAG_LISTS = {
    "agent_list": 2,  # the tag filter, the bulk bar's tag
    "agent_create": 1,
    "board": 2,  # the tag filter, the per-tag coverage
    "tag_list": 1,
}


@pytest.mark.parametrize("page", list(TAG_LISTS))
def test_tags_are_listed_by_name_in_every_list(admin_client, admin_a, page):
    for name in ("zulu", "alpha", "Mike"):  # created newest last: not name order, nor binary order
        make_tag(admin_a.customer_id, name=name)
    body = admin_client.get(url(page)).content.decode()
    shown = re.findall(r">(?:<b>)?(zulu|alpha|Mike)<", body)
    assert shown == ["alpha", "Mike", "zulu"] * TAG_LISTS[page], shown


def test_a_bulk_tag_action_names_the_tag(admin_client, admin_a, agent_a):
    tag = make_tag(admin_a.customer_id, name="sales")
    selection = {"tag": str(tag.id), "agent_ids": [agent_a.id]}
    admin_client.post(url("agent_bulk"), {"action": "add_tag", **selection})
    assert "tag sales added" in admin_client.get(url("agent_bulk_result")).content.decode()
    admin_client.post(url("agent_bulk"), {"action": "remove_tag", **selection})
    assert "tag sales removed" in admin_client.get(url("agent_bulk_result")).content.decode()


def test_deleting_a_selection_with_oneself_warns_first(admin_client, admin_a, agent_a):
    both = {"action": "delete", "agent_ids": [admin_a.id, agent_a.id]}
    with_self = admin_client.post(url("agent_bulk"), both)
    assert "You selected yourself." in with_self.content.decode()
    without = admin_client.post(url("agent_bulk"), {"action": "delete", "agent_ids": [agent_a.id]})
    assert "You selected yourself." not in without.content.decode()


@pytest.mark.parametrize(
    "page",
    ["agent_delete", "agent_direct_hash", "tag_delete", "accesskey_revoke", "bulk_delete"],
)
def test_a_confirmation_page_does_not_focus_its_destructive_button(admin_client, admin_a, agent_a, page):
    if page == "bulk_delete":
        response = admin_client.post(url("agent_bulk"), {"action": "delete", "agent_ids": [agent_a.id]})
    elif page == "tag_delete":
        response = admin_client.get(url(page, make_tag(admin_a.customer_id).id))
    elif page == "accesskey_revoke":
        key, _token = services.access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="k")
        response = admin_client.get(url(page, key.id))
    else:
        response = admin_client.get(url(page, agent_a.id))
    body = response.content.decode()
    assert 'class="button danger"' in body
    assert "autofocus" not in body


def test_deleting_a_tag_nobody_has_says_so(admin_client, admin_a):
    tag = make_tag(admin_a.customer_id, name="unused")
    response = admin_client.post(url("tag_delete", tag.id))
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Tag unused deleted; no agent had it."]


def test_history_times_are_shown_in_the_customers_time_zone(admin_client, admin_a, agent_a):
    Customer.objects.filter(pk=admin_a.customer_id).update(time_zone="Asia/Tokyo")
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="busy")
    body = admin_client.get(url("agent_detail", agent_a.id)).content.decode()
    assert re.search(r'<abbr class="tz" title="Asia/Tokyo">JST</abbr>', body)


def test_history_times_are_labelled_utc_for_a_zone_that_is_not_one(admin_client, admin_a, agent_a):
    Customer.objects.filter(pk=admin_a.customer_id).update(time_zone="Not/AZone")
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="busy")
    body = admin_client.get(url("agent_detail", agent_a.id)).content.decode()
    assert "Not/AZone" not in body
    assert '<abbr class="tz" title="UTC">UTC</abbr>' in body


def test_history_times_are_in_the_zone_shown(admin_client, admin_a, agent_a):
    Customer.objects.filter(pk=admin_a.customer_id).update(time_zone="Asia/Kathmandu")  # UTC+05:45
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="busy")
    change = agent_a.status_changes.latest("tm_create")
    local = change.tm_create.astimezone(ZoneInfo("Asia/Kathmandu"))
    assert local.utcoffset() == timedelta(hours=5, minutes=45)
    body = admin_client.get(url("agent_detail", agent_a.id)).content.decode()
    assert f'title="{local:%Y-%m-%d %H:%M:%S} Asia/Kathmandu"' in body
    assert '<abbr class="tz" title="Asia/Kathmandu">' in body


def test_a_sip_uri_may_wrap_before_its_at_only():
    assert wbr_at("sip:direct.ab12@sip.voipbin.net") == "sip:direct.ab12<wbr>@sip.voipbin.net"
    assert wbr_at("<b>@x") == "&lt;b&gt;<wbr>@x"


def test_the_404_page_is_the_consoles(client, admin_a):
    anonymous = client.get("/no-such-page/")
    assert anonymous.status_code == 404
    assert "Page not found" in anonymous.content.decode()
    assert "Sign in" in anonymous.content.decode()
    client.force_login(admin_a)
    signed_in = client.get(url("agent_detail", "00000000-0000-0000-0000-000000000000"))
    assert signed_in.status_code == 404
    assert "Go to the live board" in signed_in.content.decode()
