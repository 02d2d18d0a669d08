"""The admin site itself: its titles, who may sign in, and where "Change password" leads."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group
from django.http import HttpResponseRedirect
from django.urls import reverse

from agents.admin.forms import OperatorSignInForm
from agents.sign_in import limited_sign_in_view

admin.site.site_header = "VoIPbin Agent Admin"
admin.site.site_title = "VoIPbin Agent Admin"
admin.site.index_title = "Platform administration"
# Access is the permission bit, not Django's groups and permissions.
admin.site.unregister(Group)


def _own_password_change(request, extra_context=None):
    """The header's "Change password" link: the operator's own "set password" page.

    Django's own view would save the hash directly, skipping `agent_set_password` (which
    revokes the agent's login tokens and records an event).
    """
    return HttpResponseRedirect(reverse("admin:agents_agent_password", args=[request.user.pk]))


admin.site.password_change = _own_password_change
# The admin site's sign-in shares the failed-login limit of /login/ and POST /auth/login.
admin.site.login_form = OperatorSignInForm
admin.site.login = limited_sign_in_view(admin.site.login)
