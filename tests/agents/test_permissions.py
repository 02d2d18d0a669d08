"""`agents.permissions`: a missing actor grants nothing; the operator's tools name `SYSTEM`
(issue #11, item 12)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from agents import permissions, services
from agents.permissions import SYSTEM
from tags import services as tag_services
from voipbin_admin.errors import PermissionDenied

NO_ONE = [None, AnonymousUser()]


@pytest.mark.parametrize("actor", NO_ONE, ids=["none", "anonymous"])
def test_no_actor_has_any_right(actor, customer_a, agent_a):
    assert not permissions.is_project_super_admin(actor)
    assert not permissions.belongs_to_customer(actor, customer_a.id)
    assert not permissions.is_supervisor_of(actor, customer_a.id)
    assert not permissions.is_admin_of(actor, customer_a.id)
    assert not permissions.can_view_agent(actor, agent_a)
    assert not permissions.can_use_console(actor)
    assert not permissions.may_manage_access_keys(actor)
    assert permissions.permission_bits_offered(actor, customer_a.id) == 0


@pytest.mark.parametrize("actor", NO_ONE, ids=["none", "anonymous"])
@pytest.mark.parametrize(
    "write",
    [
        lambda actor, agent: services.agent_set_status(actor=actor, agent=agent, status="available"),
        lambda actor, agent: services.agent_set_permission(actor=actor, agent=agent, permission=96),
        lambda actor, agent: services.agent_delete(actor=actor, agent=agent),
        lambda actor, agent: services.agent_set_password(actor=actor, agent=agent, password="mine"),
        lambda actor, agent: services.agent_create(
            actor=actor, customer_id=agent.customer_id, username="ghost", password="x", permission=1
        ),
        lambda actor, agent: services.access_key_create(actor=actor, customer_id=agent.customer_id),
        lambda actor, agent: tag_services.tag_create(actor=actor, customer_id=agent.customer_id, name="t"),
    ],
    ids=["status", "permission", "delete", "password", "create", "access_key", "tag"],
)
def test_a_service_called_without_an_actor_refuses(actor, write, agent_a, unchanged_database):
    """As a view with `permission_classes = []` would call it: DRF's anonymous user is None."""
    with unchanged_database(), pytest.raises(PermissionDenied):
        write(actor, agent_a)


def test_the_system_actor_is_named_to_act(customer_a, agent_a):
    assert permissions.is_project_super_admin(SYSTEM)
    assert services.agent_set_permission(actor=SYSTEM, agent=agent_a, permission=1 | 16).permission == 17
