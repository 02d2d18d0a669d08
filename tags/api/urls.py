"""Routes of tags under /v1.0/ (no trailing slash)."""

from django.urls import path

from tags.api import views

urlpatterns = [
    path("tags", views.TagCollectionView.as_view(), name="api-tags"),
    path("tags/<str:tag_id>", views.TagDetailView.as_view(), name="api-tag"),
    path("service_agents/tags", views.CustomerTagCollectionView.as_view(), name="api-customer-tags"),
    path("service_agents/tags/<str:tag_id>", views.CustomerTagDetailView.as_view(), name="api-customer-tag"),
]
