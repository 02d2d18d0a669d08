"""Agents in the admin site: the change page sends each changed group of fields to its service.

Addresses are an inline saved as one list by `agent_replace_addresses`; the actions (set
status, regenerate the direct hash, delete, restore) call a service once per agent; the "set
password" page calls `agent_set_password`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from agents import selectors, services
from agents.addresses import MAX_ADDRESSES_PER_AGENT
from agents.admin.forms import (
    AddressFormSet,
    AddressInlineForm,
    AgentAddForm,
    AgentChangeForm,
    SetPasswordForm,
    SetStatusActionForm,
)
from agents.models import Address, Agent, Permission
from agents.services.events import deferred_events
from tags.models import AgentTag, Tag
from voipbin_admin.admin_support import (
    DeletedListFilter,
    ServiceAdminMixin,
    adopt,
    changed_values,
    pending_service_error,
)
from voipbin_admin.errors import DomainError
from voipbin_admin.form_errors import add_domain_error


class TagListFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = Tag.objects.live().select_related("customer").order_by("customer__name", "name")
        return [(str(tag.pk), f"{tag.customer.name}: {tag.name}") for tag in tags]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tag_links__tag_id=self.value())
        return queryset


class AddressInline(admin.TabularInline):
    """The agent's addresses in ring order; saved as one list by `agent_replace_addresses`."""

    model = Address
    form = AddressInlineForm
    formset = AddressFormSet
    fields = ("position", "type", "target", "target_name", "name", "detail")
    extra = 1
    max_num = MAX_ADDRESSES_PER_AGENT
    verbose_name_plural = "addresses (in ring order)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(tm_delete__isnull=True).order_by("position")


@admin.register(Agent)
class AgentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = AgentChangeForm
    add_form = AgentAddForm
    list_display = (
        "username",
        "name",
        "customer",
        "status",
        "permission_labels",
        "ring_method",
        "tag_names",
        "address_targets",
        "is_deleted",
        "created",
    )
    list_select_related = ("customer",)
    list_filter = ("customer", "status", TagListFilter, "ring_method", DeletedListFilter)
    # Searching a to-many relation may match an agent twice; the changelist removes duplicates.
    search_fields = ("username", "name", "addresses__target")
    ordering = ("-tm_create", "-id")
    autocomplete_fields = ("customer",)
    actions = ["set_status", "regenerate_direct_hash", "soft_delete", "restore"]

    add_fieldsets = (
        (None, {"fields": ("customer", "username", "password1", "password2")}),
        ("Profile", {"fields": ("name", "detail", "ring_method")}),
        ("Permission and tags", {"fields": ("permission", "tags")}),
    )
    fieldsets = (
        (None, {"fields": ("customer", "username", "password_link")}),
        ("Profile", {"fields": ("name", "detail", "ring_method")}),
        ("Status", {"fields": ("status", "status_reason", "status_since")}),
        ("Permission and tags", {"fields": ("permission", "tags")}),
        ("Direct hash", {"fields": ("direct_hash", "direct_sip_uri")}),
        ("Times", {"fields": ("created", "updated", "deleted", "last_sign_in")}),
    )
    deleted_fieldsets = (
        (None, {"fields": ("customer", "username")}),
        ("Profile", {"fields": ("name", "detail", "ring_method")}),
        ("Status", {"fields": ("status", "status_since")}),
        ("Permission and tags", {"fields": ("permission_labels", "tag_names")}),
        ("Times", {"fields": ("created", "updated", "deleted", "last_sign_in")}),
    )
    readonly_fields = (
        "customer",
        "username",
        "password_link",
        "status_since",
        "direct_hash",
        "direct_sip_uri",
        "created",
        "updated",
        "deleted",
        "last_sign_in",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("tag_links", queryset=AgentTag.objects.select_related("tag").order_by("id")),
                Prefetch("addresses", queryset=Address.objects.filter(tm_delete__isnull=True)),
            )
        )

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.tm_delete is not None:
            return self.deleted_fieldsets
        return super().get_fieldsets(request, obj)

    def get_search_results(self, request, queryset, search_term):
        """The selectors' search (index lookups on PostgreSQL; README, "Large customers"), which
        never matches an agent twice."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.agent_admin_search(search_term)), False

    def get_inlines(self, request, obj):
        # Addresses are given on the change page (and a deleted agent has none).
        return [AddressInline] if obj is not None and obj.tm_delete is None else []

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        kwargs["service_error"] = pending_service_error(request)
        return kwargs

    # --- writes: each changed group of fields goes to its service --------------------------------

    def save_model(self, request, obj, form, change):
        """Nothing: `save_related` makes every write, in one block that defers their events."""

    def save_related(self, request, form, formsets, change):
        # Django runs this page's writes in one transaction, several services one after the
        # other: their events are written together at its end, so the event order lock is its
        # last lock (agents/services/events.py), not held while the addresses are inserted.
        with deferred_events():
            self._save_agent(request, form.instance, form, change)
            for formset in formsets:
                if isinstance(formset, AddressFormSet) and formset.has_changed():
                    services.agent_replace_addresses(
                        actor=request.user, agent=form.instance, addresses=formset.submitted_addresses()
                    )

    def _save_agent(self, request, obj, form, change):
        actor = request.user
        if not change:
            adopt(obj, services.agent_create(actor=actor, **form.service_arguments()))
            return
        data, changed = form.cleaned_data, set(form.changed_data)
        profile = changed_values(form, "name", "detail", "ring_method")
        if profile:
            services.agent_update(actor=actor, agent=obj, **profile)
        if "status" in changed:
            services.agent_set_status(
                actor=actor, agent=obj, status=data["status"], reason=data["status_reason"]
            )
        if "permission" in changed:
            services.agent_set_permission(actor=actor, agent=obj, permission=data["permission"])
        if "tags" in changed:
            services.agent_replace_tags(actor=actor, agent=obj, tag_ids=[tag.pk for tag in data["tags"]])

    def delete_model(self, request, obj):
        services.agent_delete(actor=request.user, agent=obj)

    # --- actions -------------------------------------------------------------------------------------

    @admin.action(permissions=["change"], description="Set status (with a reason)")
    def set_status(self, request, queryset):
        form = SetStatusActionForm(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            return self.action_page(
                request,
                queryset,
                action="set_status",
                title="Set the status of these agents",
                submit="Set status",
                form=form,
            )
        status, reason = form.cleaned_data["status"], form.cleaned_data["reason"]
        self.run_for_each(
            request,
            queryset,
            call=lambda agent: services.agent_set_status(
                actor=request.user, agent=agent, status=status, reason=reason
            ),
            done=f"Set status to {status}",
        )
        return None

    @admin.action(permissions=["change"], description="Regenerate direct hash")
    def regenerate_direct_hash(self, request, queryset):
        if "apply" not in request.POST:
            return self.action_page(
                request,
                queryset,
                action="regenerate_direct_hash",
                title="Give these agents a new direct hash? Their current direct SIP URIs stop working.",
                submit="Yes, regenerate",
                destructive=True,
            )
        self.run_for_each(
            request,
            queryset,
            call=lambda agent: services.agent_regenerate_direct_hash(actor=request.user, agent=agent),
            done="Regenerated the direct hash",
        )
        return None

    @admin.action(permissions=["change"], description="Restore deleted agents (when their username is free)")
    def restore(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            call=lambda agent: services.agent_restore(actor=request.user, agent=agent),
            done="Restored",
            live_only=False,
        )

    # --- the "set password" page ---------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/password/",
                self.admin_site.admin_view(self.set_password_view),
                name="agents_agent_password",
            ),
            *super().get_urls(),
        ]

    def set_password_view(self, request, object_id):
        agent = self.get_object(request, unquote(object_id))
        if agent is None:
            raise Http404("No such agent.")
        if not self.has_change_permission(request, agent):
            raise PermissionDenied
        form = SetPasswordForm(
            request.POST if request.method == "POST" else None, own=agent.pk == request.user.pk
        )
        if form.is_bound and form.is_valid():
            try:
                updated = services.agent_set_password(
                    actor=request.user,
                    agent=agent,
                    password=form.cleaned_data["password1"],
                    old_password=form.cleaned_data.get("old_password"),
                )
            except DomainError as error:
                add_domain_error(form, error, field_names={"password": "password1"}, message="always")
            else:
                self.log_change(request, agent, "Set a new password.")
                if updated.pk == request.user.pk:
                    update_session_auth_hash(request, updated)  # an operator stays signed in
                self.message_user(
                    request, "Password set; the agent's login tokens were revoked.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:agents_agent_change", args=[agent.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set password: {agent.username}",
            "subtitle": None,
            "opts": self.opts,
            "original": agent,
            "form": form,
        }
        return TemplateResponse(request, "admin/agents/agent/set_password.html", context)

    # --- what the pages show ---------------------------------------------------------------------

    @admin.display(description="password")
    def password_link(self, obj) -> str:
        url = reverse("admin:agents_agent_password", args=[obj.pk])
        return format_html('Raw passwords are not stored. <a href="{}">Set a new password</a>.', url)

    @admin.display(description="permission", ordering="permission")
    def permission_labels(self, obj) -> str:
        return ", ".join(bit.label for bit in Permission.bits_of(obj.permission))

    @admin.display(description="tags")
    def tag_names(self, obj) -> str:
        return ", ".join(link.tag.name for link in obj.tag_links.all())

    @admin.display(description="addresses")
    def address_targets(self, obj) -> str:
        return ", ".join(str(address) for address in obj.addresses.all())

    # The model's names (`tm_status`, `tm_create`, ...) are the contract's; the page says words.
    @admin.display(description="Status since", ordering="tm_status")
    def status_since(self, obj):
        return obj.tm_status

    @admin.display(description="Direct SIP URI")
    def direct_sip_uri(self, obj) -> str:
        return obj.direct_sip_uri

    @admin.display(description="Created", ordering="tm_create")
    def created(self, obj):
        return obj.tm_create

    @admin.display(description="Updated", ordering="tm_update")
    def updated(self, obj):
        return obj.tm_update

    @admin.display(description="Deleted", ordering="tm_delete")
    def deleted(self, obj):
        return obj.tm_delete

    @admin.display(description="Last sign-in", ordering="last_login")
    def last_sign_in(self, obj):
        return obj.last_login
