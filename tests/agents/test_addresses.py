"""Addresses (contract section 6): canonical targets, uniqueness per customer, all-or-nothing."""

from __future__ import annotations

import pytest

from agents.addresses import MAX_ADDRESSES_PER_AGENT
from agents.models import Address, AgentEvent, AgentEventType
from agents.representation import agent_representation
from agents.services import agent_delete, agent_replace_addresses
from tests.factories import make_agent
from voipbin_admin.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied


def tel(target: str) -> dict:
    return {"type": "tel", "target": target}


def ext(target: str) -> dict:
    return {"type": "extension", "target": target}


def sip(target: str) -> dict:
    return {"type": "sip", "target": target}


def targets(agent) -> list[tuple[str, str]]:
    return [(address["type"], address["target"]) for address in agent_representation(agent)["addresses"]]


def stored_targets(agent) -> list[tuple[str, str]]:
    return list(
        Address.objects.filter(agent_id=agent.pk, tm_delete__isnull=True)
        .order_by("position")
        .values_list("type", "target")
    )


@pytest.fixture
def other_agent_a(customer_a):
    return make_agent(customer_a.id, username="olga-agent")


# --- canonical targets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # The tutorial's example: a possible but not valid number (area code 555 is unassigned).
        ("+15559876543", "+15559876543"),
        ("+1 555 987 6543", "+15559876543"),
        ("+1-555-987-6543", "+15559876543"),
        ("+1.555.987.6543", "+15559876543"),
        ("+1 (555) 987-6543", "+15559876543"),
        ("  +15559876543  ", "+15559876543"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_tel_takes_possible_e164_numbers_and_stores_them_canonical(admin_a, agent_a, raw, canonical):
    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[tel(raw)])

    assert targets(agent) == [("tel", canonical)]


@pytest.mark.parametrize(
    "raw",
    [
        "15559876543",  # no leading +
        "+1555CALLNOW",  # letters
        "+1 555 987 654x",
        "+",
        "+1",
        "+1555",  # too short for its country
        "+1555987654321",  # too long for its country
        "+999 1234567",  # no such country code
        "00 1 555 987 6543",
        "+1/555/9876543",  # slashes are not separators
        "tel:+15559876543",
        "",
        "   ",
    ],
)
def test_tel_refuses_what_is_not_a_possible_e164_number(admin_a, agent_a, unchanged_database, raw):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[tel(raw)])

    assert excinfo.value.reason == "INVALID_ADDRESSES"
    assert excinfo.value.http_status == 400
    assert [detail.field for detail in excinfo.value.details] == ["addresses[0].target"]


@pytest.mark.parametrize("raw", ["1", "0101", "1" * 20])
def test_extension_takes_1_to_20_digits(admin_a, agent_a, raw):
    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext(raw)])

    assert targets(agent) == [("extension", raw)]


@pytest.mark.parametrize("raw", ["1" * 21, "12a", "+123", "-1", "1 2", "1.2", "١٢٣", ""])
def test_extension_refuses_anything_but_digits(admin_a, agent_a, unchanged_database, raw):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext(raw)])

    assert excinfo.value.reason == "INVALID_ADDRESSES"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("alice@example.com", "alice@example.com"),
        ("sip:alice@example.com", "alice@example.com"),
        ("SIP:Alice@Example.COM", "Alice@example.com"),
        ("alice.smith+desk@pbx.example.co.uk:5060", "alice.smith+desk@pbx.example.co.uk:5060"),
        ("1001@10.0.0.1", "1001@10.0.0.1"),
    ],
)
def test_sip_takes_user_at_domain_without_prefix_and_with_a_lowercase_domain(
    admin_a, agent_a, raw, canonical
):
    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[sip(raw)])

    assert targets(agent) == [("sip", canonical)]


@pytest.mark.parametrize(
    "raw",
    [
        "alice",
        "alice@",
        "@example.com",
        "sip:",
        "alice@exa mple.com",
        "al ice@example.com",
        "a@b@c",
        "a@-bad-.com",
    ],
)
def test_sip_refuses_what_is_not_user_at_domain(admin_a, agent_a, unchanged_database, raw):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[sip(raw)])

    assert excinfo.value.reason == "INVALID_ADDRESSES"


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({"type": "email", "target": "a@example.com"}, "addresses[0].type"),
        ({"type": "TEL", "target": "+15559876543"}, "addresses[0].type"),
        ({"target": "+15559876543"}, "addresses[0].type"),
        ({"type": None, "target": "101"}, "addresses[0].type"),
        ({"type": "tel"}, "addresses[0].target"),
        ({"type": "tel", "target": 15559876543}, "addresses[0].target"),
        ("tel:+15559876543", "addresses[0]"),
        (None, "addresses[0]"),
    ],
)
def test_unknown_types_and_malformed_entries_are_refused(
    admin_a, agent_a, unchanged_database, address, field
):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[address])

    assert excinfo.value.reason == "INVALID_ADDRESSES"
    assert [detail.field for detail in excinfo.value.details] == [field]


@pytest.mark.parametrize("addresses", [None, "+15559876543", {"type": "tel", "target": "+15559876543"}, 3])
def test_addresses_must_be_a_list(admin_a, agent_a, unchanged_database, addresses):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=addresses)

    assert excinfo.value.reason == "INVALID_ADDRESSES"


def test_optional_fields_are_kept_and_checked(admin_a, agent_a, unchanged_database):
    agent = agent_replace_addresses(
        actor=admin_a,
        agent=agent_a,
        addresses=[{**tel("+15559876543"), "target_name": "Pat", "name": "mobile", "detail": "after 6pm"}],
    )
    assert agent_representation(agent)["addresses"] == [
        {
            "type": "tel",
            "target": "+15559876543",
            "target_name": "Pat",
            "name": "mobile",
            "detail": "after 6pm",
        }
    ]

    for bad in ({"name": "n" * 256}, {"detail": 5}, {"target_name": ["x"]}):
        with unchanged_database(), pytest.raises(InvalidArgument):
            agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[{**ext("101"), **bad}])


# --- one request ----------------------------------------------------------------------------------


def test_the_same_address_twice_in_one_request_is_refused(admin_a, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(
            actor=admin_a, agent=agent_a, addresses=[tel("+15559876543"), ext("1"), tel("+1 555 987-6543")]
        )

    assert excinfo.value.reason == "INVALID_ADDRESSES"
    assert [detail.field for detail in excinfo.value.details] == ["addresses[2].target"]


def test_the_same_target_with_different_types_is_two_addresses(admin_a, agent_a):
    agent = agent_replace_addresses(
        actor=admin_a, agent=agent_a, addresses=[ext("1001"), sip("1001@pbx.example")]
    )

    assert len(targets(agent)) == 2


def test_an_agent_has_at_most_20_addresses(admin_a, agent_a, unchanged_database):
    twenty = [ext(str(100 + number)) for number in range(MAX_ADDRESSES_PER_AGENT)]
    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=twenty)
    assert len(targets(agent)) == 20

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[*twenty, ext("999")])
    assert excinfo.value.reason == "INVALID_ADDRESSES"
    assert excinfo.value.details[0].field == "addresses"


def test_order_is_kept_as_the_ring_order(admin_a, agent_a):
    given = [sip("pat@pbx.example"), tel("+15559876543"), ext("101")]

    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=given)
    assert targets(agent) == [("sip", "pat@pbx.example"), ("tel", "+15559876543"), ("extension", "101")]

    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=list(reversed(given)))
    assert targets(agent) == [("extension", "101"), ("tel", "+15559876543"), ("sip", "pat@pbx.example")]
    assert stored_targets(agent_a) == targets(agent)


def test_replacement_replaces_all_and_records_an_update(admin_a, agent_a):
    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("101"), ext("102")])

    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("103")])

    assert targets(agent) == [("extension", "103")]
    assert agent.tm_update is not None
    event = AgentEvent.objects.filter(agent=agent_a).order_by("-id").first()
    assert event.type == AgentEventType.UPDATED
    assert event.data["addresses"][0]["target"] == "103"
    assert targets(agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[])) == []


# --- one address, one live agent per customer ----------------------------------------------------


def test_taking_another_agents_address_is_refused(admin_a, agent_a, other_agent_a, unchanged_database):
    agent_replace_addresses(actor=admin_a, agent=other_agent_a, addresses=[tel("+15559876543")])

    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        agent_replace_addresses(
            actor=admin_a, agent=agent_a, addresses=[ext("101"), tel("+1 (555) 987-6543")]
        )

    assert excinfo.value.reason == "ADDRESS_ALREADY_ASSIGNED"
    assert excinfo.value.http_status == 409
    assert [detail.field for detail in excinfo.value.details] == ["addresses[1].target"]


def test_the_same_address_in_another_customer_is_fine(admin_a, agent_a, admin_b):
    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[tel("+15559876543")])
    agent_b = make_agent(admin_b.customer_id)

    agent = agent_replace_addresses(actor=admin_b, agent=agent_b, addresses=[tel("+15559876543")])

    assert targets(agent) == [("tel", "+15559876543")]


def test_an_agent_keeps_its_own_addresses_when_resubmitting_them(admin_a, agent_a):
    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("101"), ext("102")])

    agent = agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("102"), ext("101")])

    assert targets(agent) == [("extension", "102"), ("extension", "101")]


def test_a_deleted_agent_frees_its_addresses(admin_a, agent_a, other_agent_a):
    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("101")])
    agent_delete(actor=admin_a, agent=agent_a)

    agent = agent_replace_addresses(actor=admin_a, agent=other_agent_a, addresses=[ext("101")])

    assert targets(agent) == [("extension", "101")]


def test_a_deleted_agent_gets_no_addresses(admin_a, agent_a, unchanged_database):
    agent_delete(actor=admin_a, agent=agent_a)

    with unchanged_database(), pytest.raises(NotFound) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("101")])

    assert excinfo.value.reason == "AGENT_NOT_FOUND"


# --- all or nothing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replacement", "error"),
    [
        ([ext("201"), tel("not a number")], InvalidArgument),
        ([ext("201"), {"type": "fax", "target": "1"}], InvalidArgument),
        ([ext("201"), ext("201")], InvalidArgument),
        ([ext("201"), ext("999")], AlreadyExists),
    ],
)
def test_on_any_error_the_agent_keeps_its_previous_addresses(
    admin_a, agent_a, other_agent_a, unchanged_database, replacement, error
):
    agent_replace_addresses(actor=admin_a, agent=other_agent_a, addresses=[ext("999")])
    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[ext("101"), sip("pat@pbx.example")])

    with unchanged_database(), pytest.raises(error):
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=replacement)

    assert stored_targets(agent_a) == [("extension", "101"), ("sip", "pat@pbx.example")]


def test_every_bad_address_is_reported_at_once(admin_a, agent_a):
    with pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(
            actor=admin_a, agent=agent_a, addresses=[tel("nope"), ext("101"), sip("nope"), {"type": "x"}]
        )

    assert [detail.field for detail in excinfo.value.details] == [
        "addresses[0].target",
        "addresses[2].target",
        "addresses[3].type",
    ]


# --- who may replace them -------------------------------------------------------------------------


def test_an_agent_replaces_its_own_addresses(agent_a):
    assert targets(agent_replace_addresses(actor=agent_a, agent=agent_a, addresses=[ext("7")])) == [
        ("extension", "7")
    ]


def test_a_plain_agent_may_not_replace_anothers_addresses(agent_a, other_agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_replace_addresses(actor=agent_a, agent=other_agent_a, addresses=[ext("7")])


def test_another_customers_admin_may_not_replace_addresses(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_replace_addresses(actor=admin_b, agent=agent_a, addresses=[ext("7")])


def test_a_nul_character_in_an_optional_field_is_refused(admin_a, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[{**ext("101"), "name": "desk\x00"}])

    assert [detail.field for detail in excinfo.value.details] == ["addresses[0].name"]
