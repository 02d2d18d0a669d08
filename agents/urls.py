"""Routes of the supervisor console (namespace `console`, at the site root)."""

from django.urls import include, path

from agents import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("board/", views.board, name="board"),
    path("board/live/", views.board_live, name="board_live"),
    path("agents/", views.agent_list, name="agent_list"),
    path("agents/new/", views.agent_create, name="agent_create"),
    path("agents/bulk/", views.agent_bulk, name="agent_bulk"),
    path("agents/bulk/result/", views.agent_bulk_result, name="agent_bulk_result"),
    path("agents/export.csv", views.agent_export, name="agent_export"),
    path("agents/import/", views.agent_import, name="agent_import"),
    path("agents/import/<uuid:agent_import_id>/", views.agent_import_detail, name="agent_import_detail"),
    path(
        "agents/import/<uuid:agent_import_id>/progress/",
        views.agent_import_progress,
        name="agent_import_progress",
    ),
    path("agents/address-check/", views.address_check, name="address_check"),
    path("agents/<uuid:agent_id>/", views.agent_detail, name="agent_detail"),
    path("agents/<uuid:agent_id>/profile/", views.agent_profile, name="agent_profile"),
    path("agents/<uuid:agent_id>/status/", views.agent_status, name="agent_status"),
    path("agents/<uuid:agent_id>/addresses/", views.agent_addresses, name="agent_addresses"),
    path("agents/<uuid:agent_id>/tags/", views.agent_tags, name="agent_tags"),
    path("agents/<uuid:agent_id>/permission/", views.agent_permission, name="agent_permission"),
    path("agents/<uuid:agent_id>/password/", views.agent_password, name="agent_password"),
    path("agents/<uuid:agent_id>/direct-hash/", views.agent_direct_hash, name="agent_direct_hash"),
    path("agents/<uuid:agent_id>/delete/", views.agent_delete, name="agent_delete"),
    path("me/", views.me, name="me"),
    path("me/status/", views.me_status, name="me_status"),
    path("me/addresses/", views.me_addresses, name="me_addresses"),
    path("accesskeys/", views.accesskey_list, name="accesskey_list"),
    path("accesskeys/<uuid:access_key_id>/revoke/", views.accesskey_revoke, name="accesskey_revoke"),
    path("", include("tags.urls")),
]
