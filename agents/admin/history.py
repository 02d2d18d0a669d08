"""The status history and the events in the admin site: read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from agents.models import AgentEvent, AgentStatusChange
from voipbin_admin.admin_support import ReadOnlyAdmin


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
