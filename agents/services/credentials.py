"""Credentials: an agent's password, its login tokens, and the customers' access keys.

A credential's plaintext is returned once, when it is made; only its hash is stored
(`agents.credentials`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from agents import permissions
from agents.credentials import ACCESS_KEY_PREFIX, hash_secret
from agents.models import AccessKey, Agent, AgentEventType, LoginToken
from agents.permissions import Actor
from agents.services.cleaning import _clean_new_password, _set_new_password
from agents.services.events import _record_and_return
from agents.services.rules import _check_may_take_rights_of, _lock_live_agent, _revoke_login_tokens
from voipbin_admin.core import DETAIL_MAX_LENGTH, NAME_MAX_LENGTH, UNSET, atomic_service, clean_text
from voipbin_admin.errors import FieldError, InvalidArgument, NotFound, Unauthenticated

ACCESS_KEY_MAX_LIFETIME = timedelta(days=100 * 365)


# --- passwords -----------------------------------------------------------------------------------


@atomic_service
def agent_set_password(*, actor: Actor, agent: Agent, password: object, old_password: object = None) -> Agent:
    """Set a new password and revoke the agent's login tokens.

    A supervisor resets another agent's password without the old one, but only for an agent
    whose rights it could grant (an admin's password needs an admin, a project super admin's
    a project super admin). Changing one's own password always needs the current one, in
    every door and whatever one's rights: otherwise a stolen token becomes the account for
    good. Any caller that sends `old_password` must send the right one.
    """
    permissions.require_self_or_supervisor(actor, agent)
    current = _lock_live_agent(agent)
    needs_old = (
        old_password is not None
        or permissions.is_self(actor, agent)
        or not permissions.is_supervisor_of(actor, agent.customer_id)
    )
    if needs_old and (not isinstance(old_password, str) or not current.check_password(old_password)):
        raise InvalidArgument(
            "INVALID_OLD_PASSWORD",
            "The current password is wrong.",
            [FieldError("old_password", "does not match the current password")],
        )
    if not needs_old:
        _check_may_take_rights_of(actor, current, action="reset its password")
    password = _clean_new_password(password, agent)
    _set_new_password(agent, password)
    Agent.objects.filter(pk=agent.pk).update(password=agent.password, tm_update=timezone.now())
    _revoke_login_tokens(agent)
    return _record_and_return(agent, AgentEventType.UPDATED)


# --- login tokens -------------------------------------------------------------------------------


def login_token_create(*, username: object, password: object) -> tuple[Agent, str]:
    """Check the username and password and issue a login token (plaintext returned once), for
    the operator's tools; the doors sign in through `agents.sign_in`, which adds the limit.

    An unknown user, a wrong password and a deleted agent get the same answer.
    """
    from agents.backends import AgentBackend

    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidArgument("INVALID_CREDENTIALS_FORMAT", "username and password are required.")
    agent = AgentBackend().authenticate(None, username=username, password=password)
    if agent is None:
        raise Unauthenticated("INVALID_CREDENTIALS", "Wrong username or password.")
    return agent, login_token_issue(agent=agent)


def login_token_issue(*, agent: Agent) -> str:
    """A new login token for an agent that has just proven who it is (`agents.sign_in`); the
    plaintext is returned once, only its hash is stored."""
    plaintext = secrets.token_urlsafe(32)
    while plaintext.startswith(ACCESS_KEY_PREFIX):  # it would be looked up as an access key
        plaintext = secrets.token_urlsafe(32)
    now = timezone.now()
    LoginToken.objects.create(
        agent=agent,
        token_hash=hash_secret(plaintext),
        tm_create=now,
        tm_expire=now + settings.LOGIN_TOKEN_LIFETIME,
    )
    Agent.objects.filter(pk=agent.pk).update(last_login=now)
    return plaintext


def login_token_revoke(*, plaintext: str) -> None:
    """Revoke one login token (logout). Unknown tokens are ignored."""
    LoginToken.objects.filter(token_hash=hash_secret(plaintext), tm_revoke__isnull=True).update(
        tm_revoke=timezone.now()
    )


# --- access keys --------------------------------------------------------------------------------


def _clean_expire(expire: object) -> timedelta:
    if expire is None:
        return settings.ACCESS_KEY_DEFAULT_LIFETIME
    minimum = int(settings.ACCESS_KEY_MIN_LIFETIME.total_seconds())
    maximum = int(ACCESS_KEY_MAX_LIFETIME.total_seconds())
    if not isinstance(expire, int) or isinstance(expire, bool) or not minimum <= expire <= maximum:
        message = f"must be a whole number of seconds between {minimum} and {maximum}"
        raise InvalidArgument("INVALID_EXPIRE", f"expire {message}.", [FieldError("expire", message)])
    return timedelta(seconds=expire)


@atomic_service
def access_key_create(
    *, actor: Actor, customer_id: UUID, name: object = "", detail: object = "", expire: object = None
) -> tuple[AccessKey, str]:
    """Create an access key for the customer (admins only); the plaintext is returned once.

    The plaintext is `vb_` + 32 URL-safe random characters; only its SHA-256 and its first 11
    characters are stored.
    """
    permissions.require_admin_of(actor, customer_id)
    name = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    detail = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    lifetime = _clean_expire(expire)
    plaintext = ACCESS_KEY_PREFIX + secrets.token_urlsafe(24)
    now = timezone.now()
    access_key = AccessKey.objects.create(
        customer_id=customer_id,
        name=name,
        detail=detail,
        token_hash=hash_secret(plaintext),
        token_prefix=plaintext[:11],
        tm_expire=now + lifetime,
        tm_create=now,
    )
    return access_key, plaintext


def _lock_live_access_key(access_key: AccessKey) -> None:
    """Lock the key's row; a deleted key is ACCESS_KEY_NOT_FOUND (a caller may hold a stale one)."""
    live = AccessKey.objects.select_for_update().live().filter(pk=access_key.pk)
    if live.values_list("pk").first() is None:
        raise NotFound("ACCESS_KEY_NOT_FOUND", "No such access key.")


@atomic_service
def access_key_update(
    *, actor: Actor, access_key: AccessKey, name: object = UNSET, detail: object = UNSET
) -> AccessKey:
    """Change an access key's name and detail (admins only); fields left UNSET keep their value."""
    permissions.require_admin_of(actor, access_key.customer_id)
    changes: dict[str, str] = {}
    if name is not UNSET:
        changes["name"] = clean_text("name", name, max_length=NAME_MAX_LENGTH)
    if detail is not UNSET:
        changes["detail"] = clean_text("detail", detail, max_length=DETAIL_MAX_LENGTH)
    _lock_live_access_key(access_key)
    for field, value in changes.items():
        setattr(access_key, field, value)
    access_key.tm_update = timezone.now()
    # Only the fields given: a stale object must not undo another writer's change.
    access_key.save(update_fields=[*changes, "tm_update"])
    access_key.refresh_from_db()
    return access_key


@atomic_service
def access_key_delete(*, actor: Actor, access_key: AccessKey) -> AccessKey:
    """Delete an access key (admins only); it stops authenticating at once."""
    permissions.require_admin_of(actor, access_key.customer_id)
    _lock_live_access_key(access_key)
    now = timezone.now()
    access_key.tm_delete = now
    access_key.tm_update = now
    access_key.save(update_fields=["tm_delete", "tm_update"])
    return access_key
