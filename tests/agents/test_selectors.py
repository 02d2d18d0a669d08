"""Scoped reads: tenant scoping, soft delete, list filters, credentials (contract sections 2, 5, 6)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.models import AccessKey, Agent, AgentStatusChange, LoginToken
from agents.representation import agent_representation, agent_representations
from agents.selectors import (
    MAX_TAG_FILTER_IDS,
    access_key_get,
    access_key_list,
    agent_get,
    agent_list,
    agent_status_history,
    credential_actor,
    parse_tag_id_filter,
    parse_uuid,
)
from agents.services import (
    access_key_create,
    access_key_delete,
    agent_delete,
    agent_set_password,
    agent_set_permission,
    agent_set_status,
    agent_update,
    login_token_create,
    login_token_revoke,
)
from tests.factories import PASSWORD, make_agent, make_tag
from voipbin_admin.errors import InvalidArgument, NotFound, Unauthenticated


def usernames(agents) -> list[str]:
    return [agent.username for agent in agents]


# --- ids ------------------------------------------------------------------------------------------


def test_parse_uuid_takes_uuids_and_their_text():
    value = uuid.uuid4()

    assert parse_uuid(value) == value
    assert parse_uuid(str(value)) == value
    assert parse_uuid(str(value).upper()) == value


@pytest.mark.parametrize("raw", ["", "abc", "1234", None, 42, "00000000-0000-0000-0000-00000000000g"])
def test_parse_uuid_refuses_malformed_ids(raw):
    with pytest.raises(InvalidArgument) as excinfo:
        parse_uuid(raw)

    assert excinfo.value.reason == "INVALID_ID"
    assert excinfo.value.http_status == 400


def test_tag_id_filter_takes_comma_separated_ids():
    first, second = uuid.uuid4(), uuid.uuid4()

    assert parse_tag_id_filter(f"{first}, {second}") == [first, second]


@pytest.mark.parametrize(
    "raw",
    # Fixed ids: parametrized ids must be the same in every pytest-xdist worker.
    [
        "",
        "  ",
        ",",
        "6f1c2d3e-0000-4000-8000-000000000001,",
        "6f1c2d3e-0000-4000-8000-000000000001,,6f1c2d3e-0000-4000-8000-000000000002",
        "not-a-uuid",
        "6f1c2d3e-0000-4000-8000-000000000001,x",
    ],
)
def test_tag_id_filter_refuses_empty_or_malformed_lists(raw):
    with pytest.raises(InvalidArgument) as excinfo:
        parse_tag_id_filter(raw)

    assert excinfo.value.reason == "INVALID_TAG_IDS"


def test_tag_id_filter_takes_at_most_100_ids():
    assert len(parse_tag_id_filter(",".join(str(uuid.uuid4()) for _ in range(MAX_TAG_FILTER_IDS)))) == 100

    with pytest.raises(InvalidArgument) as excinfo:
        parse_tag_id_filter(",".join(str(uuid.uuid4()) for _ in range(MAX_TAG_FILTER_IDS + 1)))
    assert excinfo.value.reason == "INVALID_TAG_IDS"


# --- agent_list -----------------------------------------------------------------------------------


def test_list_shows_the_customers_live_agents_newest_first(admin_a, manager_a, agent_a, admin_b):
    gone = make_agent(admin_a.customer_id, username="gone")
    agent_delete(actor=admin_a, agent=gone)

    listed = usernames(agent_list(customer_id=admin_a.customer_id))

    assert listed == ["pat-agent", "mike-manager", "alice-admin"]


def test_list_breaks_ties_on_the_creation_time_by_id(admin_a):
    agents = [make_agent(admin_a.customer_id) for _ in range(4)]
    Agent.objects.filter(pk__in=[agent.pk for agent in agents]).update(tm_create=admin_a.tm_create)

    listed = [agent.pk for agent in agent_list(customer_id=admin_a.customer_id)]

    assert listed == sorted([admin_a.pk, *(agent.pk for agent in agents)], reverse=True)


def test_list_filters_on_one_status(admin_a, manager_a, agent_a):
    agent_set_status(actor=admin_a, agent=agent_a, status="available")
    agent_set_status(actor=admin_a, agent=manager_a, status="busy")

    assert usernames(agent_list(customer_id=admin_a.customer_id, status="available")) == ["pat-agent"]
    assert usernames(agent_list(customer_id=admin_a.customer_id, status="offline")) == ["alice-admin"]


def test_list_tag_filter_matches_agents_with_any_of_the_tags_once(admin_a, manager_a, agent_a):
    english, spanish, german = (make_tag(admin_a.customer_id) for _ in range(3))
    both = make_agent(admin_a.customer_id, username="both", tag_ids=[english.id, spanish.id])
    make_agent(admin_a.customer_id, username="only-german", tag_ids=[german.id])
    make_agent(admin_a.customer_id, username="only-english", tag_ids=[english.id])

    listed = usernames(agent_list(customer_id=admin_a.customer_id, tag_ids=[english.id, spanish.id]))

    assert listed == ["only-english", "both"]
    assert agent_representation(agent_list(customer_id=admin_a.customer_id, tag_ids=[spanish.id])[0]) == (
        agent_representation(Agent.objects.with_related().get(pk=both.pk))
    )


def test_available_agents_with_a_tag_are_what_a_queue_may_route_to(admin_a, agent_a, manager_a):
    english = make_tag(admin_a.customer_id)
    for agent in (agent_a, manager_a):
        from agents.services import agent_replace_tags

        agent_replace_tags(actor=admin_a, agent=agent, tag_ids=[english.id])
    agent_set_status(actor=agent_a, agent=agent_a, status="available")

    routable = agent_list(customer_id=admin_a.customer_id, status="available", tag_ids=[english.id])

    assert usernames(routable) == ["pat-agent"]


def test_list_filters_on_the_username_in_any_case(admin_a, agent_a):
    assert usernames(agent_list(customer_id=admin_a.customer_id, username="PAT-AGENT")) == ["pat-agent"]
    assert usernames(agent_list(customer_id=admin_a.customer_id, username="pat")) == []


def test_list_q_matches_name_username_and_detail_in_any_case(admin_a, agent_a, manager_a):
    agent_update(actor=admin_a, agent=agent_a, name="Grace Hopper")
    agent_update(actor=admin_a, agent=manager_a, detail="Covers for grace on Fridays")

    assert usernames(agent_list(customer_id=admin_a.customer_id, q="GRACE")) == ["mike-manager", "pat-agent"]
    assert usernames(agent_list(customer_id=admin_a.customer_id, q="ALICE")) == ["alice-admin"]
    assert usernames(agent_list(customer_id=admin_a.customer_id, q="nobody")) == []


@pytest.mark.parametrize("field", ["status", "username", "q"])
def test_list_filters_holding_a_nul_character_match_nothing(admin_a, field):
    assert list(agent_list(customer_id=admin_a.customer_id, **{field: "alice\x00"})) == []


def test_list_and_its_representation_take_a_constant_number_of_queries(
    admin_a, django_assert_num_queries, django_assert_max_num_queries
):
    tags = [make_tag(admin_a.customer_id) for _ in range(3)]
    for number in range(12):
        make_agent(
            admin_a.customer_id,
            tag_ids=[tag.id for tag in tags[: number % 3 + 1]],
            addresses=[{"type": "extension", "target": str(100 + number)}],
        )

    with django_assert_num_queries(1):
        page = agent_representations(agent_list(customer_id=admin_a.customer_id).with_representation())
    # With `q`, PostgreSQL first counts the customer's agents up to SEARCH_SCAN_LIMIT (which
    # search plan fits: agents.selectors.agent_list); still the same at any size.
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 1):
        filtered = agent_representations(
            agent_list(customer_id=admin_a.customer_id, tag_ids=[tags[0].id], q="agent").with_representation()
        )
    with django_assert_max_num_queries(3):
        pages = [agent_representation(a) for a in agent_list(customer_id=admin_a.customer_id).with_related()]

    assert len(page) == 13
    assert len(filtered) == 12
    assert page == pages  # both ways of fetching give the same representation


# --- agent_get ------------------------------------------------------------------------------------


def test_get_returns_an_agent_of_the_actors_customer(admin_a, agent_a):
    assert agent_get(actor=admin_a, agent_id=str(agent_a.pk)).pk == agent_a.pk
    assert agent_get(actor=agent_a, agent_id=agent_a.pk).pk == agent_a.pk


def test_get_answers_another_customers_agent_as_missing(admin_a, agent_a, admin_b):
    for agent_id in (agent_a.pk, uuid.uuid4()):
        with pytest.raises(NotFound) as excinfo:
            agent_get(actor=admin_b, agent_id=agent_id)
        assert excinfo.value.reason == "AGENT_NOT_FOUND"


def test_an_access_key_sees_only_its_customer(admin_a, agent_a, admin_b):
    key_b, _ = access_key_create(actor=admin_b, customer_id=admin_b.customer_id)

    assert agent_get(actor=key_b, agent_id=admin_b.pk).pk == admin_b.pk
    with pytest.raises(NotFound):
        agent_get(actor=key_b, agent_id=agent_a.pk)


def test_a_super_admin_sees_every_customer(super_admin, admin_b):
    assert agent_get(actor=super_admin, agent_id=admin_b.pk).pk == admin_b.pk


def test_get_answers_a_deleted_agent_as_missing_unless_asked(admin_a, agent_a):
    agent_delete(actor=admin_a, agent=agent_a)

    with pytest.raises(NotFound):
        agent_get(actor=admin_a, agent_id=agent_a.pk)
    assert agent_get(actor=admin_a, agent_id=agent_a.pk, include_deleted=True).tm_delete is not None


def test_get_refuses_a_malformed_id(admin_a):
    with pytest.raises(InvalidArgument) as excinfo:
        agent_get(actor=admin_a, agent_id="nope")

    assert excinfo.value.reason == "INVALID_ID"


def test_status_history_is_newest_first_and_kept_after_delete(admin_a, agent_a):
    agent_set_status(actor=agent_a, agent=agent_a, status="available", reason="shift start")
    agent_set_status(actor=admin_a, agent=agent_a, status="away", reason="lunch")
    agent_delete(actor=admin_a, agent=agent_a)

    history = list(agent_status_history(agent=agent_a))

    assert [(c.from_status, c.to_status) for c in history] == [
        ("available", "away"),
        ("offline", "available"),
        ("", "offline"),
    ]
    assert [c.changed_by_label for c in history] == ["alice-admin", "pat-agent", "system"]
    assert AgentStatusChange.objects.filter(agent=agent_a).count() == 3


# --- access keys ----------------------------------------------------------------------------------


def test_access_key_list_shows_the_customers_live_keys_newest_first(admin_a, admin_b):
    first, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="first")
    second, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="second")
    gone, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="gone")
    access_key_delete(actor=admin_a, access_key=gone)
    access_key_create(actor=admin_b, customer_id=admin_b.customer_id)

    assert list(access_key_list(customer_id=admin_a.customer_id)) == [second, first]


def test_access_key_get_answers_another_customers_or_a_deleted_key_as_missing(admin_a, admin_b):
    key, _ = access_key_create(actor=admin_a, customer_id=admin_a.customer_id)
    assert access_key_get(actor=admin_a, access_key_id=str(key.pk)) == key

    with pytest.raises(NotFound) as excinfo:
        access_key_get(actor=admin_b, access_key_id=key.pk)
    assert excinfo.value.reason == "ACCESS_KEY_NOT_FOUND"

    access_key_delete(actor=admin_a, access_key=key)
    with pytest.raises(NotFound):
        access_key_get(actor=admin_a, access_key_id=key.pk)


# --- credentials ----------------------------------------------------------------------------------


def assert_invalid_credential(raw: str) -> None:
    with pytest.raises(Unauthenticated) as excinfo:
        credential_actor(raw)
    assert excinfo.value.reason == "INVALID_CREDENTIALS"
    assert excinfo.value.http_status == 401


def test_an_access_key_resolves_to_itself(admin_a):
    key, plaintext = access_key_create(actor=admin_a, customer_id=admin_a.customer_id)

    actor = credential_actor(plaintext)

    assert isinstance(actor, AccessKey)
    assert actor.pk == key.pk
    assert actor.customer_id == admin_a.customer_id


def field_values(instance) -> dict:
    """Every column's value with its Python type, as an instance loaded from the database holds it."""
    return {
        field.attname: (type(value), value)
        for field in type(instance)._meta.concrete_fields
        for value in [getattr(instance, field.attname)]
    }


def test_the_credential_reads_load_what_the_orm_loads(admin_a):
    # They are written in SQL (agents.query_expressions.fetch_instance); UUIDs and timestamps
    # must come back as the ORM gives them on every database.
    key, key_plaintext = access_key_create(actor=admin_a, customer_id=admin_a.customer_id)
    _agent, token = login_token_create(username=admin_a.username, password=PASSWORD)

    assert field_values(credential_actor(key_plaintext)) == field_values(AccessKey.objects.get(pk=key.pk))
    assert field_values(credential_actor(token)) == field_values(Agent.objects.get(pk=admin_a.pk))


def test_the_one_agent_read_loads_what_the_orm_loads(admin_a):
    tag = make_tag(admin_a.customer_id, name="billing")
    agent = make_agent(
        admin_a.customer_id, tag_ids=[tag.id], addresses=[{"type": "extension", "target": "7"}], detail="d"
    )
    agent_set_status(actor=admin_a, agent=agent, status="busy")

    read = agent_get(actor=admin_a, agent_id=agent.pk)

    assert field_values(read) == field_values(Agent.objects.get(pk=agent.pk))
    assert agent_representation(read) == agent_representation(Agent.objects.get(pk=agent.pk))
    assert agent_representation(read)["tag_ids"] == [str(tag.id)]


def test_an_expired_access_key_is_refused(admin_a):
    key, plaintext = access_key_create(actor=admin_a, customer_id=admin_a.customer_id)
    AccessKey.objects.filter(pk=key.pk).update(tm_expire=timezone.now() - timedelta(seconds=1))

    assert_invalid_credential(plaintext)


def test_a_deleted_access_key_is_refused(admin_a):
    key, plaintext = access_key_create(actor=admin_a, customer_id=admin_a.customer_id)
    access_key_delete(actor=admin_a, access_key=key)

    assert_invalid_credential(plaintext)


@pytest.mark.parametrize("raw", ["", "vb_", "vb_" + "x" * 32, "nonsense", "Bearer x"])
def test_unknown_credentials_are_refused(admin_a, raw):
    access_key_create(actor=admin_a, customer_id=admin_a.customer_id)
    login_token_create(username=admin_a.username, password=PASSWORD)

    assert_invalid_credential(raw)


def test_a_login_token_resolves_to_its_agent_and_is_stored_hashed(agent_a):
    _agent, plaintext = login_token_create(username="PAT-AGENT", password=PASSWORD)

    assert credential_actor(plaintext) == agent_a
    token = LoginToken.objects.get(agent=agent_a)
    assert plaintext not in token.token_hash
    assert token.tm_expire - token.tm_create == timedelta(days=7)


def test_a_revoked_login_token_is_refused(agent_a):
    _agent, plaintext = login_token_create(username=agent_a.username, password=PASSWORD)
    login_token_revoke(plaintext=plaintext)

    assert_invalid_credential(plaintext)


def test_an_expired_login_token_is_refused(agent_a):
    _agent, plaintext = login_token_create(username=agent_a.username, password=PASSWORD)
    LoginToken.objects.filter(agent=agent_a).update(tm_expire=timezone.now() - timedelta(seconds=1))

    assert_invalid_credential(plaintext)


def test_the_login_token_of_a_deleted_agent_is_refused(admin_a, agent_a):
    _agent, plaintext = login_token_create(username=agent_a.username, password=PASSWORD)
    agent_delete(actor=admin_a, agent=agent_a)
    assert_invalid_credential(plaintext)

    # Even if the revocation were lost, a deleted agent's token does not authenticate.
    LoginToken.objects.filter(agent=agent_a).update(tm_revoke=None)
    assert_invalid_credential(plaintext)


@pytest.mark.parametrize(
    "change",
    [
        lambda admin, agent: agent_set_password(actor=admin, agent=agent, password="another"),
        lambda admin, agent: agent_set_permission(actor=admin, agent=agent, permission=64),
    ],
    ids=["password", "permission"],
)
def test_a_password_or_permission_change_ends_the_login_token(admin_a, agent_a, change):
    _agent, plaintext = login_token_create(username=agent_a.username, password=PASSWORD)

    change(admin_a, agent_a)

    assert_invalid_credential(plaintext)
