from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("voipbin_admin.api.urls")),
    path("", include("agents.urls", namespace="console")),
]
