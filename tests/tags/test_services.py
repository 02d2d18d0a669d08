"""Tag services and selectors (contract section 7)."""

from __future__ import annotations

import pytest
from django.db.models.functions import Lower

from agents.models import Agent, AgentEvent, AgentEventType
from agents.representation import agent_representation
from agents.services import agent_delete, agent_replace_tags
from tags.models import AgentTag, Tag
from tags.selectors import tag_get, tag_list, tag_list_with_agent_counts
from tags.services import tag_create, tag_delete, tag_update
from tests.factories import make_agent, make_tag
from voipbin_admin.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied


def tag_ids_of(agent: Agent) -> list[str]:
    return agent_representation(Agent.objects.with_related().get(pk=agent.pk))["tag_ids"]


# --- create ---------------------------------------------------------------------------------------


def test_a_supervisor_creates_a_tag(admin_a, manager_a):
    tag = tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="english", detail="speaks English")
    by_manager = tag_create(actor=manager_a, customer_id=manager_a.customer_id, name="spanish")

    assert (tag.customer_id, tag.name, tag.detail) == (admin_a.customer_id, "english", "speaks English")
    assert tag.tm_update is None
    assert tag.tm_delete is None
    assert by_manager.detail == ""


@pytest.mark.parametrize("name", ["", None, "n" * 256, 5])
def test_a_tag_needs_a_name_of_1_to_255_characters(admin_a, unchanged_database, name):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        tag_create(actor=admin_a, customer_id=admin_a.customer_id, name=name)

    assert excinfo.value.reason == "INVALID_NAME"


@pytest.mark.parametrize("name", [" ", "   ", "\t\n"])
def test_a_blank_tag_name_is_refused_on_create_and_rename(admin_a, unchanged_database, name):
    tag = tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="billing")

    with unchanged_database():
        for attempt in (
            lambda: tag_create(actor=admin_a, customer_id=admin_a.customer_id, name=name),
            lambda: tag_update(actor=admin_a, tag=tag, name=name),
        ):
            with pytest.raises(InvalidArgument) as excinfo:
                attempt()
            assert excinfo.value.reason == "INVALID_NAME"


def test_a_255_character_name_is_fine(admin_a):
    assert len(tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="n" * 255).name) == 255


def test_a_tag_name_is_unique_in_the_customer_in_any_case(admin_a, unchanged_database):
    tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="Billing")

    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="bILLING")

    assert excinfo.value.reason == "TAG_ALREADY_EXISTS"
    assert excinfo.value.http_status == 409


def test_the_same_name_is_fine_in_another_customer(admin_a, admin_b):
    tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="billing")

    assert tag_create(actor=admin_b, customer_id=admin_b.customer_id, name="BILLING").name == "BILLING"


def test_a_deleted_tags_name_is_free_again(admin_a):
    old = tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="billing")
    tag_delete(actor=admin_a, tag=old)

    new = tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="Billing")

    assert new.pk != old.pk
    assert Tag.objects.annotate(lower=Lower("name")).filter(lower="billing").count() == 2


@pytest.mark.parametrize("persona", ["agent_a", "admin_b"])
def test_only_the_customers_supervisors_create_tags(request, customer_a, unchanged_database, persona):
    actor = request.getfixturevalue(persona)

    with unchanged_database(), pytest.raises(PermissionDenied):
        tag_create(actor=actor, customer_id=customer_a.id, name="mine")


# --- update ---------------------------------------------------------------------------------------


def test_update_changes_only_the_fields_given(admin_a):
    tag = make_tag(admin_a.customer_id, name="vip", detail="big accounts")

    tag_update(actor=admin_a, tag=tag, name="VIP")
    tag = Tag.objects.get(pk=tag.pk)
    assert (tag.name, tag.detail) == ("VIP", "big accounts")
    assert tag.tm_update is not None

    tag_update(actor=admin_a, tag=tag, detail="")
    tag = Tag.objects.get(pk=tag.pk)
    assert (tag.name, tag.detail) == ("VIP", "")


def test_update_with_a_stale_tag_keeps_the_other_writers_change(admin_a):
    tag = make_tag(admin_a.customer_id, name="vip", detail="old")
    stale = Tag.objects.get(pk=tag.pk)
    tag_update(actor=admin_a, tag=tag, name="gold")

    updated = tag_update(actor=admin_a, tag=stale, detail="new")

    assert Tag.objects.filter(pk=tag.pk).values_list("name", "detail").get() == ("gold", "new")
    assert (updated.name, updated.detail) == ("gold", "new")


def test_renaming_to_another_tags_name_is_refused(admin_a, unchanged_database):
    make_tag(admin_a.customer_id, name="english")
    tag = make_tag(admin_a.customer_id, name="spanish")

    with unchanged_database(), pytest.raises(AlreadyExists) as excinfo:
        tag_update(actor=admin_a, tag=tag, name="English")

    assert excinfo.value.reason == "TAG_ALREADY_EXISTS"


def test_renaming_a_tag_to_its_own_name_in_another_case_is_fine(admin_a):
    tag = make_tag(admin_a.customer_id, name="english")

    assert tag_update(actor=admin_a, tag=tag, name="English").name == "English"


@pytest.mark.parametrize(
    ("fields", "reason"), [({"name": ""}, "INVALID_NAME"), ({"detail": 5}, "INVALID_DETAIL")]
)
def test_update_refuses_bad_fields(admin_a, unchanged_database, fields, reason):
    tag = make_tag(admin_a.customer_id)

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        tag_update(actor=admin_a, tag=tag, **fields)

    assert excinfo.value.reason == reason


@pytest.mark.parametrize("persona", ["agent_a", "admin_b"])
def test_only_the_customers_supervisors_change_or_delete_tags(
    request, customer_a, unchanged_database, persona
):
    tag = make_tag(customer_a.id)
    actor = request.getfixturevalue(persona)

    with unchanged_database(), pytest.raises(PermissionDenied):
        tag_update(actor=actor, tag=tag, name="mine")
    with unchanged_database(), pytest.raises(PermissionDenied):
        tag_delete(actor=actor, tag=tag)


# --- delete ---------------------------------------------------------------------------------------


def test_delete_takes_the_tag_off_every_agent_and_records_their_update(admin_a, agent_a, manager_a):
    english, spanish = make_tag(admin_a.customer_id), make_tag(admin_a.customer_id)
    agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[english.id, spanish.id])
    agent_replace_tags(actor=admin_a, agent=manager_a, tag_ids=[english.id])
    untouched = make_agent(admin_a.customer_id, tag_ids=[spanish.id])
    last_event_before = AgentEvent.objects.order_by("-id").values_list("id", flat=True).first()

    deleted = tag_delete(actor=admin_a, tag=english)

    assert deleted.tm_delete is not None
    assert Tag.objects.get(pk=english.pk).tm_delete is not None
    assert tag_ids_of(agent_a) == [str(spanish.id)]
    assert tag_ids_of(manager_a) == []
    assert tag_ids_of(untouched) == [str(spanish.id)]
    new_events = list(AgentEvent.objects.filter(id__gt=last_event_before))
    assert {(event.agent_id, event.type) for event in new_events} == {
        (agent_a.pk, AgentEventType.UPDATED),
        (manager_a.pk, AgentEventType.UPDATED),
    }
    for event in new_events:
        assert str(english.id) not in event.data["tag_ids"]
    assert Agent.objects.get(pk=agent_a.pk).tm_update is not None


def test_a_deleted_tag_is_not_found_and_not_listed(admin_a):
    tag = make_tag(admin_a.customer_id)
    tag_delete(actor=admin_a, tag=tag)

    with pytest.raises(NotFound) as excinfo:
        tag_get(actor=admin_a, tag_id=tag.id)
    assert excinfo.value.reason == "TAG_NOT_FOUND"
    assert tag not in tag_list(customer_id=admin_a.customer_id)


def test_deleting_a_tag_again_is_not_found(admin_a, unchanged_database):
    tag = make_tag(admin_a.customer_id)
    tag_delete(actor=admin_a, tag=tag)

    with unchanged_database(), pytest.raises(NotFound) as excinfo:
        tag_delete(actor=admin_a, tag=tag)

    assert excinfo.value.reason == "TAG_NOT_FOUND"


def test_a_deleted_tag_cannot_be_changed(admin_a, unchanged_database):
    tag = make_tag(admin_a.customer_id)
    tag_delete(actor=admin_a, tag=tag)

    with unchanged_database(), pytest.raises(NotFound):
        tag_update(actor=admin_a, tag=tag, name="ghost")


def test_a_deleted_tag_cannot_be_given_to_agents(admin_a, agent_a, unchanged_database):
    tag = make_tag(admin_a.customer_id)
    tag_delete(actor=admin_a, tag=tag)

    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[tag.id])

    assert excinfo.value.reason == "INVALID_TAG_IDS"


# --- selectors ------------------------------------------------------------------------------------


def test_tag_get_answers_another_customers_tag_as_missing(admin_a, admin_b):
    tag = make_tag(admin_a.customer_id)

    assert tag_get(actor=admin_a, tag_id=str(tag.id)) == tag
    with pytest.raises(NotFound) as excinfo:
        tag_get(actor=admin_b, tag_id=tag.id)
    assert excinfo.value.reason == "TAG_NOT_FOUND"


def test_tag_get_refuses_a_malformed_id(admin_a):
    with pytest.raises(InvalidArgument) as excinfo:
        tag_get(actor=admin_a, tag_id="not-a-uuid")

    assert excinfo.value.reason == "INVALID_ID"


def test_tag_list_is_the_customers_live_tags_in_name_order(admin_a, admin_b):
    # Created in neither name nor binary order ("Mike" sorts before "alpha" in binary order).
    zulu, alpha, mike = (make_tag(admin_a.customer_id, name=name) for name in ("zulu", "alpha", "Mike"))
    make_tag(admin_b.customer_id, name="beta")
    tag_delete(actor=admin_a, tag=make_tag(admin_a.customer_id, name="bravo"))

    assert list(tag_list(customer_id=admin_a.customer_id)) == [alpha, mike, zulu]


def test_tag_counts_count_live_agents_only(admin_a, agent_a, manager_a):
    tag = make_tag(admin_a.customer_id, name="english")
    agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[tag.id])
    agent_replace_tags(actor=admin_a, agent=manager_a, tag_ids=[tag.id])
    from agents.services import agent_set_status

    agent_set_status(actor=agent_a, agent=agent_a, status="available")
    gone = make_agent(admin_a.customer_id, tag_ids=[tag.id])
    agent_delete(actor=admin_a, agent=gone)

    (counted,) = tag_list_with_agent_counts(customer_id=admin_a.customer_id)

    assert (counted.agent_count, counted.available_count) == (2, 1)
    assert AgentTag.objects.filter(tag=tag).count() == 3


def test_a_nul_character_in_a_tag_name_is_refused(admin_a, unchanged_database):
    with unchanged_database(), pytest.raises(InvalidArgument) as excinfo:
        tag_create(actor=admin_a, customer_id=admin_a.customer_id, name="night\x00shift")

    assert excinfo.value.reason == "INVALID_NAME"
