"""Operator commands: createcustomer, make_super_admin, seed_demo."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from agents.models import AccessKey, Agent, AgentStatusChange, Customer, Permission
from agents.services import agent_delete, login_token_create
from tags.models import Tag
from tests.factories import PASSWORD


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


# --- createcustomer -------------------------------------------------------------------------------


def test_createcustomer_creates_a_customer_with_its_first_admin(db):
    output = run("createcustomer", "Acme Support", "--username", "alice", "--password", "s3cret")

    customer_id = re.search(r"customer_id=(\S+)", output).group(1)
    agent_id = re.search(r"agent_id=(\S+)", output).group(1)
    customer = Customer.objects.get(pk=customer_id)
    admin = Agent.objects.get(pk=agent_id)
    assert customer.name == "Acme Support"
    assert (admin.customer_id, admin.username, admin.permission) == (customer.id, "alice", 32)
    assert admin.status == "offline"
    assert admin.direct_hash
    assert authenticate(username="ALICE", password="s3cret") == admin
    assert AgentStatusChange.objects.filter(agent=admin, to_status="offline").count() == 1


def test_createcustomer_refuses_a_taken_username_and_creates_nothing(admin_a, unchanged_database):
    with unchanged_database(), pytest.raises(CommandError, match="AGENT_ALREADY_EXISTS"):
        run("createcustomer", "Copycat", "--username", "Alice-Admin", "--password", "x")

    assert not Customer.objects.filter(name="Copycat").exists()


@pytest.mark.parametrize(
    ("name", "username", "password", "reason"),
    [
        ("Acme", "with space", "x", "INVALID_USERNAME"),
        ("Acme", "alice", "", "INVALID_PASSWORD"),
        ("", "alice", "x", "INVALID_NAME"),
        ("n" * 256, "alice", "x", "INVALID_NAME"),
    ],
)
def test_createcustomer_refuses_bad_input_and_creates_nothing(
    db, unchanged_database, name, username, password, reason
):
    with unchanged_database(), pytest.raises(CommandError, match=reason):
        run("createcustomer", name, "--username", username, "--password", password)


def test_createcustomer_takes_a_255_character_name(db):
    output = run("createcustomer", "n" * 255, "--username", "alice", "--password", "x")

    admin = Agent.objects.get(pk=re.search(r"agent_id=(\S+)", output).group(1))
    assert len(admin.customer.name) == 255
    assert len(admin.name) <= 255


def test_createcustomer_needs_username_and_password(db):
    with pytest.raises(CommandError):
        run("createcustomer", "Acme", "--username", "alice")


# --- make_super_admin -----------------------------------------------------------------------------


def test_make_super_admin_adds_bit_1_and_keeps_the_others(admin_a):
    output = run("make_super_admin", "ALICE-ADMIN")

    admin = Agent.objects.get(pk=admin_a.pk)
    assert admin.permission == Permission.CUSTOMER_ADMIN | Permission.PROJECT_SUPER_ADMIN
    assert admin.is_staff
    assert "alice-admin" in output


def test_make_super_admin_twice_changes_nothing_more(admin_a, unchanged_database):
    run("make_super_admin", "alice-admin")

    with unchanged_database():
        run("make_super_admin", "alice-admin")


def test_make_super_admin_revokes_the_agents_login_tokens(agent_a):
    login_token_create(username="pat-agent", password=PASSWORD)

    run("make_super_admin", "pat-agent")

    assert not agent_a.login_tokens.filter(tm_revoke__isnull=True).exists()


def test_make_super_admin_refuses_an_unknown_or_deleted_agent(admin_a, agent_a, unchanged_database):
    agent_delete(actor=admin_a, agent=agent_a)

    for username in ("nobody", "pat-agent"):
        with unchanged_database(), pytest.raises(CommandError, match="No live agent"):
            run("make_super_admin", username)


# --- seed_demo ------------------------------------------------------------------------------------


def test_seed_demo_loads_demo_data_and_is_safe_to_run_twice(db, unchanged_database):
    first = run("seed_demo")

    assert "Loaded 3 customers" in first
    assert Customer.objects.count() == 3
    assert Agent.objects.count() == 3 * 26
    assert Tag.objects.count() == 3 * 8
    assert AccessKey.objects.count() == 3
    acme_admin = authenticate(username="acme-admin", password="demo-password")
    assert acme_admin is not None
    assert acme_admin.is_project_super_admin
    acme_manager = authenticate(username="acme-manager", password="demo-password")
    assert acme_manager.permission & Permission.CUSTOMER_MANAGER
    assert authenticate(username="globex-admin", password="demo-password").is_customer_admin
    assert Agent.objects.filter(addresses__isnull=False).distinct().count() == 3 * 24
    assert AgentStatusChange.objects.exclude(from_status="").exists()

    with unchanged_database():
        second = run("seed_demo")

    assert "already loaded" in second
    assert "acme-admin" in second


def test_make_super_admin_refuses_a_username_with_a_nul_character(admin_a, unchanged_database):
    with unchanged_database(), pytest.raises(CommandError):
        run("make_super_admin", "alice-admin\x00")
