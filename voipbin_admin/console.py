"""Plumbing shared by the supervisor console's pages of every app (agents, tags).

Who may open a page (the decorators and their 403 page), which customer the console works on,
fetching one object of that customer or answering 404, and putting a service's error back on
a form. The rules themselves are in `agents.permissions` and the services.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from agents import permissions
from agents.models import Agent
from voipbin_admin import form_errors
from voipbin_admin.errors import DomainError, InvalidArgument, NotFound


def refuse(request: HttpRequest, message: str) -> HttpResponse:
    """The console's 403 page."""
    return render(request, "agents/forbidden.html", {"message": message}, status=403)


def signed_in(view):
    """Like `login_required`, but a background (htmx) request is sent to sign in as a whole page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("console:login")
            return response
        return login_required(view)(request, *args, **kwargs)

    return wrapper


def supervisor_required(view):
    """Admins and managers (and project super admins) only; everyone else gets a 403 page."""

    @signed_in
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not permissions.can_use_console(request.user):
            return refuse(request, "This page is for supervisors (admins and managers).")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    """Customer admins (and project super admins) only."""

    @supervisor_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not permissions.is_admin_of(request.user, request.user.customer_id):
            return refuse(request, "This page is for customer admins.")
        return view(request, *args, **kwargs)

    return wrapper


def console_customer_id(request: HttpRequest) -> UUID:
    """The console always works on the signed-in agent's own customer (super admins included)."""
    user = request.user
    assert isinstance(user, Agent), "console pages are behind `signed_in`"
    return user.customer_id


class _OfACustomer(Protocol):
    customer_id: UUID


def console_object_or_404[Owned: _OfACustomer](
    request: HttpRequest, get: Callable[[], Owned], *, what: str
) -> Owned:
    """What the selector call `get` returns, if it is the signed-in agent's customer's; else a 404.

    The selectors let a project super admin reach every customer; the console shows its own
    customer only, to everyone.
    """
    try:
        obj = get()
    except (NotFound, InvalidArgument):
        raise Http404(f"No such {what}.") from None
    if obj.customer_id != console_customer_id(request):
        raise Http404(f"No such {what}.")
    return obj


def add_domain_error(form: forms.Form, error: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Put a service's error on a console form (`voipbin_admin.form_errors`), with the console's
    names: `permission` is `roles`, `tag_ids` is `tags`, `field_map` names the rest."""
    form_errors.add_domain_error(
        form,
        error,
        field_names={"permission": "roles", "tag_ids": "tags", **(field_map or {})},
        reason_fields={"AGENT_ALREADY_EXISTS": "username", "TAG_ALREADY_EXISTS": "name"},
    )
