from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("voipbin_admin.api.urls")),
    path("", include("agents.urls", namespace="console")),
]

# Errors raised before or outside a DRF view still answer API clients with the error envelope.
handler400 = "voipbin_admin.api.views.bad_request"
handler500 = "voipbin_admin.api.views.server_error"
