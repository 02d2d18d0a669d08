"""Routes of agents, access keys and the caller's own record under /v1.0/ (no trailing slash)."""

from django.urls import path

from agents.api import views
from agents.api.views import reports

urlpatterns = [
    path("me", views.MeView.as_view(), name="api-me"),
    path("agents", views.AgentCollectionView.as_view(), name="api-agents"),
    path("agents/<str:agent_id>", views.AgentDetailView.as_view(), name="api-agent"),
    path("agents/<str:agent_id>/status", views.AgentStatusView.as_view(), name="api-agent-status"),
    path("agents/<str:agent_id>/addresses", views.AgentAddressesView.as_view(), name="api-agent-addresses"),
    path("agents/<str:agent_id>/tag_ids", views.AgentTagIdsView.as_view(), name="api-agent-tag-ids"),
    path(
        "agents/<str:agent_id>/permission", views.AgentPermissionView.as_view(), name="api-agent-permission"
    ),
    path("agents/<str:agent_id>/password", views.AgentPasswordView.as_view(), name="api-agent-password"),
    path(
        "agents/<str:agent_id>/direct-hash-regenerate",
        views.AgentDirectHashView.as_view(),
        name="api-agent-direct-hash-regenerate",
    ),
    # Contract section 12 (extensions): status history and reports.
    path(
        "agents/<str:agent_id>/status_history",
        reports.AgentStatusHistoryView.as_view(),
        name="api-agent-status-history",
    ),
    path("reports/agent_status", reports.AgentStatusReportView.as_view(), name="api-report-agent-status"),
    path("service_agents/me", views.OwnAgentView.as_view(), name="api-own-agent"),
    path("service_agents/me/status", views.OwnStatusView.as_view(), name="api-own-status"),
    path("service_agents/me/addresses", views.OwnAddressesView.as_view(), name="api-own-addresses"),
    path("service_agents/me/password", views.OwnPasswordView.as_view(), name="api-own-password"),
    path("service_agents/agents", views.CustomerAgentCollectionView.as_view(), name="api-customer-agents"),
    path(
        "service_agents/agents/<str:agent_id>",
        views.CustomerAgentDetailView.as_view(),
        name="api-customer-agent",
    ),
    path("accesskeys", views.AccessKeyCollectionView.as_view(), name="api-accesskeys"),
    path("accesskeys/<str:access_key_id>", views.AccessKeyDetailView.as_view(), name="api-accesskey"),
]
