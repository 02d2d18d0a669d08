"""Customers in the admin site: live agent and tag counts; a new customer gets its first admin."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from agents import services
from agents.admin.forms import CustomerAddForm, CustomerChangeForm
from agents.models import AccessKey, Agent, Customer
from tags.models import Tag
from voipbin_admin.admin_support import ServiceAdminMixin, admin_changelist_url, adopt, changed_values


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
        (None, {"fields": ("id", "name", "detail", "time_zone")}),
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
        changes = changed_values(form, "name", "detail", "time_zone")
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
