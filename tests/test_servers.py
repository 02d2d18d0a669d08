"""The real servers, as production and development run them: gunicorn with
voipbin_admin/gunicorn_conf.py, and runserver.

Each runs as a subprocess on a free local port against its own SQLite database (migrated and
seeded here, so the test database's transaction is not involved), with its logs going to files
the tests read: no credential from a request may appear in them, and the longest list request
the contract allows must be answered, not refused for its request line.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.stream_support import PingWatch
from voipbin_admin.asgi_worker import PING_INTERVAL_SECONDS, PING_TIMEOUT_SECONDS
from voipbin_admin.management.commands import runserver as runserver_command

ROOT = Path(__file__).resolve().parents[1]
SEED = """
import json
from agents.permissions import SYSTEM
from agents.services import access_key_create, login_token_create
from tests.factories import PASSWORD, make_agent, make_customer_admin, make_tag
admin = make_customer_admin(username="server-admin")
tag = make_tag(admin.customer_id, name="english")
make_agent(admin.customer_id, username="tagged", tag_ids=[tag.id])
_, access_key = access_key_create(actor=SYSTEM, customer_id=admin.customer_id)
_, token = login_token_create(username="server-admin", password=PASSWORD)
print(json.dumps({"access_key": access_key, "token": token, "tag_id": str(tag.id)}))
"""


@pytest.fixture(scope="module")
def server_env(tmp_path_factory) -> dict:
    """The environment of a production-like server process and the credentials it knows."""
    directory = tmp_path_factory.mktemp("servers")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "CACHE_URL": "locmemcache://",
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
    seeded = subprocess.run(
        [*manage, "shell", "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return {"env": env, "dir": directory, **json.loads(seeded.stdout.strip().splitlines()[-1])}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, errors: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {errors.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"the server did not listen on {port}: {errors.read_text()}")


class Server:
    def __init__(self, command: list[str], env: dict, directory: Path, name: str):
        self.port = free_port()
        self.access_log = directory / f"{name}-access.log"
        self.error_log = directory / f"{name}-errors.log"
        env = {
            **env,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "GUNICORN_ACCESS_LOG": str(self.access_log),
        }
        command = [part.replace("{port}", str(self.port)) for part in command]
        with self.error_log.open("w") as errors:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=errors, stderr=errors)
        wait_until_listening(self.port, self.process, self.error_log)

    def get(self, target: str, headers: dict | None = None) -> tuple[int, bytes]:
        """GET `target` exactly as given (no re-encoding)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request("GET", target, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def logs(self, *, containing: str) -> str:
        """Both logs, once a line holding `containing` was written (a server logs a request
        just after answering it)."""
        deadline = time.monotonic() + 10
        while True:
            text = "".join(path.read_text() for path in (self.access_log, self.error_log) if path.exists())
            if containing in text or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def gunicorn(server_env):
    server = Server(
        [sys.executable, "-m", "gunicorn", "-c", "voipbin_admin/gunicorn_conf.py", "voipbin_admin.wsgi"],
        {**server_env["env"], "WEB_CONCURRENCY": "1"},
        server_env["dir"],
        "gunicorn",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runserver(server_env):
    server = Server(
        [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"],
        server_env["env"],
        server_env["dir"],
        "runserver",
    )
    yield server
    server.stop()


# --- credentials never reach a log --------------------------------------------------------------

LEAKED_KEY = "vb_" + "L" * 32
LEAKED_TOKEN = "abc-leaked-token"


def credentials_in(text: str, *secrets: str) -> list[str]:
    return [secret for secret in (LEAKED_KEY, LEAKED_TOKEN, *secrets) if secret in text]


def test_gunicorns_logs_hold_no_credential(gunicorn, server_env):
    key = server_env["access_key"]
    status, _ = gunicorn.get(f"/v1.0/me?accesskey={LEAKED_KEY}&token={LEAKED_TOKEN}")
    assert status == 401
    status, _ = gunicorn.get(
        f"/v1.0/me?page_size=1&accesskey={key}",
        headers={"Referer": f"https://crm.example/?token={LEAKED_TOKEN}", "Authorization": "Basic eDp5"},
    )
    assert status == 200

    logs = gunicorn.logs(containing="/v1.0/me?page_size=1&accesskey=[redacted]")

    assert "GET /v1.0/me?accesskey=[redacted]&token=[redacted] HTTP/1.1" in logs
    assert "https://crm.example/?token=[redacted]" in logs
    assert not credentials_in(logs, key), logs


def test_runservers_request_lines_hold_no_credential(runserver, server_env):
    status, _ = runserver.get(f"/v1.0/me?accesskey={LEAKED_KEY}&token={LEAKED_TOKEN}")
    assert status == 401

    logs = runserver.logs(containing="/v1.0/me?accesskey=[redacted]&token=[redacted]")

    # runserver is Daphne's (it serves the event stream's WebSocket too): its request line.
    assert "HTTP GET /v1.0/me?accesskey=[redacted]&token=[redacted] 401" in logs
    assert not credentials_in(logs), logs


# --- the event stream's keep-alive ---------------------------------------------------------------


def test_runserver_pings_the_stream_every_10_seconds(runserver, server_env):
    """The README's first command serves the stream with the production server's keep-alive
    (contract section 11: a ping every 10 s; Daphne's own default is 20 s)."""
    watch = PingWatch(
        f"ws://127.0.0.1:{runserver.port}/v1.0/ws", {"Authorization": f"Bearer {server_env['access_key']}"}
    )
    watch.start()
    try:
        deadline = time.monotonic() + PING_INTERVAL_SECONDS + 5
        while len(watch.pings) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watch.stop()
    assert watch.status == 101
    assert watch.pings, "no ping within 15 s of the handshake"
    assert watch.pings[0] - watch.opened_at < PING_INTERVAL_SECONDS + 3
    assert watch.closed is None
    server = runserver_command.Command.server_cls(application=None, endpoints=["tcp:port=0"])
    assert (server.ping_interval, server.ping_timeout) == (PING_INTERVAL_SECONDS, PING_TIMEOUT_SECONDS)


# --- the request line -----------------------------------------------------------------------------


def longest_list_request(server_env) -> str:
    """`GET /v1.0/service_agents/agents` with every filter at its contract limit, encoded as
    clients encode it (`,` as `%2C`, a username of 255 four-byte characters as UTF-8 escapes) and
    both query credentials."""
    tag_ids = [server_env["tag_id"], *(str(uuid.uuid4()) for _ in range(99))]
    position = f"2026-01-01 00:00:00.000000|{uuid.uuid4()}".encode()
    query = urlencode(
        {
            "tag_ids": ",".join(tag_ids),
            "status": "available",
            "page_size": "100",
            "page_token": base64.urlsafe_b64encode(position).decode().rstrip("="),
            "username": "\N{GRINNING FACE}" * 255,
            "token": server_env["token"],
            "accesskey": server_env["access_key"],
        }
    )
    return f"/v1.0/service_agents/agents?{query}"


def test_the_longest_list_request_the_contract_allows_is_served(gunicorn, server_env):
    target = longest_list_request(server_env)
    assert len(f"GET {target} HTTP/1.1") > 7000  # far over gunicorn's default of 4094

    status, body = gunicorn.get(target)

    assert status == 200, body[:200]
    assert json.loads(body)["result"] == []  # nobody has that username


def test_a_filter_of_100_tag_ids_finds_the_tagged_agent(gunicorn, server_env):
    """The request of the issue: 100 tag ids with the other list parameters and a login token."""
    tag_ids = [str(uuid.uuid4()) for _ in range(99)] + [server_env["tag_id"]]
    position = f"9999-01-01 00:00:00.000000|{uuid.uuid4()}".encode()
    target = "/v1.0/service_agents/agents?" + urlencode(
        {
            "page_size": "100",
            "status": "offline",
            "page_token": base64.urlsafe_b64encode(position).decode().rstrip("="),
            "tag_ids": ",".join(tag_ids),
            "token": server_env["token"],
        }
    )
    assert len(f"GET {target} HTTP/1.1") > 4094

    status, body = gunicorn.get(target)

    assert status == 200, body[:200]
    assert [agent["username"] for agent in json.loads(body)["result"]] == ["tagged"]
