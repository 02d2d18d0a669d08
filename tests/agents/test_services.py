"""The agent services: every rule of contract sections 2, 6 and 8 at the service level.

Every refused call is checked for its error class, its `reason` and, where it matters, that
it changed nothing in the database.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import (
    AccessKey,
    Address,
    Agent,
    AgentEvent,
    AgentEventType,
    AgentStatus,
    AgentStatusChange,
    LoginToken,
    Permission,
)
from agents.permissions import SYSTEM
from agents.representation import agent_representation
from agents.selectors import agent_get
from agents.services import (
    access_key_create,
    access_key_delete,
    access_key_update,
    agent_create,
    agent_delete,
    agent_regenerate_direct_hash,
    agent_replace_addresses,
    agent_replace_tags,
    agent_set_password,
    agent_set_permission,
    agent_set_status,
    agent_update,
    login_token_create,
)
from tests.factories import PASSWORD, make_agent, make_tag
from voipbin_admin.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

DIRECT_HASH = re.compile(r"^[0-9a-f]{12}$")


@pytest.fixture
def second_admin_a(customer_a):
    return make_agent(customer_a.id, username="ann-admin", permission=Permission.CUSTOMER_ADMIN)


@pytest.fixture
def access_key_a(admin_a):
    access_key, _plaintext = access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="ci")
    return access_key


def sign_in(agent: Agent) -> str:
    """A live login token of the agent (plaintext)."""
    _agent, plaintext = login_token_create(username=agent.username, password=PASSWORD)
    return plaintext


def live_token_count(agent: Agent) -> int:
    return LoginToken.objects.filter(agent=agent, tm_revoke__isnull=True).count()


def event_types(agent: Agent) -> list[str]:
    return list(AgentEvent.objects.filter(agent=agent).order_by("id").values_list("type", flat=True))


def last_event(agent: Agent) -> AgentEvent:
    return AgentEvent.objects.filter(agent=agent).order_by("-id").first()


def reload(agent: Agent) -> Agent:
    return Agent.objects.with_related().get(pk=agent.pk)


# --- agent_create -------------------------------------------------------------------------------


def test_create_gives_the_contract_defaults(admin_a):
    agent = agent_create(actor=admin_a, customer_id=admin_a.customer_id, username="test2", password="test2")

    assert agent.status == AgentStatus.OFFLINE
    assert DIRECT_HASH.match(agent.direct_hash)
    assert agent.ring_method == "ringall"
    assert agent.permission == 0
    assert agent.name == ""
    assert agent.detail == ""
    assert agent.tm_update is None
    assert agent.tm_delete is None
    representation = agent_representation(agent)
    assert representation["tag_ids"] == []
    assert representation["addresses"] == []
    assert representation["customer_id"] == str(admin_a.customer_id)


def test_create_takes_the_tutorial_example(admin_a):
    tag = make_tag(admin_a.customer_id, name="test tag")

    agent = agent_create(
        actor=admin_a,
        customer_id=admin_a.customer_id,
        username="test2",
        password="test2",
        name="test tag",
        detail="test tag example",
        ring_method="ringall",
        permission=0,
        tag_ids=[str(tag.id)],
    )

    representation = agent_representation(agent)
    assert representation["username"] == "test2"
    assert representation["name"] == "test tag"
    assert representation["detail"] == "test tag example"
    assert representation["status"] == "offline"
    assert representation["tag_ids"] == [str(tag.id)]
    assert "password" not in representation


def test_create_never_stores_the_password_in_plaintext(admin_a):
    agent = agent_create(
        actor=admin_a, customer_id=admin_a.customer_id, username="newbie", password="plain-secret-42"
    )

    stored = Agent.objects.filter(pk=agent.pk).values_list("password", flat=True).get()
    assert "plain-secret-42" not in stored
    assert reload(agent).check_password("plain-secret-42")
    assert "plain-secret-42" not in str(last_event(agent).data)


def test_create_records_the_created_event_with_the_representation(admin_a):
    agent = agent_create(actor=admin_a, customer_id=admin_a.customer_id, username="newbie", password="x")

    assert event_types(agent) == [AgentEventType.CREATED]
    event = last_event(agent)
    assert event.customer_id == admin_a.customer_id
    assert event.data == agent_representation(reload(agent))


def test_create_starts_the_status_history_with_offline(admin_a):
    before = timezone.now()
    agent = agent_create(actor=admin_a, customer_id=admin_a.customer_id, username="newbie", password="x")

    (change,) = AgentStatusChange.objects.filter(agent=agent)
    assert (change.from_status, change.to_status, change.reason) == ("", "offline", "created")
    assert change.changed_by_agent_id == admin_a.pk
    assert before <= change.tm_create <= timezone.now()


@pytest.mark.parametrize("username", ["a", "x" * 255, "Ünïcode-name", "name.with+symbols@example"])
def test_create_accepts_usernames_of_1_to_255_characters(admin_a, username):
    agent = agent_create(actor=admin_a, customer_id=admin_a.customer_id, username=username, password="x")

    assert agent.username == username


@pytest.mark.parametrize(
    "username",
    [
        "",
        "x" * 256,
        "with space",
        "tab\tname",
        "line\nbreak",
        None,
        42,
        # Each of these looks like "a-admin" on a page (issue #11, item 2).
        "a-admin\n",
        "a-admin\u200b",  # zero-width space
        "a-\u00adadmin",  # soft hyphen
        "a-admin\u2060",  # word joiner
        "\ufeffa-admin",  # byte order mark
        "a-admin\u00a0",  # no-break space
        "a-admin\u2028",  # line separator
        "a-admin\x85",  # next line (C1 control)
        "a-admin\ue000",  # private use
        "a-admin\U000e0001",  # language tag (format)
        "\ufdfa" * 15,  # 15 characters whose folded key is 270 characters long
    ],
)
def test_create_refuses_a_bad_username(admin_a, unchanged_database, username):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(actor=admin_a, customer_id=admin_a.customer_id, username=username, password="x")

    assert excinfo.value.reason == "INVALID_USERNAME"
    assert [detail.field for detail in excinfo.value.details] == ["username"]


def test_create_refuses_a_username_taken_in_another_customer_in_any_case(
    admin_a, admin_b, unchanged_database
):
    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        agent_create(actor=admin_b, customer_id=admin_b.customer_id, username="ALICE-Admin", password="x")

    assert excinfo.value.reason == "AGENT_ALREADY_EXISTS"
    assert excinfo.value.http_status == 409


@pytest.mark.parametrize(
    ("taken", "spelling"),
    [
        ("xi1", "x\u01311"),  # dotless i: PostgreSQL's lower() keeps it, upper() makes it I
        ("sissi", "s\u0131ss\u0131"),
        ("sissi", "\u017fissi"),  # long s
        ("strasse", "STRASSE"),
        ("strasse", "stra\u00dfe"),  # sharp s folds to ss
        ("cafe\u0301", "caf\u00e9"),  # decomposed and composed e acute
        ("agent1", "\uff41gent1"),  # fullwidth a
    ],
)
def test_every_spelling_that_folds_to_a_taken_username_is_taken(admin_a, unchanged_database, taken, spelling):
    agent_create(actor=admin_a, customer_id=admin_a.customer_id, username=taken, password="x")

    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        agent_create(actor=admin_a, customer_id=admin_a.customer_id, username=spelling, password="x")

    assert excinfo.value.reason == "AGENT_ALREADY_EXISTS"


def test_the_database_refuses_two_live_agents_whose_usernames_fold_alike(admin_a):
    """The unique index is on the folded key, so a writer that skips the service's check (or
    loses a race past it) still cannot add a second spelling."""
    Agent.objects.create(customer_id=admin_a.customer_id, username="xi1")

    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.create(customer_id=admin_a.customer_id, username="x\u01311")


def test_a_deleted_agents_username_is_free_again(admin_a, agent_a):
    agent_delete(actor=admin_a, agent=agent_a)

    again = agent_create(actor=admin_a, customer_id=admin_a.customer_id, username="PAT-agent", password="x")

    assert again.pk != agent_a.pk
    assert Agent.objects.filter(username__iexact="pat-agent").count() == 2


@pytest.mark.parametrize("password", ["", None, 12345, ["x"]])
def test_create_requires_a_non_empty_password(admin_a, unchanged_database, password):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(actor=admin_a, customer_id=admin_a.customer_id, username="newbie", password=password)

    assert excinfo.value.reason == "INVALID_PASSWORD"


def test_the_password_policy_is_a_setting(admin_a, unchanged_database, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 8},
        }
    ]

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(actor=admin_a, customer_id=admin_a.customer_id, username="test2", password="test2")

    assert excinfo.value.reason == "INVALID_PASSWORD"
    assert excinfo.value.details[0].field == "password"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "n" * 256, "INVALID_NAME"),
        ("name", 5, "INVALID_NAME"),
        ("detail", "d" * 10_001, "INVALID_DETAIL"),
        ("ring_method", "random", "INVALID_RING_METHOD"),
        ("ring_method", None, "INVALID_RING_METHOD"),
    ],
)
def test_create_refuses_bad_fields(admin_a, unchanged_database, field, value, reason):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(
            actor=admin_a, customer_id=admin_a.customer_id, username="newbie", password="x", **{field: value}
        )

    assert excinfo.value.reason == reason


def test_create_takes_linear_ring_method_and_a_255_character_name(admin_a):
    agent = agent_create(
        actor=admin_a,
        customer_id=admin_a.customer_id,
        username="newbie",
        password="x",
        ring_method="linear",
        name="n" * 255,
    )

    assert (agent.ring_method, len(agent.name)) == ("linear", 255)


def test_create_folds_duplicate_tag_ids_and_keeps_their_order(admin_a):
    first, second = make_tag(admin_a.customer_id), make_tag(admin_a.customer_id)

    agent = agent_create(
        actor=admin_a,
        customer_id=admin_a.customer_id,
        username="newbie",
        password="x",
        tag_ids=[str(second.id), str(first.id), str(second.id).upper()],
    )

    assert agent_representation(agent)["tag_ids"] == [str(second.id), str(first.id)]


def test_create_refuses_tags_it_may_not_use(admin_a, admin_b, unchanged_database):
    deleted = make_tag(admin_a.customer_id)
    deleted.tm_delete = timezone.now()
    deleted.save()
    other_customers = make_tag(admin_b.customer_id)

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(
            actor=admin_a,
            customer_id=admin_a.customer_id,
            username="newbie",
            password="x",
            tag_ids=[str(deleted.id), str(other_customers.id)],
        )

    assert excinfo.value.reason == "INVALID_TAG_IDS"
    assert str(deleted.id) in excinfo.value.message
    assert str(other_customers.id) in excinfo.value.message


def test_create_stores_canonical_addresses(admin_a):
    agent = agent_create(
        actor=admin_a,
        customer_id=admin_a.customer_id,
        username="newbie",
        password="x",
        addresses=[{"type": "tel", "target": "+1 (555) 987-6543"}, {"type": "extension", "target": "101"}],
    )

    assert [(a["type"], a["target"]) for a in agent_representation(agent)["addresses"]] == [
        ("tel", "+15559876543"),
        ("extension", "101"),
    ]


def test_create_refuses_an_address_another_agent_holds(admin_a, agent_a, unchanged_database):
    agent_set_addresses = [{"type": "extension", "target": "201"}]
    from agents.services import agent_replace_addresses

    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=agent_set_addresses)

    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        agent_create(
            actor=admin_a,
            customer_id=admin_a.customer_id,
            username="newbie",
            password="x",
            addresses=agent_set_addresses,
        )

    assert excinfo.value.reason == "ADDRESS_ALREADY_ASSIGNED"


def test_create_refuses_bad_addresses(admin_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(
            actor=admin_a,
            customer_id=admin_a.customer_id,
            username="newbie",
            password="x",
            addresses=[{"type": "fax", "target": "123"}],
        )

    assert excinfo.value.reason == "INVALID_ADDRESSES"


# --- who may create, and with what permission ------------------------------------------------


def test_a_plain_agent_may_not_create_agents(agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_create(actor=agent_a, customer_id=agent_a.customer_id, username="newbie", password="x")

    assert excinfo.value.reason == "SUPERVISOR_REQUIRED"


def test_another_customers_admin_may_not_create_agents(customer_a, admin_b, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_create(actor=admin_b, customer_id=customer_a.id, username="newbie", password="x")


def test_an_access_key_creates_agents_of_its_customer_only(access_key_a, customer_b, unchanged_database):
    agent = agent_create(
        actor=access_key_a, customer_id=access_key_a.customer_id, username="n1", password="x"
    )
    assert agent.customer_id == access_key_a.customer_id
    assert AgentStatusChange.objects.get(agent=agent).changed_by_access_key_id == access_key_a.pk

    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_create(actor=access_key_a, customer_id=customer_b.id, username="n2", password="x")


@pytest.mark.parametrize(
    "permission",
    [0, Permission.CUSTOMER_AGENT, Permission.CUSTOMER_MANAGER, Permission.CUSTOMER_AGENT | 64],
)
def test_a_manager_creates_agents_and_managers(manager_a, permission):
    agent = agent_create(
        actor=manager_a,
        customer_id=manager_a.customer_id,
        username="newbie",
        password="x",
        permission=permission,
    )

    assert agent.permission == permission


@pytest.mark.parametrize("permission", [Permission.CUSTOMER_ADMIN, Permission.CUSTOMER_ADMIN | 16, 1])
def test_a_manager_may_not_create_admins_or_super_admins(manager_a, unchanged_database, permission):
    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_create(
            actor=manager_a,
            customer_id=manager_a.customer_id,
            username="newbie",
            password="x",
            permission=permission,
        )

    assert excinfo.value.reason == "PERMISSION_NOT_ALLOWED"


def test_an_admin_creates_admins_but_not_super_admins(admin_a, unchanged_database):
    agent = agent_create(
        actor=admin_a, customer_id=admin_a.customer_id, username="admin2", password="x", permission=32
    )
    assert agent.permission == 32

    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_create(
            actor=admin_a, customer_id=admin_a.customer_id, username="boss", password="x", permission=33
        )
    assert excinfo.value.reason == "PERMISSION_NOT_ALLOWED"


def test_a_super_admin_creates_super_admins_in_any_customer(super_admin, customer_b):
    agent = agent_create(
        actor=super_admin, customer_id=customer_b.id, username="boss", password="x", permission=33
    )

    assert (agent.customer_id, agent.permission) == (customer_b.id, 33)


@pytest.mark.parametrize("permission", [2, 4, 8, 128, 256, 114, -1, -32, 1.0, 32.0, "32", True, False, None])
def test_create_refuses_unknown_permission_bits(admin_a, unchanged_database, permission):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_create(
            actor=admin_a,
            customer_id=admin_a.customer_id,
            username="newbie",
            password="x",
            permission=permission,
        )

    assert excinfo.value.reason == "INVALID_PERMISSION"


# --- agent_update -------------------------------------------------------------------------------


def test_update_changes_only_the_fields_given(admin_a, agent_a):
    agent_update(actor=admin_a, agent=agent_a, name="Pat", detail="Tier 1", ring_method="linear")

    agent = agent_update(actor=admin_a, agent=agent_a, detail="Tier 2")

    assert (agent.name, agent.detail, agent.ring_method) == ("Pat", "Tier 2", "linear")
    assert agent.tm_update is not None
    assert event_types(agent_a)[-2:] == [AgentEventType.UPDATED, AgentEventType.UPDATED]
    assert last_event(agent_a).data == agent_representation(agent)


def test_update_with_nothing_to_change_records_nothing(admin_a, agent_a, unchanged_database):
    with unchanged_database():
        agent = agent_update(actor=admin_a, agent=agent_a)

    assert agent.pk == agent_a.pk


def test_an_agent_updates_itself(agent_a):
    agent = agent_update(actor=agent_a, agent=agent_a, name="Me")

    assert agent.name == "Me"


def test_a_plain_agent_may_not_update_another(agent_a, manager_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_update(actor=agent_a, agent=manager_a, name="hacked")


def test_another_customers_admin_may_not_update(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_update(actor=admin_b, agent=agent_a, name="hacked")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [("name", "n" * 256, "INVALID_NAME"), ("ring_method", "circular", "INVALID_RING_METHOD")],
)
def test_update_refuses_bad_fields(admin_a, agent_a, unchanged_database, field, value, reason):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_update(actor=admin_a, agent=agent_a, detail="ok", **{field: value})

    assert excinfo.value.reason == reason


# --- status ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["available", "away", "busy", "ringing"])
def test_status_change_is_recorded_with_who_when_from_to_and_why(admin_a, agent_a, status):
    before = timezone.now()

    agent = agent_set_status(actor=admin_a, agent=agent_a, status=status, reason="shift start")

    assert agent.status == status
    assert before <= agent.tm_status <= timezone.now()
    change = AgentStatusChange.objects.filter(agent=agent_a).order_by("-id").first()
    assert (change.from_status, change.to_status, change.reason) == ("offline", status, "shift start")
    assert change.changed_by_agent_id == admin_a.pk
    assert change.changed_by_access_key_id is None
    assert before <= change.tm_create <= timezone.now()
    assert last_event(agent_a).type == AgentEventType.STATUS_UPDATED
    assert last_event(agent_a).data["status"] == status


def test_status_history_chains_from_the_previous_status(agent_a):
    agent_set_status(actor=agent_a, agent=agent_a, status="available")
    agent_set_status(actor=agent_a, agent=agent_a, status="busy")
    agent_set_status(actor=agent_a, agent=agent_a, status="offline")

    history = list(
        AgentStatusChange.objects.filter(agent=agent_a).order_by("id").values_list("from_status", "to_status")
    )
    assert history == [("", "offline"), ("offline", "available"), ("available", "busy"), ("busy", "offline")]


def test_an_access_key_is_recorded_as_who_changed_the_status(access_key_a, agent_a):
    agent_set_status(actor=access_key_a, agent=agent_a, status="away")

    change = AgentStatusChange.objects.filter(agent=agent_a).order_by("-id").first()
    assert change.changed_by_access_key_id == access_key_a.pk
    assert change.changed_by_agent_id is None


def test_setting_the_current_status_records_nothing(admin_a, agent_a, unchanged_database):
    with unchanged_database():
        agent = agent_set_status(actor=admin_a, agent=agent_a, status="offline")

    assert agent.status == "offline"


@pytest.mark.parametrize("status", ["", "Available", "AVAILABLE", "online", " available", None, 1, ["busy"]])
def test_status_refuses_anything_but_the_five_values(admin_a, agent_a, unchanged_database, status):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_status(actor=admin_a, agent=agent_a, status=status)

    assert excinfo.value.reason == "INVALID_STATUS"
    assert excinfo.value.details[0].field == "status"


def test_status_reason_is_at_most_255_characters(admin_a, agent_a, unchanged_database):
    agent_set_status(actor=admin_a, agent=agent_a, status="away", reason="r" * 255)

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_status(actor=admin_a, agent=agent_a, status="busy", reason="r" * 256)
    assert excinfo.value.reason == "INVALID_REASON"

    with unchanged_database(), pytest.raises(InvalidArgument):
        agent_set_status(actor=admin_a, agent=agent_a, status="busy", reason=7)


def test_an_agent_sets_its_own_status(agent_a):
    agent = agent_set_status(actor=agent_a, agent=agent_a, status="available")

    assert agent.status == "available"
    change = AgentStatusChange.objects.filter(agent=agent_a).order_by("-id").first()
    assert change.changed_by_agent_id == agent_a.pk


def test_a_manager_sets_an_agents_status(manager_a, agent_a):
    assert agent_set_status(actor=manager_a, agent=agent_a, status="busy").status == "busy"


def test_a_plain_agent_may_not_set_anothers_status(agent_a, manager_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_status(actor=agent_a, agent=manager_a, status="busy")


def test_another_customers_admin_may_not_set_a_status(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_status(actor=admin_b, agent=agent_a, status="available")


# --- tags of an agent -------------------------------------------------------------------------


def test_replace_tags_replaces_all_of_them(admin_a, agent_a):
    first, second, third = (make_tag(admin_a.customer_id) for _ in range(3))
    agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[str(first.id), str(second.id)])

    agent = agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[str(third.id), str(first.id)])

    assert agent_representation(agent)["tag_ids"] == [str(third.id), str(first.id)]
    assert last_event(agent_a).type == AgentEventType.UPDATED
    assert agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[]).tag_links.count() == 0


def test_replace_tags_refuses_bad_ids_and_keeps_the_old_ones(admin_a, admin_b, agent_a, unchanged_database):
    kept = make_tag(admin_a.customer_id)
    agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[str(kept.id)])
    foreign = make_tag(admin_b.customer_id)
    unknown = str(uuid.uuid4())
    bad = ["not-a-uuid", str(foreign.id), "17", unknown]

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_tags(
            actor=admin_a, agent=agent_a, tag_ids=[str(kept.id), "not-a-uuid", str(foreign.id), 17, unknown]
        )

    assert excinfo.value.reason == "INVALID_TAG_IDS"
    assert sorted(detail.message.rsplit(" ", 1)[-1] for detail in excinfo.value.details) == sorted(bad)
    assert all(tag_id in excinfo.value.message for tag_id in bad)
    assert str(kept.id) not in excinfo.value.message


@pytest.mark.parametrize("tag_ids", ["abc", None, {"id": 1}, 5])
def test_replace_tags_needs_a_list(admin_a, agent_a, unchanged_database, tag_ids):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=tag_ids)

    assert excinfo.value.reason == "INVALID_TAG_IDS"


def test_only_supervisors_of_the_customer_replace_tags(agent_a, admin_b, manager_a, unchanged_database):
    tag = make_tag(agent_a.customer_id)
    assert agent_replace_tags(actor=manager_a, agent=agent_a, tag_ids=[tag.id]).tag_links.count() == 1

    for actor in (agent_a, admin_b):
        with unchanged_database(), pytest.raises(PermissionDenied):
            agent_replace_tags(actor=actor, agent=agent_a, tag_ids=[])


# --- permission -----------------------------------------------------------------------------------


@pytest.mark.parametrize("permission", [2, 8, 128, 114, -16, 16.0, "16", True, None, [16]])
def test_permission_refuses_unknown_bits(admin_a, agent_a, unchanged_database, permission):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_permission(actor=admin_a, agent=agent_a, permission=permission)

    assert excinfo.value.reason == "INVALID_PERMISSION"


@pytest.mark.parametrize("permission", [0, 16, 64, 80, 32 | 64, 16 | 32 | 64])
def test_an_admin_sets_any_customer_bits(admin_a, agent_a, permission):
    assert agent_set_permission(actor=admin_a, agent=agent_a, permission=permission).permission == permission


def test_only_a_super_admin_sets_or_clears_the_super_admin_bit(
    admin_a, agent_a, super_admin, unchanged_database
):
    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_set_permission(actor=admin_a, agent=agent_a, permission=17)
    assert excinfo.value.reason == "PERMISSION_NOT_ALLOWED"

    assert agent_set_permission(actor=super_admin, agent=agent_a, permission=17).permission == 17

    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_permission(actor=admin_a, agent=agent_a, permission=16)

    assert agent_set_permission(actor=SYSTEM, agent=agent_a, permission=16).permission == 16


def test_a_manager_may_not_grant_admin(manager_a, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_set_permission(actor=manager_a, agent=agent_a, permission=32)

    assert excinfo.value.reason == "PERMISSION_NOT_ALLOWED"


def test_a_manager_may_not_remove_admin(manager_a, second_admin_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_set_permission(actor=manager_a, agent=second_admin_a, permission=16)

    assert excinfo.value.reason == "PERMISSION_NOT_ALLOWED"


@pytest.mark.parametrize("added_bits", [16, 64, 80])
def test_a_manager_may_not_change_an_admins_permission_at_all(
    admin_a, manager_a, added_bits, unchanged_database
):
    """Even keeping the admin bit: a change revokes the admin's tokens (issue #11, item 9)."""
    second_admin = make_agent(admin_a.customer_id, permission=32)
    login_token_create(username=second_admin.username, password=PASSWORD)  # stays unrevoked
    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        agent_set_permission(actor=manager_a, agent=second_admin, permission=32 | added_bits)

    assert excinfo.value.reason == "PERMISSION_NOT_ALLOWED"


def test_an_admin_may_not_change_a_super_admins_permission(admin_a, unchanged_database):
    operator = make_agent(admin_a.customer_id, permission=1 | 32)
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_permission(actor=admin_a, agent=operator, permission=1 | 32 | 64)


def test_an_admin_changes_another_admins_other_bits(admin_a):
    second_admin = make_agent(admin_a.customer_id, permission=32)

    assert agent_set_permission(actor=admin_a, agent=second_admin, permission=96).permission == 96


def test_a_manager_grants_manager_and_agent(manager_a, agent_a):
    assert agent_set_permission(actor=manager_a, agent=agent_a, permission=80).permission == 80


def test_a_plain_agent_may_not_change_permissions_even_its_own(agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_permission(actor=agent_a, agent=agent_a, permission=64)


def test_another_customers_admin_may_not_change_permissions(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_permission(actor=admin_b, agent=agent_a, permission=0)


def test_an_access_key_grants_admin(access_key_a, agent_a):
    assert agent_set_permission(actor=access_key_a, agent=agent_a, permission=32).permission == 32


def test_the_last_admin_keeps_the_admin_bit(admin_a, admin_b, unchanged_database):
    for actor in (admin_a, SYSTEM):
        with unchanged_database(), pytest.raises(FailedPrecondition) as excinfo:
            agent_set_permission(actor=actor, agent=admin_a, permission=Permission.CUSTOMER_MANAGER)
        assert excinfo.value.reason == "LAST_ADMIN"
        assert excinfo.value.http_status == 409


def test_an_admin_may_step_down_when_another_admin_remains(admin_a, second_admin_a):
    assert agent_set_permission(actor=admin_a, agent=admin_a, permission=64).permission == 64

    with pytest.raises(FailedPrecondition):
        agent_set_permission(actor=second_admin_a, agent=second_admin_a, permission=64)


def test_a_deleted_admin_does_not_count_as_the_remaining_admin(admin_a, second_admin_a, unchanged_database):
    agent_delete(actor=admin_a, agent=second_admin_a)

    with unchanged_database(), pytest.raises(FailedPrecondition) as excinfo:
        agent_set_permission(actor=admin_a, agent=admin_a, permission=0)

    assert excinfo.value.reason == "LAST_ADMIN"


def test_the_last_admin_may_gain_other_bits(admin_a):
    assert agent_set_permission(actor=admin_a, agent=admin_a, permission=32 | 64).permission == 96


def test_a_permission_change_revokes_login_tokens(admin_a, agent_a):
    sign_in(agent_a)
    sign_in(agent_a)

    agent_set_permission(actor=admin_a, agent=agent_a, permission=64)

    assert live_token_count(agent_a) == 0
    assert LoginToken.objects.filter(agent=agent_a).count() == 2
    assert last_event(agent_a).type == AgentEventType.UPDATED
    assert last_event(agent_a).data["permission"] == 64


def test_setting_the_same_permission_changes_nothing(admin_a, agent_a, unchanged_database):
    sign_in(agent_a)

    with unchanged_database():
        agent_set_permission(actor=admin_a, agent=agent_a, permission=Permission.CUSTOMER_AGENT)

    assert live_token_count(agent_a) == 1


# --- password -----------------------------------------------------------------------------------


def test_a_supervisor_resets_a_password_and_revokes_tokens(manager_a, agent_a):
    sign_in(agent_a)

    agent_set_password(actor=manager_a, agent=agent_a, password="new-pass")

    agent = reload(agent_a)
    assert agent.check_password("new-pass")
    assert not agent.check_password(PASSWORD)
    assert live_token_count(agent_a) == 0
    assert last_event(agent_a).type == AgentEventType.UPDATED
    assert "new-pass" not in str(last_event(agent_a).data)


def test_an_agent_changes_its_own_password_with_the_old_one(agent_a):
    sign_in(agent_a)

    agent_set_password(actor=agent_a, agent=agent_a, password="new-pass", old_password=PASSWORD)

    assert reload(agent_a).check_password("new-pass")
    assert live_token_count(agent_a) == 0


@pytest.mark.parametrize("old_password", [None, "", "wrong", 123])
def test_an_agent_changing_its_own_password_needs_the_right_old_one(
    agent_a, unchanged_database, old_password
):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_password(actor=agent_a, agent=agent_a, password="new-pass", old_password=old_password)

    assert excinfo.value.reason == "INVALID_OLD_PASSWORD"
    assert excinfo.value.details[0].field == "old_password"


@pytest.mark.parametrize("persona", ["admin_a", "manager_a", "super_admin"])
@pytest.mark.parametrize("old_password", [None, "wrong"])
def test_a_supervisor_changing_its_own_password_needs_the_old_one(
    request, persona, old_password, unchanged_database
):
    """A stolen token must not become the account for good (issue #11, item 10)."""
    supervisor = request.getfixturevalue(persona)
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_password(
            actor=supervisor, agent=supervisor, password="taken-over", old_password=old_password
        )

    assert excinfo.value.reason == "INVALID_OLD_PASSWORD"


def test_a_supervisor_changes_its_own_password_with_the_old_one(admin_a):
    agent_set_password(actor=admin_a, agent=admin_a, password="mine-new", old_password=PASSWORD)

    admin_a.refresh_from_db()
    assert admin_a.check_password("mine-new")


def test_a_supervisor_sending_a_wrong_old_password_is_refused(admin_a, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_password(actor=admin_a, agent=agent_a, password="new-pass", old_password="wrong")

    assert excinfo.value.reason == "INVALID_OLD_PASSWORD"


@pytest.mark.parametrize("password", ["", None, 5, "p" * 1025])
def test_a_new_password_must_be_a_non_empty_string(admin_a, agent_a, unchanged_database, password):
    sign_in(agent_a)

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_set_password(actor=admin_a, agent=agent_a, password=password)

    assert excinfo.value.reason == "INVALID_PASSWORD"


def test_a_plain_agent_may_not_reset_anothers_password(agent_a, manager_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_password(actor=agent_a, agent=manager_a, password="new-pass", old_password=PASSWORD)


def test_another_customers_admin_may_not_reset_a_password(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_set_password(actor=admin_b, agent=agent_a, password="new-pass")


# --- direct hash ----------------------------------------------------------------------------------


def test_regenerate_replaces_the_direct_hash(admin_a, agent_a):
    old = agent_a.direct_hash

    agent = agent_regenerate_direct_hash(actor=admin_a, agent=agent_a)

    assert DIRECT_HASH.match(agent.direct_hash)
    assert agent.direct_hash != old
    assert not Agent.objects.filter(direct_hash=old).exists()
    assert Agent.objects.get(direct_hash=agent.direct_hash).pk == agent_a.pk
    assert agent.tm_update is not None
    assert last_event(agent_a).type == AgentEventType.UPDATED
    assert last_event(agent_a).data["direct_hash"] == agent.direct_hash
    assert agent.direct_sip_uri == f"sip:direct.{agent.direct_hash}@sip.voipbin.net"


def test_an_agent_without_a_direct_hash_gets_one(admin_a, agent_a):
    Agent.objects.filter(pk=agent_a.pk).update(direct_hash=None)

    agent = agent_regenerate_direct_hash(actor=admin_a, agent=agent_a)

    assert DIRECT_HASH.match(agent.direct_hash)


def test_a_new_direct_hash_is_never_one_in_use(admin_a, agent_a, manager_a, monkeypatch):
    candidates = iter([manager_a.direct_hash, agent_a.direct_hash, "0123456789ab"])
    monkeypatch.setattr("agents.services.agents.secrets.token_hex", lambda nbytes: next(candidates))

    agent = agent_regenerate_direct_hash(actor=admin_a, agent=agent_a)

    assert agent.direct_hash == "0123456789ab"
    assert reload(manager_a).direct_hash != "0123456789ab"


def test_a_plain_agent_may_not_regenerate_a_direct_hash(agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_regenerate_direct_hash(actor=agent_a, agent=agent_a)


def test_another_customers_admin_may_not_regenerate_a_direct_hash(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_regenerate_direct_hash(actor=admin_b, agent=agent_a)


# --- delete ---------------------------------------------------------------------------------------


def test_delete_is_soft_and_frees_what_the_agent_held(admin_a, agent_a):
    from agents.services import agent_replace_addresses

    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[{"type": "extension", "target": "301"}])
    agent_set_status(actor=agent_a, agent=agent_a, status="available")
    sign_in(agent_a)

    deleted = agent_delete(actor=admin_a, agent=agent_a)

    assert deleted.tm_delete is not None
    assert deleted.direct_hash is None
    row = Agent.objects.get(pk=agent_a.pk)
    assert row.tm_delete is not None
    assert not row.is_active
    assert live_token_count(agent_a) == 0
    assert AgentStatusChange.objects.filter(agent=agent_a).count() == 2
    assert Address.objects.filter(agent=agent_a).count() == 1
    assert Address.objects.filter(agent=agent_a, tm_delete__isnull=True).count() == 0
    event = last_event(agent_a)
    assert event.type == AgentEventType.DELETED
    assert event.data["tm_delete"] != "9999-01-01 00:00:00.000000"
    with pytest.raises(NotFound):
        agent_get(actor=admin_a, agent_id=agent_a.pk)


def test_a_deleted_agents_direct_hash_may_be_given_again(admin_a, agent_a, monkeypatch):
    old_hash = agent_a.direct_hash
    agent_delete(actor=admin_a, agent=agent_a)
    monkeypatch.setattr("agents.services.agents.secrets.token_hex", lambda nbytes: old_hash)

    newcomer = make_agent(admin_a.customer_id)

    assert newcomer.direct_hash == old_hash


def test_deleting_again_is_not_found(admin_a, agent_a, unchanged_database):
    agent_delete(actor=admin_a, agent=agent_a)

    with unchanged_database(), pytest.raises(NotFound) as excinfo:
        agent_delete(actor=admin_a, agent=agent_a)

    assert excinfo.value.reason == "AGENT_NOT_FOUND"


def test_the_last_admin_cannot_be_deleted(admin_a, admin_b, unchanged_database):
    for actor in (admin_a, SYSTEM):
        with unchanged_database(), pytest.raises(FailedPrecondition) as excinfo:
            agent_delete(actor=actor, agent=admin_a)
        assert excinfo.value.reason == "LAST_ADMIN"


def test_an_admin_may_be_deleted_while_another_remains(admin_a, second_admin_a):
    agent_delete(actor=admin_a, agent=second_admin_a)

    with pytest.raises(FailedPrecondition):
        agent_delete(actor=admin_a, agent=admin_a)


def test_a_manager_deletes_a_plain_agent(manager_a, agent_a):
    assert agent_delete(actor=manager_a, agent=agent_a).tm_delete is not None


def test_a_plain_agent_may_not_delete(agent_a, manager_a, unchanged_database):
    for target in (manager_a, agent_a):
        with unchanged_database(), pytest.raises(PermissionDenied):
            agent_delete(actor=agent_a, agent=target)


def test_another_customers_admin_may_not_delete(admin_b, agent_a, unchanged_database):
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_delete(actor=admin_b, agent=agent_a)


@pytest.mark.parametrize(
    ("change", "kwargs"),
    [
        (agent_update, {"name": "ghost"}),
        (agent_set_status, {"status": "available"}),
        (agent_replace_tags, {"tag_ids": []}),
        (agent_set_permission, {"permission": 64}),
        (agent_set_password, {"password": "new-pass"}),
        (agent_regenerate_direct_hash, {}),
    ],
)
def test_a_deleted_agent_cannot_be_changed(admin_a, agent_a, unchanged_database, change, kwargs):
    """A caller holding a stale agent object must not write to (or resurrect) a deleted agent."""
    agent_delete(actor=admin_a, agent=agent_a)

    with unchanged_database(), pytest.raises(NotFound) as excinfo:
        change(actor=admin_a, agent=agent_a, **kwargs)

    assert excinfo.value.reason == "AGENT_NOT_FOUND"


# --- access keys --------------------------------------------------------------------------------


def test_access_key_plaintext_is_shown_once_and_stored_as_a_hash(admin_a):
    access_key, plaintext = access_key_create(
        actor=admin_a, customer_id=admin_a.customer_id, name="crm", detail="the CRM sync"
    )

    assert re.fullmatch(r"vb_[A-Za-z0-9_-]{32}", plaintext)
    row = AccessKey.objects.get(pk=access_key.pk)
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row.token_prefix == plaintext[:11]
    assert len(row.token_prefix) == 11
    assert (row.name, row.detail, row.customer_id) == ("crm", "the CRM sync", admin_a.customer_id)
    every_value = AccessKey.objects.filter(pk=access_key.pk).values_list().get()
    assert all(plaintext not in str(value) for value in every_value)


def test_access_keys_are_all_different(admin_a):
    keys = {access_key_create(actor=admin_a, customer_id=admin_a.customer_id)[1] for _ in range(5)}

    assert len(keys) == 5


def test_access_key_lives_one_year_by_default(admin_a):
    access_key, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id)

    assert access_key.tm_expire - access_key.tm_create == timedelta(days=365)


def test_access_key_lives_as_long_as_asked_from_one_day(admin_a):
    access_key, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id, expire=86400)

    assert access_key.tm_expire - access_key.tm_create == timedelta(seconds=86400)


@pytest.mark.parametrize("expire", [86399, 0, -1, "86400", 86400.0, True, [86400], 10**12])
def test_access_key_refuses_a_lifetime_under_a_day_or_not_an_integer(admin_a, unchanged_database, expire):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        access_key_create(actor=admin_a, customer_id=admin_a.customer_id, expire=expire)

    assert excinfo.value.reason == "INVALID_EXPIRE"
    assert excinfo.value.details[0].field == "expire"


@pytest.mark.parametrize("expire", [86399, 3_153_600_001])
def test_a_refused_access_key_lifetime_names_both_bounds(admin_a, expire):
    with pytest.raises(InvalidArgument) as excinfo:
        access_key_create(actor=admin_a, customer_id=admin_a.customer_id, expire=expire)

    rule = "must be a whole number of seconds between 86400 and 3153600000"
    assert excinfo.value.message == f"expire {rule}."
    assert excinfo.value.details[0].message == rule


def test_an_access_key_may_live_100_years(admin_a):
    access_key, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id, expire=3_153_600_000)

    assert access_key.tm_expire - access_key.tm_create == timedelta(days=100 * 365)


@pytest.mark.parametrize("persona", ["manager_a", "agent_a", "admin_b"])
def test_only_the_customers_admins_create_access_keys(request, customer_a, unchanged_database, persona):
    actor = request.getfixturevalue(persona)

    with unchanged_database(), pytest.raises(PermissionDenied) as excinfo:
        access_key_create(actor=actor, customer_id=customer_a.id)

    assert excinfo.value.reason == "ADMIN_REQUIRED"


def test_access_key_update_changes_only_the_fields_given(admin_a, access_key_a):
    access_key_update(actor=admin_a, access_key=access_key_a, detail="nightly")

    row = AccessKey.objects.get(pk=access_key_a.pk)
    assert (row.name, row.detail) == ("ci", "nightly")
    assert row.tm_update is not None


@pytest.mark.parametrize("persona", ["manager_a", "agent_a", "admin_b"])
def test_only_the_customers_admins_change_or_delete_access_keys(
    request, access_key_a, unchanged_database, persona
):
    actor = request.getfixturevalue(persona)

    with unchanged_database(), pytest.raises(PermissionDenied):
        access_key_update(actor=actor, access_key=access_key_a, name="mine")
    with unchanged_database(), pytest.raises(PermissionDenied):
        access_key_delete(actor=actor, access_key=access_key_a)


def test_access_key_update_with_a_stale_key_keeps_the_other_writers_change(admin_a, access_key_a):
    stale = AccessKey.objects.get(pk=access_key_a.pk)
    access_key_update(actor=admin_a, access_key=access_key_a, name="renamed")

    updated = access_key_update(actor=admin_a, access_key=stale, detail="new")

    assert (updated.name, updated.detail) == ("renamed", "new")
    assert AccessKey.objects.filter(pk=stale.pk).values_list("name", "detail").get() == ("renamed", "new")


def test_access_key_update_refuses_a_long_name(admin_a, access_key_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        access_key_update(actor=admin_a, access_key=access_key_a, name="n" * 256)

    assert excinfo.value.reason == "INVALID_NAME"


def test_access_key_delete_is_soft(admin_a, access_key_a, unchanged_database):
    access_key_delete(actor=admin_a, access_key=access_key_a)

    row = AccessKey.objects.get(pk=access_key_a.pk)
    assert row.tm_delete is not None
    with unchanged_database(), pytest.raises(NotFound) as excinfo:
        access_key_delete(actor=admin_a, access_key=access_key_a)
    assert excinfo.value.reason == "ACCESS_KEY_NOT_FOUND"


# --- restore (operators, from the admin site) -----------------------------------------------------


def test_a_super_admin_restores_a_deleted_agent_offline_with_a_new_hash_and_no_addresses(
    admin_a, agent_a, super_admin
):
    from agents.services import agent_replace_addresses, agent_restore

    agent_replace_addresses(actor=admin_a, agent=agent_a, addresses=[{"type": "extension", "target": "401"}])
    agent_set_status(actor=agent_a, agent=agent_a, status="busy")
    old_hash = agent_a.direct_hash
    agent_delete(actor=admin_a, agent=agent_a)
    make_agent(admin_a.customer_id, addresses=[{"type": "extension", "target": "401"}])

    agent = agent_restore(actor=super_admin, agent=agent_a)

    assert agent.tm_delete is None
    assert agent.status == "offline"
    assert DIRECT_HASH.match(agent.direct_hash)
    assert agent.direct_hash != old_hash
    assert agent_representation(agent)["addresses"] == []
    assert agent_representation(reload(agent_a))["addresses"] == []
    assert last_event(agent_a).data["addresses"] == []
    change = AgentStatusChange.objects.filter(agent=agent_a).order_by("-id").first()
    assert (change.from_status, change.to_status, change.reason) == ("busy", "offline", "restored")
    agent = agent_replace_addresses(
        actor=admin_a, agent=agent_a, addresses=[{"type": "extension", "target": "402"}]
    )
    assert [a["target"] for a in agent_representation(agent)["addresses"]] == ["402"]


def test_restore_refuses_a_taken_username_a_live_agent_and_non_operators(
    admin_a, agent_a, super_admin, unchanged_database
):
    from agents.services import agent_restore

    with unchanged_database(), pytest.raises(FailedPrecondition) as excinfo:
        agent_restore(actor=super_admin, agent=agent_a)
    assert excinfo.value.reason == "AGENT_NOT_DELETED"

    agent_delete(actor=admin_a, agent=agent_a)
    with unchanged_database(), pytest.raises(PermissionDenied):
        agent_restore(actor=admin_a, agent=agent_a)

    make_agent(admin_a.customer_id, username="Pat-Agent")
    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        agent_restore(actor=super_admin, agent=agent_a)
    assert excinfo.value.reason == "AGENT_ALREADY_EXISTS"


# --- text PostgreSQL cannot store -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda admin: agent_create(
                actor=admin, customer_id=admin.customer_id, username="n", password="x", name="a\x00b"
            ),
            "INVALID_NAME",
        ),
        (lambda admin: agent_update(actor=admin, agent=admin, detail="\x00"), "INVALID_DETAIL"),
        (
            lambda admin: agent_set_status(actor=admin, agent=admin, status="busy", reason="\x00"),
            "INVALID_REASON",
        ),
        (
            lambda admin: access_key_create(actor=admin, customer_id=admin.customer_id, name="k\x00"),
            "INVALID_NAME",
        ),
    ],
    ids=["agent name", "agent detail", "status reason", "access key name"],
)
def test_a_nul_character_is_refused_not_a_database_error(admin_a, unchanged_database, change, reason):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        change(admin_a)

    assert excinfo.value.reason == reason


# --- writes from a copy read before another change (compare-and-set on tm_update) --------------


def _as_read(agent: Agent) -> Agent:
    """The agent as a door reads it: annotated with its representation."""
    return Agent.objects.with_representation().get(pk=agent.pk)


def _last_event(agent: Agent) -> AgentEvent:
    return AgentEvent.objects.filter(agent_id=agent.pk).order_by("-id").first()


def test_a_status_change_from_an_unchanged_copy_records_what_a_re_read_would(admin_a, agent_a):
    changed = agent_set_status(actor=admin_a, agent=_as_read(agent_a), status="busy", reason="call")

    fresh = _as_read(agent_a)
    assert agent_representation(changed) == agent_representation(fresh)
    assert _last_event(agent_a).data == agent_representation(fresh)
    assert (fresh.status, fresh.tm_update) == ("busy", fresh.tm_status)


def test_a_status_change_from_a_stale_copy_uses_the_current_row(admin_a, agent_a):
    stale = _as_read(agent_a)
    agent_set_status(actor=admin_a, agent=_as_read(agent_a), status="busy")
    agent_update(actor=admin_a, agent=_as_read(agent_a), name="Renamed meanwhile")

    changed = agent_set_status(actor=admin_a, agent=stale, status="away")

    history = AgentStatusChange.objects.filter(agent=agent_a).order_by("-id").first()
    assert (history.from_status, history.to_status) == ("busy", "away")
    assert changed.name == "Renamed meanwhile"
    assert _last_event(agent_a).data == agent_representation(_as_read(agent_a))


def test_setting_the_status_the_copy_shows_reads_and_writes_nothing(
    admin_a, agent_a, django_assert_num_queries
):
    copy = _as_read(agent_a)  # offline

    with django_assert_num_queries(0):
        unchanged = agent_set_status(actor=admin_a, agent=copy, status="offline")

    assert unchanged is copy


def test_a_stale_copy_already_in_the_wanted_status_records_nothing(admin_a, agent_a):
    stale = _as_read(agent_a)  # offline
    agent_set_status(actor=admin_a, agent=_as_read(agent_a), status="busy")
    agent_set_status(actor=admin_a, agent=_as_read(agent_a), status="away")
    changes_before = AgentStatusChange.objects.filter(agent=agent_a).count()

    agent_set_status(actor=admin_a, agent=stale, status="away")

    assert AgentStatusChange.objects.filter(agent=agent_a).count() == changes_before


def test_an_address_replacement_from_an_unchanged_copy_records_what_a_re_read_would(admin_a, agent_a):
    changed = agent_replace_addresses(
        actor=admin_a, agent=_as_read(agent_a), addresses=[{"type": "tel", "target": "+1 555 987 6543"}]
    )

    fresh = _as_read(agent_a)
    assert agent_representation(changed) == agent_representation(fresh)
    assert _last_event(agent_a).data == agent_representation(fresh)
    assert [a["target"] for a in agent_representation(fresh)["addresses"]] == ["+15559876543"]


def test_an_address_replacement_from_a_stale_copy_uses_the_current_row(admin_a, agent_a):
    stale = _as_read(agent_a)
    agent_update(actor=admin_a, agent=_as_read(agent_a), name="Renamed meanwhile")

    changed = agent_replace_addresses(
        actor=admin_a, agent=stale, addresses=[{"type": "extension", "target": "42"}]
    )

    assert changed.name == "Renamed meanwhile"
    assert _last_event(agent_a).data == agent_representation(_as_read(agent_a))
    assert agent_representation(changed)["addresses"][0]["target"] == "42"


def test_a_write_from_a_copy_of_an_agent_deleted_meanwhile_is_not_found(admin_a, agent_a, unchanged_database):
    stale = _as_read(agent_a)
    agent_delete(actor=admin_a, agent=_as_read(agent_a))

    with unchanged_database():
        with pytest.raises(NotFound):
            agent_set_status(actor=admin_a, agent=stale, status="available")
        with pytest.raises(NotFound):
            agent_replace_addresses(actor=admin_a, agent=stale, addresses=[])
