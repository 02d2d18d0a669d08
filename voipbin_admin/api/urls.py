"""Routes of the REST API (contract section 1): /auth/login at the root and everything under /v1.0/."""

urlpatterns: list = []
