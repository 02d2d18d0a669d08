"""Shared fixtures: the named personas of STYLE.md and a database snapshot helper.

Customer A has an admin, a manager and a plain agent; customer B has an admin who must see
nothing of A.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

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


# --- background tasks -------------------------------------------------------------------------


@pytest.fixture
def run_tasks(monkeypatch):
    """`run_tasks()` runs the queued background tasks here and now, through the worker's own
    loop (what `manage.py db_worker --batch` does), inside the test's transaction; it fails
    the test with the traceback of a task that raised, unless `allow_failures=True`."""
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # The worker drops a connection that is not in autocommit mode: the test's transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run(*, allow_failures: bool = False) -> None:
        db_worker.Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="pytest",
            excluded_queue_names=[],
        ).run()
        if not allow_failures:
            failed = [result.traceback for result in DBTaskResult.objects.failed()]
            assert not failed, "a background task failed:\n" + "\n".join(failed)

    return run


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that opens, in another process, the database this one is connected to."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    credentials = quote(settings_dict["USER"] or "", safe="")
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = settings_dict["HOST"] or "localhost"
    port = settings_dict["PORT"] or "5432"
    return f"postgres://{credentials}@{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


@pytest.fixture
def task_worker(transactional_db, tmp_path):
    """A real background worker process (`manage.py db_worker`) on the test database, as in
    production; what a test commits, it sees. Stopped at the end of the test (SIGTERM: it ends
    the task it is running, then exits); its output is in `task_worker.log_path`."""
    log_path = tmp_path / "db_worker.log"
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "--interval", "0.1"],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log_path
    yield process
    if process.poll() is not None:
        pytest.fail(f"db_worker exited early ({process.returncode}):\n{log_path.read_text()[-3000:]}")
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session", autouse=True)
def _nothing_holds_the_test_database_at_teardown(django_db_setup, django_db_blocker):
    """Set up after the test database, so torn down before it is dropped: end every other
    session on it first. After the browser tests, the next test that reaches the database
    leaves one idle session of this run behind on PostgreSQL (its owner was not found; it is
    not a connection Django's handler still holds), and DROP DATABASE then failed, leaving the
    database behind."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()
