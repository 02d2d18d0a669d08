"""The customer admin's access keys page: list, create (the key shown once), revoke."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from agents import selectors, services
from agents.forms import AccessKeyCreateForm
from agents.views.common import error_text
from voipbin_admin.console import (
    add_domain_error,
    admin_required,
    console_customer_id,
    console_object_or_404,
)
from voipbin_admin.errors import DomainError


@admin_required
def accesskey_list(request: HttpRequest) -> HttpResponse:
    customer_id = console_customer_id(request)
    new_key = None
    if request.method == "POST":
        form = AccessKeyCreateForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                access_key, plaintext = services.access_key_create(
                    actor=request.user,
                    customer_id=customer_id,
                    name=form.cleaned_data["name"],
                    detail=form.cleaned_data["detail"],
                    expire=form.expire_seconds(),
                )
            except DomainError as error:
                add_domain_error(form, error, {"expire": "expire_days"})
            else:
                # Shown once, in this very answer (no redirect): a key parked in the session or
                # in a message for the next page would sit in plain text in the session table.
                new_key = {"id": str(access_key.id), "token": plaintext}
                form = AccessKeyCreateForm()
                status = 200
    else:
        form = AccessKeyCreateForm()
        status = 200
    response = render(
        request,
        "accesskeys/accesskey_list.html",
        {
            "form": form,
            "access_keys": selectors.access_key_list(customer_id=customer_id),
            "new_key": new_key,
            "now": timezone.now(),
            "soon": timezone.now() + timedelta(days=30),
        },
        status=status,
    )
    if new_key:
        add_never_cache_headers(response)  # nor in the browser's cache
    return response


@admin_required
def accesskey_revoke(request: HttpRequest, access_key_id: UUID) -> HttpResponse:
    access_key = console_object_or_404(
        request,
        lambda: selectors.access_key_get(actor=request.user, access_key_id=access_key_id),
        what="access key",
    )
    if request.method == "POST":
        try:
            services.access_key_delete(actor=request.user, access_key=access_key)
        except DomainError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, f"Access key {access_key.name or access_key.token_prefix} revoked.")
        return redirect("console:accesskey_list")
    return render(request, "accesskeys/accesskey_revoke_confirm.html", {"access_key": access_key})
