"""Test data made through the services, so every fixture obeys the same rules as production."""

from __future__ import annotations

import itertools

from agents.models import Agent, Permission
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
