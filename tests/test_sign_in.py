"""Sign-in in every door (issue #11, items 3, 5 and 6): `POST /auth/login`, the console's
`/login/` and the admin site's `/admin/login/` share one failed-login limit, refuse sign-in
with 503 while the limit's cache is down and recover by themselves, and the API's login errors
carry their message at the top level too."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from django.urls import reverse

from agents.models import LoginToken
from tests.api_support import Api, error_of
from tests.factories import PASSWORD


def api_login(username, password, address="10.1.0.1"):
    return Api().client.post(
        "/auth/login",
        {"username": username, "password": password},
        content_type="application/json",
        secure=True,
        REMOTE_ADDR=address,
    )


def console_login(client, username, password, address="10.1.0.1"):
    return client.post(
        reverse("console:login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def admin_login(client, username, password, address="10.1.0.1"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


# --- one limit for the three doors ------------------------------------------------------------


def test_admin_site_failures_count_against_the_api_and_the_console(client, super_admin, settings):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    for n in range(3):
        assert admin_login(client, "sam-superadmin", "wrong", address=f"10.2.0.{n}").status_code == 200

    assert error_of(api_login("sam-superadmin", PASSWORD, "10.3.0.1"))[:2] == (429, "RESOURCE_EXHAUSTED")
    assert console_login(client, "sam-superadmin", PASSWORD, "10.3.0.2").status_code == 429
    assert not LoginToken.objects.filter(agent=super_admin).exists()


def test_the_admin_site_is_throttled_after_failures_elsewhere(client, super_admin, settings):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    api_login("sam-superadmin", "wrong", "10.2.0.1")
    console_login(client, "SAM-superadmin", "wrong", "10.2.0.2")
    api_login("sam-superadmin", "wrong", "10.2.0.3")

    response = admin_login(client, "sam-superadmin", PASSWORD, "10.4.0.1")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_site_counts_failures_per_client_address(client, super_admin, settings):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    for n in range(3):
        admin_login(client, f"guess-{n}", "wrong", address="10.5.0.1")

    assert admin_login(client, "sam-superadmin", PASSWORD, address="10.5.0.1").status_code == 429
    assert admin_login(client, "sam-superadmin", PASSWORD, address="10.5.0.2").status_code == 302


def test_the_admin_site_says_why_a_right_password_is_not_enough(client, admin_a):
    response = admin_login(client, "alice-admin", PASSWORD)

    assert response.status_code == 200
    assert "needs the project super admin permission" in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- the top-level message of login errors ------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/login", "/v1.0/auth/login"])
@pytest.mark.parametrize(
    ("body", "status"),
    [({"username": "alice-admin", "password": "wrong"}, 401), ({"username": "alice-admin"}, 400)],
)
def test_login_errors_carry_the_message_at_the_top_level(admin_a, path, body, status):
    response = Api().client.post(path, body, content_type="application/json", secure=True)

    assert response.status_code == status
    assert response.json()["message"] == response.json()["error"]["message"] != ""


def test_throttled_logins_carry_the_message_at_the_top_level(admin_a, settings):
    settings.LOGIN_THROTTLE_RATE = "1/min"
    api_login("alice-admin", "wrong")

    response = api_login("alice-admin", PASSWORD)

    assert response.status_code == 429
    assert response.json()["message"].startswith("Too many failed logins")


def test_other_errors_keep_the_bare_envelope(api):
    assert set(api.get("/v1.0/me").json()) == {"error"}


# --- a cache outage -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, on a port of its own, that can be stopped and started."""

    def __init__(self):
        self.port = _free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(settings):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    server = RedisServer()
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield server
    if server.process.poll() is None:
        server.stop()


def test_sign_in_fails_closed_while_the_cache_is_down_and_recovers_by_itself(client, super_admin, own_redis):
    assert api_login("sam-superadmin", PASSWORD).status_code == 200

    own_redis.stop()
    api = api_login("sam-superadmin", PASSWORD)
    console = console_login(client, "sam-superadmin", PASSWORD)
    admin_site = admin_login(client, "sam-superadmin", PASSWORD)

    assert error_of(api) == (503, "UNAVAILABLE", "SIGN_IN_UNAVAILABLE")
    assert api.json()["message"] == api.json()["error"]["message"]
    for response in (api, console, admin_site):
        assert response.status_code == 503
        assert int(response["Retry-After"]) >= 1
    for page in (console, admin_site):
        assert page["Content-Type"].startswith("text/html")
        assert "Sign-in is unavailable for a moment" in page.content.decode()
    assert "_auth_user_id" not in client.session

    own_redis.start()
    assert api_login("sam-superadmin", PASSWORD).status_code == 200
    assert admin_login(client, "sam-superadmin", PASSWORD).status_code == 302
