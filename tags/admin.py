"""Tags in the admin site: every write goes through `tags.services` (see voipbin_admin/admin_support.py)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q

from tags import services
from tags.models import Tag
from voipbin_admin.admin_support import (
    DeletedListFilter,
    ServiceAdminMixin,
    ServiceModelForm,
    adopt,
    changed_values,
)


class TagAddForm(ServiceModelForm):
    service_reason_fields = {services.TAG_ALREADY_EXISTS: "name"}

    class Meta:
        model = Tag
        fields = ("customer", "name", "detail")


class TagChangeForm(ServiceModelForm):
    service_reason_fields = {services.TAG_ALREADY_EXISTS: "name"}

    class Meta:
        model = Tag
        fields = ("name", "detail")


@admin.register(Tag)
class TagAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = TagChangeForm
    add_form = TagAddForm
    list_display = ("name", "customer", "agent_count", "is_deleted", "tm_create")
    list_select_related = ("customer",)
    list_filter = ("customer", DeletedListFilter)
    search_fields = ("name",)
    ordering = ("customer__name", "name")
    autocomplete_fields = ("customer",)
    add_fieldsets = ((None, {"fields": ("customer", "name", "detail")}),)
    fieldsets = (
        (None, {"fields": ("customer", "name", "detail")}),
        ("Times", {"fields": ("tm_create", "tm_update", "tm_delete")}),
    )
    readonly_fields = ("customer", "tm_create", "tm_update", "tm_delete")

    def get_queryset(self, request):
        live_agents = Q(agent_links__agent__tm_delete__isnull=True)
        return super().get_queryset(request).annotate(agent_count=Count("agent_links", filter=live_agents))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            adopt(
                obj,
                services.tag_create(
                    actor=request.user,
                    customer_id=data["customer"].pk,
                    name=data["name"],
                    detail=data["detail"],
                ),
            )
            return
        changes = changed_values(form, "name", "detail")
        if changes:
            services.tag_update(actor=request.user, tag=obj, **changes)

    def delete_model(self, request, obj):
        services.tag_delete(actor=request.user, tag=obj)

    @admin.display(description="live agents", ordering="agent_count")
    def agent_count(self, obj) -> int:
        return obj.agent_count
