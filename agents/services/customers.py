"""Customers: a new one comes with its first admin; only project super admins change one."""

from __future__ import annotations

from django.utils import timezone

from agents import permissions
from agents.models import Agent, Customer, Permission
from agents.permissions import SYSTEM, Actor
from agents.reports.periods import time_zone_or_none
from agents.services.agents import agent_create
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH, UNSET, atomic_service, clean_text
from voipbin_admin.errors import FieldError, InvalidArgument, PermissionDenied


@atomic_service
def customer_create_with_admin(*, name: str, username: str, password: str, detail: str = "") -> Agent:
    """A new customer and its first admin agent (permission 32); the username must be free."""
    name = clean_text("name", name, max_length=NAME_MAX_LENGTH, required=True)
    customer = Customer.objects.create(name=name, detail=detail or "")
    return agent_create(
        actor=SYSTEM,
        customer_id=customer.id,
        username=username,
        password=password,
        # The customer's name may use all 255 characters; the admin's derived name must fit too.
        name=name[: NAME_MAX_LENGTH - len(" admin")] + " admin",
        permission=Permission.CUSTOMER_ADMIN,
    )


@atomic_service
def customer_update(
    *,
    actor: Actor,
    customer: Customer,
    name: object = UNSET,
    detail: object = UNSET,
    time_zone: object = UNSET,
) -> Customer:
    """Change a customer; UNSET fields keep their value. Name and detail: project super admins
    only. The time zone (an IANA name, in which reports count days and hours): also the
    customer's own admins."""
    operators_only = (
        name is not UNSET or detail is not UNSET or not permissions.is_admin_of(actor, customer.pk)
    )
    if operators_only and not permissions.is_project_super_admin(actor):
        raise PermissionDenied("SUPER_ADMIN_REQUIRED", "Only a project super admin may change a customer.")
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = clean_text("name", name, max_length=NAME_MAX_LENGTH, required=True)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    if time_zone is not UNSET:
        changes["time_zone"] = clean_time_zone(time_zone)
    if changes:
        changes["tm_update"] = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(**changes)
    return Customer.objects.get(pk=customer.pk)


def clean_time_zone(value: object) -> str:
    """An IANA time zone name zoneinfo knows (`Europe/Berlin`, `UTC`); INVALID_TIME_ZONE otherwise."""
    if isinstance(value, str) and time_zone_or_none(value.strip()) is not None:
        return value.strip()
    raise InvalidArgument(
        "INVALID_TIME_ZONE",
        "time_zone must be an IANA time zone name such as Europe/Berlin.",
        [FieldError("time_zone", "Not a known time zone.")],
    )
