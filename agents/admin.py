"""The Django admin site: platform operators inspect and repair any customer's data.

Only project super admins get in (`Agent.is_staff` is derived from permission bit 1). The
admin is a third front door onto the same services as the API and the console: every add,
change, delete and action calls a service with the operator as `actor`, so it cannot bypass a
rule (address uniqueness, the last admin, history and events). Deletion is always the soft
delete of the services; Django's hard delete is never reachable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from agents import services
from agents.addresses import MAX_ADDRESSES_PER_AGENT
from agents.admin_forms import (
    AccessKeyAddForm,
    AccessKeyChangeForm,
    AddressFormSet,
    AddressInlineForm,
    AgentAddForm,
    AgentChangeForm,
    CustomerAddForm,
    CustomerChangeForm,
    OperatorSignInForm,
    SetPasswordForm,
    SetStatusActionForm,
    permission_bits,
    show_service_error,
)
from agents.models import (
    AccessKey,
    Address,
    Agent,
    AgentEvent,
    AgentStatusChange,
    Customer,
    Permission,
)
from agents.sign_in import limited_sign_in_view
from tags.models import AgentTag, Tag
from voipbin_admin.errors import DomainError

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

#: Where a service's refusal waits for the second pass over the same POST (see changeform_view).
_SERVICE_ERROR = "admin_service_error"
#: Where a new access key's plaintext waits, on the request, for the page that shows it.
_NEW_ACCESS_KEY = "admin_new_access_key"


def adopt(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved form instance stand for the row a service created."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def changed_values(form: forms.ModelForm, *names: str) -> dict:
    """Those of `names` the operator changed: the arguments of an `*_update` service."""
    return {name: form.cleaned_data[name] for name in names if name in form.changed_data}


def _some_names(names: list[str], shown: int = 20) -> str:
    """Names for a message; a long list ends with how many more there are."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def admin_changelist_url(model: type[Model], **filters) -> str:
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") + f"?{query}"


class DeletedListFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(tm_delete__isnull=True)
        if self.value() == "yes":
            return queryset.filter(tm_delete__isnull=False)
        return queryset


class ServiceAdminMixin:
    """A ModelAdmin whose every write is a service call.

    Subclasses implement `save_model` (and `save_related`) and `delete_model` with services,
    and use forms derived from `ServiceModelForm`.

    A service's refusal (DomainError) must reach the operator as form errors and change
    nothing. Django runs a POST to the add/change page inside `transaction.atomic`; the error
    is let out of it, which undoes every write of that pass (an edit that calls several
    services is all or nothing). The same POST is then processed once more with the error
    attached to the request: the form (and the addresses inline) turn it into messages next to
    their fields and are therefore invalid, so this second pass renders the page with the
    operator's input and calls no service.

    Deleting is the services' soft delete: Django's "delete selected" action (which would
    delete rows) is replaced by `soft_delete`, which calls `delete_queryset`: one service call
    per object, each in its own transaction; refusals are reported per object and do not stop
    the others.
    """

    actions = ["soft_delete"]
    #: The add page's form and fieldsets (it calls a `*_create` service, which takes other
    #: fields than the change page's services); nothing on the add page is read-only.
    add_form: type[forms.ModelForm] | None = None
    add_fieldsets: tuple | None = None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            setattr(request, _SERVICE_ERROR, error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and self.add_form is not None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, _SERVICE_ERROR, None)
        if error is None:
            return form
        return type(form.__name__, (form,), {"service_error": error})

    def get_fieldsets(self, request, obj=None):
        if obj is None and self.add_fieldsets is not None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def get_deleted_objects(self, objs, request):
        """A soft delete changes only the selected rows: nothing cascades, nothing is protected."""
        objs = list(objs)
        return [str(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        """A deleted row is shown read-only."""
        return super().has_change_permission(request, obj) and (obj is None or obj.tm_delete is None)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.tm_delete is None)

    def construct_change_message(self, request, form, formsets, add=False):
        # The services wrote the changes (the formsets were never saved): name what changed.
        if add:
            return [{"added": {}}]
        fields = [str(form[name].label) for name in form.changed_data]
        fields += [
            str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()
        ]
        return [{"changed": {"fields": fields}}] if fields else []

    def run_for_each(
        self,
        request,
        objects: Iterable[Model],
        *,
        call: Callable[[Model], object],
        done: str,
        live_only: bool = True,
    ) -> None:
        """Call a service once per object (each in its own transaction) and report each outcome."""
        succeeded, skipped = [], []
        for obj in objects:
            if live_only and obj.tm_delete is not None:
                skipped.append(str(obj))
                continue
            try:
                call(obj)
            except DomainError as error:
                self.message_user(request, f"{obj}: {error.message}", messages.ERROR)
            else:
                succeeded.append(str(obj))
                self.log_change(request, obj, done)
        if succeeded:
            self.message_user(request, f"{done}: {_some_names(succeeded)}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped, already deleted: {_some_names(skipped)}.", messages.WARNING)

    def action_page(
        self, request, queryset, *, action: str, title: str, submit: str, form=None, destructive=False
    ):
        """The intermediate page of an action: lists the objects, asks for input or confirmation.

        Its form posts back to the changelist with `apply` set; the action then does the work.
        """
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "objects": queryset,
            "form": form,
            "action": action,
            "submit_label": submit,
            "destructive": destructive,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/service_action_confirmation.html", context)

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def soft_delete(self, request, queryset):
        if "apply" not in request.POST:
            return self.action_page(
                request,
                queryset,
                action="soft_delete",
                title=f"Delete these {self.opts.verbose_name_plural}?",
                submit="Yes, delete them",
                destructive=True,
            )
        self.delete_queryset(request, queryset)
        return None

    def delete_queryset(self, request, queryset):
        self.run_for_each(request, queryset, call=lambda obj: self.delete_model(request, obj), done="Deleted")

    @admin.display(boolean=True, description="deleted", ordering="tm_delete")
    def is_deleted(self, obj) -> bool:
        return obj.tm_delete is not None


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: operators may look, nobody may add, change or delete."""

    show_full_result_count = False  # no second COUNT(*) over a large table

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- customers -----------------------------------------------------------------------------------


def _live_count_per_customer(queryset: QuerySet) -> Coalesce:
    """How many of `queryset`'s rows each customer has, as one subquery (no query per row)."""
    counts = (
        queryset.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts), 0)


@admin.register(Customer)
class CustomerAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = CustomerChangeForm
    add_form = CustomerAddForm
    list_display = ("name", "agent_count", "tag_count", "tm_create")
    search_fields = ("name",)
    ordering = ("name",)
    add_fieldsets = (
        (None, {"fields": ("name", "detail")}),
        ("First admin agent", {"fields": ("admin_username", "password1", "password2")}),
    )
    fieldsets = (
        (None, {"fields": ("id", "name", "detail")}),
        ("Data", {"fields": ("agents_link", "tags_link", "access_keys_link")}),
        ("Times", {"fields": ("tm_create", "tm_update")}),
    )
    readonly_fields = ("id", "agents_link", "tags_link", "access_keys_link", "tm_create", "tm_update")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                agent_count=_live_count_per_customer(Agent.objects.live()),
                tag_count=_live_count_per_customer(Tag.objects.live()),
            )
        )

    def has_delete_permission(self, request, obj=None):
        # The contract has no deleting of customers; their agents and tags are deleted one by one.
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            first_admin = services.customer_create_with_admin(
                name=data["name"],
                detail=data["detail"],
                username=data["admin_username"],
                password=data["password1"],
            )
            adopt(obj, first_admin.customer)
            return
        changes = changed_values(form, "name", "detail")
        if changes:
            adopt(obj, services.customer_update(actor=request.user, customer=obj, **changes))

    @admin.display(description="live agents", ordering="agent_count")
    def agent_count(self, obj) -> str:
        url = admin_changelist_url(Agent, customer__id__exact=obj.pk, deleted="no")
        return format_html('<a href="{}">{}</a>', url, obj.agent_count)

    @admin.display(description="live tags", ordering="tag_count")
    def tag_count(self, obj) -> str:
        url = admin_changelist_url(Tag, customer__id__exact=obj.pk, deleted="no")
        return format_html('<a href="{}">{}</a>', url, obj.tag_count)

    @admin.display(description="agents")
    def agents_link(self, obj) -> str:
        return self.agent_count(obj)

    @admin.display(description="tags")
    def tags_link(self, obj) -> str:
        return self.tag_count(obj)

    @admin.display(description="access keys")
    def access_keys_link(self, obj) -> str:
        url = admin_changelist_url(AccessKey, customer__id__exact=obj.pk, deleted="no")
        return format_html('<a href="{}">Access keys of {}</a>', url, obj.name)


# --- agents --------------------------------------------------------------------------------------


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
        "tm_create",
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
        ("Status", {"fields": ("status", "status_reason", "tm_status")}),
        ("Permission and tags", {"fields": ("permission", "tags")}),
        ("Direct hash", {"fields": ("direct_hash", "direct_sip_uri")}),
        ("Times", {"fields": ("tm_create", "tm_update", "tm_delete", "last_login")}),
    )
    deleted_fieldsets = (
        (None, {"fields": ("customer", "username")}),
        ("Profile", {"fields": ("name", "detail", "ring_method")}),
        ("Status", {"fields": ("status", "tm_status")}),
        ("Permission and tags", {"fields": ("permission_labels", "tag_names")}),
        ("Times", {"fields": ("tm_create", "tm_update", "tm_delete", "last_login")}),
    )
    readonly_fields = (
        "customer",
        "username",
        "password_link",
        "tm_status",
        "direct_hash",
        "direct_sip_uri",
        "tm_create",
        "tm_update",
        "tm_delete",
        "last_login",
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

    def get_inlines(self, request, obj):
        # Addresses are given on the change page (and a deleted agent has none).
        return [AddressInline] if obj is not None and obj.tm_delete is None else []

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        kwargs["service_error"] = getattr(request, _SERVICE_ERROR, None)
        return kwargs

    # --- writes: each changed group of fields goes to its service --------------------------------

    def save_model(self, request, obj, form, change):
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

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            if isinstance(formset, AddressFormSet) and formset.has_changed():
                services.agent_replace_addresses(
                    actor=request.user, agent=form.instance, addresses=formset.submitted_addresses()
                )

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
                show_service_error(form, error, field_names={"password": "password1"})
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
        return ", ".join(Permission.LABELS[bit] for bit in permission_bits(obj.permission))

    @admin.display(description="tags")
    def tag_names(self, obj) -> str:
        return ", ".join(link.tag.name for link in obj.tag_links.all())

    @admin.display(description="addresses")
    def address_targets(self, obj) -> str:
        return ", ".join(str(address) for address in obj.addresses.all())


# --- access keys ---------------------------------------------------------------------------------


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


# --- history (read-only) -------------------------------------------------------------------------


@admin.register(AgentStatusChange)
class AgentStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("tm_create", "agent", "customer", "from_status", "to_status", "reason", "changed_by")
    list_select_related = ("agent__customer", "changed_by_agent", "changed_by_access_key")
    list_filter = ("to_status", "agent__customer")
    search_fields = ("agent__username", "reason")
    ordering = ("-tm_create", "-id")
    fields = ("agent", "customer", "from_status", "to_status", "reason", "changed_by", "tm_create")

    @admin.display(description="customer")
    def customer(self, obj) -> str:
        return obj.agent.customer.name

    @admin.display(description="changed by")
    def changed_by(self, obj) -> str:
        return obj.changed_by_label


@admin.register(AgentEvent)
class AgentEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "tm_create", "type", "agent", "customer")
    list_select_related = ("agent", "customer")
    list_filter = ("type", "customer")
    search_fields = ("agent__username",)
    ordering = ("-id",)
    fields = ("id", "tm_create", "type", "customer", "agent", "data_as_json")

    def get_queryset(self, request):
        # The list does not show the (large) agent snapshot; the detail page loads it.
        return super().get_queryset(request).defer("data")

    @admin.display(description="data")
    def data_as_json(self, obj) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2))
