"""Shared fixtures: the named personas of STYLE.md and a database snapshot helper.

Customer A has an admin, a manager and a plain agent; customer B has an admin who must see
nothing of A.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection

from agents.models import Permission
from tests.api_support import Api, caller_credentials
from tests.factories import PASSWORD, make_agent, make_customer_admin
from voipbin_admin.api import throttling


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_http_without_collectstatic(settings):
    """Tests speak plain HTTP to the app (production redirects to HTTPS) and run no collectstatic
    (production serves the hashed manifest that collectstatic writes)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_failed_logins_from_earlier_tests(monkeypatch):
    """Login throttling counts failures in the cache; each test starts with none, and the
    clock it reads stays in the middle of one window, so a test's failures never straddle two
    fixed windows (which made throttling tests fail about once in a few hundred runs)."""
    cache.clear()
    mid_window = 1_800_000_030.0  # 30 s into a one-minute window
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: mid_window))


@pytest.fixture
def api():
    """A client of the REST API (tests/api_support.py)."""
    return Api()


@pytest.fixture
def callers(admin_a, manager_a, agent_a, admin_b):
    """The credential of every caller the contract's tables name, by role."""
    return caller_credentials(admin=admin_a, manager=manager_a, agent=agent_a, other_admin=admin_b)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def admin_a(db):
    return make_customer_admin(username="alice-admin", customer_name="Customer A")


@pytest.fixture
def customer_a(admin_a):
    return admin_a.customer


@pytest.fixture
def manager_a(customer_a):
    return make_agent(customer_a.id, username="mike-manager", permission=Permission.CUSTOMER_MANAGER)


@pytest.fixture
def agent_a(customer_a):
    return make_agent(customer_a.id, username="pat-agent", permission=Permission.CUSTOMER_AGENT)


@pytest.fixture
def admin_b(db):
    return make_customer_admin(username="bob-admin", customer_name="Customer B")


@pytest.fixture
def customer_b(admin_b):
    return admin_b.customer


@pytest.fixture
def super_admin(customer_a):
    return make_agent(
        customer_a.id,
        username="sam-superadmin",
        permission=Permission.PROJECT_SUPER_ADMIN | Permission.CUSTOMER_ADMIN,
    )


@pytest.fixture
def operator(client, super_admin):
    """A test client signed in to the admin site as a project super admin."""
    client.force_login(super_admin)
    return client


def database_state() -> dict[str, list[tuple]]:
    """Every row of every project table, to assert that a refused write changed nothing."""
    state = {}
    for app_label in ("agents", "tags"):
        for model in apps.get_app_config(app_label).get_models():
            fields = [field.attname for field in model._meta.concrete_fields]
            state[model._meta.label] = sorted(
                model.objects.values_list(*fields), key=lambda row: tuple(str(value) for value in row)
            )
    return state


@pytest.fixture
def unchanged_database(db):
    """Use as `with unchanged_database(): <refused call>`; fails if any row changed."""
    from contextlib import contextmanager

    @contextmanager
    def check():
        before = database_state()
        yield
        assert database_state() == before, "a refused write changed the database"

    return check


@pytest.fixture
def is_postgresql() -> bool:
    return connection.vendor == "postgresql"
