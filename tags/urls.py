"""Routes of the console's tag pages (included by agents/urls.py, in the `console` namespace)."""

from django.urls import path

from tags import views

urlpatterns = [
    path("tags/", views.tag_list, name="tag_list"),
    path("tags/<uuid:tag_id>/", views.tag_edit, name="tag_edit"),
    path("tags/<uuid:tag_id>/delete/", views.tag_delete, name="tag_delete"),
]
