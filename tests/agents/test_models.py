"""Agent is the user model: sign-in by username (any case) and password, never for a deleted
agent; and the database constraints that back the uniqueness rules."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.backends import AgentBackend
from agents.models import Address, Agent, Permission
from agents.permissions import SYSTEM
from agents.services import agent_delete, agent_set_password, login_token_create
from tags.models import Tag
from tests.factories import PASSWORD, make_agent
from voipbin_admin.core import domain_error_for_integrity_error
from voipbin_admin.errors import InvalidArgument, Unauthenticated

# --- the user model and sign-in -------------------------------------------------------------------


def test_agent_is_the_user_model():
    assert get_user_model() is Agent


def test_passwords_are_hashed_by_django(agent_a):
    stored = Agent.objects.filter(pk=agent_a.pk).values_list("password", flat=True).get()

    assert PASSWORD not in stored
    # Django's hashing, with the tests' fast hasher (production uses Django's default, PBKDF2).
    assert identify_hasher(stored).algorithm == "md5"
    assert agent_a.check_password(PASSWORD)


@pytest.mark.parametrize("username", ["pat-agent", "PAT-AGENT", "Pat-Agent"])
def test_an_agent_signs_in_with_its_username_in_any_case(agent_a, username):
    assert authenticate(username=username, password=PASSWORD) == agent_a


@pytest.mark.parametrize(
    ("username", "password"),
    [("pat-agent", "wrong"), ("nobody", PASSWORD), ("", PASSWORD), ("pat-agent\x00", PASSWORD)],
)
def test_a_wrong_username_or_password_does_not_sign_in(agent_a, username, password):
    assert authenticate(username=username, password=password) is None


def test_a_deleted_agent_cannot_sign_in(admin_a, agent_a):
    agent_delete(actor=admin_a, agent=agent_a)

    assert authenticate(username="pat-agent", password=PASSWORD) is None
    assert AgentBackend().get_user(agent_a.pk) is None
    assert not Agent.objects.get(pk=agent_a.pk).is_active


def test_a_deleted_agents_username_signs_in_the_new_owner(admin_a, agent_a, admin_b):
    agent_delete(actor=admin_a, agent=agent_a)
    newcomer = make_agent(admin_b.customer_id, username="Pat-Agent", password="newcomer-pass")

    assert authenticate(username="pat-agent", password="newcomer-pass") == newcomer
    assert authenticate(username="pat-agent", password=PASSWORD) is None


def test_a_reset_password_replaces_the_old_one(admin_a, agent_a):
    agent_set_password(actor=admin_a, agent=agent_a, password="brand-new")

    assert authenticate(username="pat-agent", password="brand-new") == agent_a
    assert authenticate(username="pat-agent", password=PASSWORD) is None


def test_the_console_session_signs_in_and_ends_with_deletion(client, admin_a, agent_a):
    assert client.login(username="PAT-agent", password=PASSWORD)
    assert AgentBackend().get_user(agent_a.pk) == agent_a

    agent_delete(actor=admin_a, agent=agent_a)

    assert AgentBackend().get_user(agent_a.pk) is None
    assert not client.login(username="pat-agent", password=PASSWORD)


def test_only_live_project_super_admins_are_staff(admin_a, super_admin, agent_a):
    assert (super_admin.is_staff, super_admin.is_superuser) == (True, True)
    assert super_admin.has_perm("agents.change_agent")
    assert not admin_a.is_staff
    assert not admin_a.has_module_perms("agents")
    assert not agent_a.is_staff

    agent_delete(actor=SYSTEM, agent=super_admin)
    assert not Agent.objects.get(pk=super_admin.pk).is_staff


def test_login_token_takes_the_username_in_any_case(agent_a):
    agent, plaintext = login_token_create(username="PAT-AGENT", password=PASSWORD)

    assert agent == agent_a
    assert len(plaintext) >= 40
    assert Agent.objects.get(pk=agent_a.pk).last_login is not None


@pytest.mark.parametrize(
    ("username", "password"), [("pat-agent", "wrong"), ("nobody", PASSWORD), ("pat\x00agent", PASSWORD)]
)
def test_login_token_gives_the_same_answer_for_unknown_user_and_wrong_password(
    agent_a, unchanged_database, username, password
):
    with unchanged_database(), pytest.raises(Unauthenticated) as excinfo:
        login_token_create(username=username, password=password)

    assert excinfo.value.reason == "INVALID_CREDENTIALS"


def test_login_token_refuses_a_deleted_agent_like_an_unknown_one(admin_a, agent_a, unchanged_database):
    agent_delete(actor=admin_a, agent=agent_a)

    with unchanged_database(), pytest.raises(Unauthenticated) as excinfo:
        login_token_create(username="pat-agent", password=PASSWORD)

    assert excinfo.value.reason == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(("username", "password"), [(None, PASSWORD), ("pat-agent", None), (1, 2)])
def test_login_token_needs_both_fields(agent_a, unchanged_database, username, password):
    with unchanged_database(), pytest.raises(InvalidArgument):
        login_token_create(username=username, password=password)


def test_the_direct_sip_uri_uses_the_sip_domain_setting(agent_a, settings):
    settings.SIP_DOMAIN = "sip.example.net"

    assert agent_a.direct_sip_uri == f"sip:direct.{agent_a.direct_hash}@sip.example.net"


# --- database constraints (they back the services when writers race) -----------------------------


def violation(create) -> IntegrityError:
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        create()
    return excinfo.value


def test_live_usernames_are_unique_across_customers_in_any_case(agent_a, admin_b):
    error = violation(lambda: Agent.objects.create(customer=admin_b.customer, username="PAT-AGENT"))

    assert domain_error_for_integrity_error(error).reason == "AGENT_ALREADY_EXISTS"


def test_a_deleted_agents_username_may_be_reused_in_the_database(agent_a):
    Agent.objects.filter(pk=agent_a.pk).update(tm_delete=timezone.now())

    Agent.objects.create(customer_id=agent_a.customer_id, username="pat-agent", direct_hash=None)

    assert Agent.objects.filter(username="pat-agent").count() == 2


def test_direct_hashes_are_unique(agent_a):
    error = violation(
        lambda: Agent.objects.create(
            customer_id=agent_a.customer_id, username="x", direct_hash=agent_a.direct_hash
        )
    )

    assert domain_error_for_integrity_error(error).reason == "DIRECT_HASH_COLLISION"


def test_many_agents_may_have_no_direct_hash(agent_a, manager_a):
    Agent.objects.filter(pk__in=[agent_a.pk, manager_a.pk]).update(direct_hash=None)

    assert Agent.objects.filter(direct_hash__isnull=True).count() == 2


def test_the_database_refuses_permission_values_beyond_the_known_bits(agent_a):
    violation(lambda: Agent.objects.filter(pk=agent_a.pk).update(permission=Permission.ALL_BITS + 1))


def live_address(agent: Agent, target: str, **fields) -> Address:
    return Address.objects.create(
        customer_id=agent.customer_id, agent=agent, position=0, type="extension", target=target, **fields
    )


def test_a_live_address_belongs_to_one_agent_per_customer(agent_a, manager_a, admin_b):
    live_address(agent_a, "101")

    error = violation(lambda: live_address(manager_a, "101"))

    assert domain_error_for_integrity_error(error).reason == "ADDRESS_ALREADY_ASSIGNED"
    live_address(admin_b, "101")
    live_address(manager_a, "101", tm_delete=timezone.now())


def test_live_tag_names_are_unique_per_customer_in_any_case(customer_a, customer_b):
    Tag.objects.create(customer=customer_a, name="Billing")

    error = violation(lambda: Tag.objects.create(customer=customer_a, name="BILLING"))

    assert domain_error_for_integrity_error(error).reason == "TAG_ALREADY_EXISTS"
    Tag.objects.create(customer=customer_b, name="billing")
    Tag.objects.create(customer=customer_a, name="billing", tm_delete=timezone.now())


def test_an_unrelated_integrity_error_is_not_mistaken_for_a_rule(agent_a):
    from tags.models import AgentTag

    tag = Tag.objects.create(customer_id=agent_a.customer_id, name="x")
    AgentTag.objects.create(agent=agent_a, tag=tag)

    error = violation(lambda: AgentTag.objects.create(agent=agent_a, tag=tag))

    assert domain_error_for_integrity_error(error) is None


# --- the permission bits ----------------------------------------------------------------------------


def test_permission_bits_have_the_contract_values_and_labels():
    assert [(bit.value, bit.label) for bit in Permission] == [
        (1, "project super admin"),
        (16, "agent"),
        (32, "admin"),
        (64, "manager"),
    ]
    assert Permission.ALL_BITS == 113
    assert 128 & ~Permission.ALL_BITS  # a plain int: its complement keeps the unknown bits
    assert Permission.SUPERVISOR_BITS == Permission.CUSTOMER_ADMIN | Permission.CUSTOMER_MANAGER


def test_permission_labels_and_bits_of_a_value():
    assert Permission.labels_of(1 | 16 | 32 | 64) == ["project super admin", "admin", "manager", "agent"]
    assert Permission.labels_of(0) == []
    assert Permission.bits_of(16 | 64) == [Permission.CUSTOMER_AGENT, Permission.CUSTOMER_MANAGER]


def test_permission_bits_text_is_generated_from_the_bits():
    from agents.choices import PERMISSION_BITS_TEXT

    assert PERMISSION_BITS_TEXT == "the bits 1, 16, 32 and 64"
