"""Access keys in the admin site; a new key's value is shown once, in the answer to the add POST."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from agents import services
from agents.admin.forms import AccessKeyAddForm, AccessKeyChangeForm
from agents.models import AccessKey
from voipbin_admin.admin_support import DeletedListFilter, ServiceAdminMixin, adopt, changed_values

#: Where a new access key's plaintext waits, on the request, for the page that shows it.
_NEW_ACCESS_KEY = "admin_new_access_key"


@admin.register(AccessKey)
class AccessKeyAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Access keys: the prefix and expiry are shown; the key and its hash never are."""

    form = AccessKeyChangeForm
    add_form = AccessKeyAddForm
    list_display = ("name", "prefix", "customer", "tm_expire", "is_expired", "is_deleted", "tm_create")
    list_select_related = ("customer",)
    list_filter = ("customer", DeletedListFilter)
    search_fields = ("name", "token_prefix")
    ordering = ("-tm_create", "-id")
    autocomplete_fields = ("customer",)
    add_fieldsets = ((None, {"fields": ("customer", "name", "detail", "expire")}),)
    fieldsets = (
        (None, {"fields": ("customer", "name", "detail", "prefix", "tm_expire")}),
        ("Times", {"fields": ("tm_create", "tm_update", "tm_delete")}),
    )
    readonly_fields = ("customer", "prefix", "tm_expire", "tm_create", "tm_update", "tm_delete")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            access_key, plaintext = services.access_key_create(
                actor=request.user,
                customer_id=data["customer"].pk,
                name=data["name"],
                detail=data["detail"],
                expire=data["expire"],
            )
            adopt(obj, access_key)
            setattr(request, _NEW_ACCESS_KEY, plaintext)
            return
        changes = changed_values(form, "name", "detail")
        if changes:
            services.access_key_update(actor=request.user, access_key=obj, **changes)

    def response_add(self, request, obj, post_url_continue=None):
        """The new key's page, in the answer to the add POST itself.

        Django would redirect and say it in a message; a message waits for the next page in a
        cookie or in the session, where the key would sit in plain text.
        """
        context = {
            **self.admin_site.each_context(request),
            "title": "New access key",
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "plaintext": getattr(request, _NEW_ACCESS_KEY),
        }
        response = TemplateResponse(request, "admin/agents/accesskey/created.html", context)
        add_never_cache_headers(response)
        return response

    def delete_model(self, request, obj):
        services.access_key_delete(actor=request.user, access_key=obj)

    @admin.display(description="key prefix", ordering="token_prefix")
    def prefix(self, obj) -> str:
        return f"{obj.token_prefix}…"

    @admin.display(boolean=True, description="expired", ordering="tm_expire")
    def is_expired(self, obj) -> bool:
        return obj.is_expired
