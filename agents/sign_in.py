"""Signing in with a username and password, the same in every door.

`POST /auth/login` (API), `/login/` (console) and `/admin/login/` (admin site) all come
through `authenticate_agent`: the failed-login limit is checked before the password is
(429 `TOO_MANY_LOGIN_FAILURES`), a failure counts against the account's folded username and
the client address (voipbin_admin/api/throttling.py), and a cache outage refuses sign-in
(503 `SIGN_IN_UNAVAILABLE`). Only then does Django's `authenticate` run `AgentBackend`.
"""

from __future__ import annotations

import functools

from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.shortcuts import render

from agents.models import Agent
from voipbin_admin.api.throttling import (
    LoginThrottled,
    SignInUnavailable,
    check_login_allowed,
    record_login_failure,
)
from voipbin_admin.errors import InvalidArgument


def authenticate_agent(request, *, username: object, password: object) -> Agent | None:
    """The live agent these credentials name, or None (the failure counted).

    Raises LoginThrottled or SignInUnavailable before any password is checked, and
    InvalidArgument when the username or password is not a string.
    """
    check_login_allowed(request, username)
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidArgument("INVALID_CREDENTIALS_FORMAT", "username and password are required.")
    agent = authenticate(request, username=username, password=password)
    if agent is None:
        record_login_failure(request, username)
    return agent


class LimitedSignInFormMixin:
    """For Django's sign-in forms (the console's and the admin site's): authenticate through
    `authenticate_agent`. LoginThrottled and SignInUnavailable leave `is_valid()` as
    exceptions: the view, wrapped in `limited_sign_in_view`, answers them with 429 or 503."""

    def clean(self: AuthenticationForm):  # type: ignore[misc]
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            self.user_cache = authenticate_agent(self.request, username=username, password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


def refused_sign_in_page(request, error: LoginThrottled | SignInUnavailable) -> HttpResponse:
    """The console's and the admin site's answer to a refused attempt: a plain page with the
    reason, the status of the error (429 or 503) and `Retry-After`."""
    response = render(
        request,
        "registration/sign_in_refused.html",
        {"message": error.message, "retry_after": error.retry_after},
        status=error.http_status,
    )
    response["Retry-After"] = str(error.retry_after)
    return response


def limited_sign_in_view(view):
    """Wrap a sign-in view whose form uses LimitedSignInFormMixin."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (LoginThrottled, SignInUnavailable) as error:
            return refused_sign_in_page(request, error)

    return wrapper
