"""Signing in and out of the console, and its home page (the board, or one's own page)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator

from agents import permissions
from agents.forms import SignInForm
from agents.sign_in import limited_sign_in_view
from voipbin_admin.console import signed_in


class SignInView(auth_views.LoginView):
    """Sign in with an agent's username and password.

    Failed attempts count against the same per-username and per-address limit as the API's
    `POST /auth/login`, so the console is no way around it.
    """

    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    @method_decorator(limited_sign_in_view)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)


class SignOutView(auth_views.LogoutView):
    pass


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    if permissions.can_use_console(request.user):
        return redirect("console:board")
    return redirect("console:me")
