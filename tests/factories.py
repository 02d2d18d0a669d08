"""Test data made through the services, so every fixture obeys the same rules as production
(but `make_bulk_agents`, which writes thousands of rows in one statement for plan and
query-count tests)."""

from __future__ import annotations

import itertools

from django.utils import timezone

from agents.models import Agent, AgentStatus, Permission
from agents.permissions import SYSTEM
from agents.services import agent_create, customer_create_with_admin
from tags.models import Tag
from tags.services import tag_create

PASSWORD = "secret-pass"
_sequence = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_sequence)}"


def make_customer_admin(*, username: str | None = None, customer_name: str | None = None) -> Agent:
    """A new customer and its first admin (permission 32)."""
    return customer_create_with_admin(
        name=customer_name or unique("Customer "), username=username or unique("admin"), password=PASSWORD
    )


def make_agent(
    customer_id, *, permission: int = Permission.CUSTOMER_AGENT, username: str | None = None, **fields
) -> Agent:
    return agent_create(
        actor=SYSTEM,
        customer_id=customer_id,
        username=username or unique("agent"),
        password=fields.pop("password", PASSWORD),
        permission=permission,
        **fields,
    )


def make_tag(customer_id, *, name: str | None = None, detail: str = "") -> Tag:
    return tag_create(actor=SYSTEM, customer_id=customer_id, name=name or unique("tag"), detail=detail)


def make_bulk_agents(customer_id, count: int, *, prefix: str = "big", name: str = "Big Agent") -> list[Agent]:
    """`count` plain agents in one INSERT, past the services: usernames `<prefix>-00000` on,
    names `<name> <i>`, every 7th with the detail "night shift", the statuses in turn."""
    now = timezone.now()
    return Agent.objects.bulk_create(
        Agent(
            customer_id=customer_id,
            username=f"{prefix}-{i:05d}",
            username_key=f"{prefix}-{i:05d}",  # bulk_create skips save(), which keeps it
            name=f"{name} {i}",
            detail="night shift" if i % 7 == 0 else "",
            status=AgentStatus.values[i % 5],
            tm_status=now,
            tm_create=now,
            permission=Permission.CUSTOMER_AGENT,
            password="!",
        )
        for i in range(count)
    )
