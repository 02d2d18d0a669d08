"""Routes of the REST API (contract section 1): /auth/login at the root and everything under /v1.0/.

Paths have no trailing slash. Anything else under /v1.0/ or /auth/ (a trailing slash, an unknown
route) is a 404 in the error envelope, never a redirect: clients do not follow redirects and a
redirected POST would turn into a GET.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView

import voipbin_admin.api.schema  # noqa: F401  (registers the authentication scheme for the document)
from agents.api import views as agent_views
from voipbin_admin.api.views import ApiDocsView, RouteNotFound

urlpatterns = [
    path("auth/login", agent_views.LoginView.as_view(), name="api-login"),
    path("auth/logout", agent_views.LogoutView.as_view(), name="api-logout"),
    path("v1.0/auth/login", agent_views.VersionedLoginView.as_view(), name="api-v1-login"),
    path("v1.0/auth/logout", agent_views.VersionedLogoutView.as_view(), name="api-v1-logout"),
    path("v1.0/openapi.json", SpectacularJSONAPIView.as_view(), name="api-openapi"),
    path("v1.0/docs", ApiDocsView.as_view(), name="api-docs"),
    path("v1.0/", include("agents.api.urls")),
    path("v1.0/", include("tags.api.urls")),
    re_path(r"^(?:v1\.0|auth)(?:/.*)?$", RouteNotFound.as_view(), name="api-route-not-found"),
]
