"""What the signed-in agent may do, for templates (the navigation), from `agents.permissions`."""

from __future__ import annotations

from agents import permissions


def console_rights(request) -> dict:
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    return {
        "may_use_console": permissions.can_use_console(actor),
        "may_manage_access_keys": permissions.may_manage_access_keys(actor),
    }
