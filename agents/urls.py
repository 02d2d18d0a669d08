"""Routes of the supervisor console (namespace `console`, at the site root)."""

from django.urls import include, path

from agents.views import access_keys, agent_detail, agents, board, imports, me, reports, sign_in

app_name = "console"
urlpatterns = [
    path("", sign_in.home, name="home"),
    path("login/", sign_in.SignInView.as_view(), name="login"),
    path("logout/", sign_in.SignOutView.as_view(), name="logout"),
    path("board/", board.board, name="board"),
    path("board/live/", board.board_live, name="board_live"),
    path("agents/", agents.agent_list, name="agent_list"),
    path("agents/new/", agents.agent_create, name="agent_create"),
    path("agents/bulk/", agents.agent_bulk, name="agent_bulk"),
    path("agents/bulk/result/", agents.agent_bulk_result, name="agent_bulk_result"),
    path("agents/export.csv", agents.agent_export, name="agent_export"),
    path("agents/import/", imports.agent_import, name="agent_import"),
    path("agents/import/<uuid:agent_import_id>/", imports.agent_import_detail, name="agent_import_detail"),
    path(
        "agents/import/<uuid:agent_import_id>/progress/",
        imports.agent_import_progress,
        name="agent_import_progress",
    ),
    path("agents/address-check/", agent_detail.address_check, name="address_check"),
    path("agents/<uuid:agent_id>/", agent_detail.agent_detail, name="agent_detail"),
    path("agents/<uuid:agent_id>/profile/", agent_detail.agent_profile, name="agent_profile"),
    path("agents/<uuid:agent_id>/status/", agent_detail.agent_status, name="agent_status"),
    path("agents/<uuid:agent_id>/addresses/", agent_detail.agent_addresses, name="agent_addresses"),
    path("agents/<uuid:agent_id>/tags/", agent_detail.agent_tags, name="agent_tags"),
    path("agents/<uuid:agent_id>/permission/", agent_detail.agent_permission, name="agent_permission"),
    path("agents/<uuid:agent_id>/password/", agent_detail.agent_password, name="agent_password"),
    path("agents/<uuid:agent_id>/direct-hash/", agent_detail.agent_direct_hash, name="agent_direct_hash"),
    path("agents/<uuid:agent_id>/delete/", agent_detail.agent_delete, name="agent_delete"),
    path("reports/", reports.report, name="report"),
    path("reports/export.csv", reports.report_export, name="report_export"),
    path("reports/timeline/", reports.timeline, name="report_timeline"),
    path("reports/curve/", reports.curve, name="report_curve"),
    path("reports/time-zone/", reports.time_zone, name="report_time_zone"),
    path("me/", me.me, name="me"),
    path("me/status/", me.me_status, name="me_status"),
    path("me/addresses/", me.me_addresses, name="me_addresses"),
    path("accesskeys/", access_keys.accesskey_list, name="accesskey_list"),
    path("accesskeys/<uuid:access_key_id>/revoke/", access_keys.accesskey_revoke, name="accesskey_revoke"),
    path("", include("tags.urls")),
]
