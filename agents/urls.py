"""Routes of the supervisor console."""

app_name = "console"
urlpatterns: list = []
