"""How a committed event leaves the process for Redis (agents/event_bus.py; README, "Event
stream", "Publishing"): one socket write on a connection Redis does not answer on, in the
layer's own channels and format, once the request's response is out, and a Redis that is down
never fails a change.

Each test runs its own `redis-server` on a free port, so that it can be stopped and started
again; tests/test_event_stream.py covers the stream end to end on the shared one.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from channels.layers import channel_layers, get_channel_layer
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from agents import event_bus
from agents.models import AgentEvent
from agents.permissions import SYSTEM
from agents.services import agent_set_status
from tests.api_support import token_for
from tests.factories import make_agent, make_customer_admin

pytestmark = pytest.mark.django_db

PREFIX = "publishing-test"


class RedisServer:
    """A `redis-server` of the test's own that keeps nothing on disk."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def layer_on(redis_server):
    """This process's channel layer is channels-redis' pub/sub layer on the test's Redis."""
    layers = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_server.url], "prefix": PREFIX},
        }
    }
    channel_layers.backends = {}
    with override_settings(CHANNEL_LAYERS=layers):
        yield get_channel_layer()
    channel_layers.backends = {}


@pytest.fixture
def customer_group_listener(redis_server):
    """Subscribed to the Redis channel of a customer's group, as the layer names it."""

    def listen(customer_id) -> redis.client.PubSub:
        listener = redis.Redis.from_url(redis_server.url).pubsub(ignore_subscribe_messages=True)
        listener.subscribe(f"{PREFIX}__group__{event_bus.customer_group(customer_id)}")
        return listener

    return listen


def received(listener: redis.client.PubSub, layer, count: int, *, timeout: float = 5) -> list[dict]:
    """Up to `count` messages, waiting at most `timeout` seconds for them."""
    messages = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        message = listener.get_message(timeout=0.2)
        if message is not None:
            messages.append(layer.deserialize(message["data"]))
    return messages


def change_status(agent, status: str, capture) -> None:
    with capture(execute=True):  # the commit hooks run, as after a real commit
        agent_set_status(actor=SYSTEM, agent=agent, status=status)


def unread_bytes(sender: event_bus.RedisPubSubSender) -> bytes:
    """What Redis wrote back on the sender's connection (nothing, with its replies off)."""
    sock = sender._own_connections()[0]._sock
    try:
        return sock.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (BlockingIOError, TimeoutError):  # nothing to read (the socket has a timeout)
        return b""


def the_sender() -> event_bus.RedisPubSubSender:
    sender = event_bus._publisher()._redis
    assert sender is not None
    return sender


def test_a_committed_change_reaches_the_layers_channel_and_redis_sends_no_replies(
    layer_on, customer_group_listener, django_capture_on_commit_callbacks
):
    admin = make_customer_admin()
    agent = make_agent(customer_id=admin.customer_id)
    listener = customer_group_listener(admin.customer_id)

    for status in ["available", "away", "busy"]:
        change_status(agent, status, django_capture_on_commit_callbacks)

    messages = received(listener, layer_on, 3)
    events = list(AgentEvent.objects.filter(agent_id=agent.pk).order_by("-id")[:3])[::-1]
    assert [message["id"] for message in messages] == [event.pk for event in events]
    assert [message["type"] for message in messages] == [event_bus.MESSAGE_TYPE] * 3
    assert [json.loads(message["frame"]) for message in messages] == [
        {"type": event.type, "data": event.data, "event_id": str(event.pk)} for event in events
    ]
    time.sleep(0.2)  # time for replies to arrive, had Redis sent any
    assert unread_bytes(the_sender()) == b""


def test_a_change_commits_and_returns_when_redis_is_down_and_the_failure_is_logged_once(
    layer_on, redis_server, django_capture_on_commit_callbacks, caplog
):
    admin = make_customer_admin()
    agent = make_agent(customer_id=admin.customer_id)
    change_status(agent, "available", django_capture_on_commit_callbacks)  # connected
    redis_server.stop()

    with caplog.at_level(logging.ERROR, logger="agents.event_bus"):
        for status in ["away", "busy", "available"]:
            change_status(agent, status, django_capture_on_commit_callbacks)

    agent.refresh_from_db()
    assert agent.status == "available"
    assert AgentEvent.objects.filter(agent_id=agent.pk, type="agent_status_updated").count() == 4
    # The first write to the dead connection can still be taken by the kernel; the one after it
    # fails, and then publishing pauses: one error in the log, not one per change.
    assert [record.getMessage() for record in caplog.records] == ["could not publish 1 agent events; pausing"]


def test_publishing_resumes_after_a_pause_once_redis_is_back_with_its_replies_off_again(
    layer_on, redis_server, customer_group_listener, django_capture_on_commit_callbacks, monkeypatch
):
    admin = make_customer_admin()
    agent = make_agent(customer_id=admin.customer_id)
    change_status(agent, "available", django_capture_on_commit_callbacks)
    redis_server.stop()
    for status in ["away", "busy"]:
        change_status(agent, status, django_capture_on_commit_callbacks)
    redis_server.start()
    listener = customer_group_listener(admin.customer_id)
    monkeypatch.setattr(the_sender(), "_paused_until", 0.0)  # the pause is over

    change_status(agent, "available", django_capture_on_commit_callbacks)

    newest = AgentEvent.objects.filter(agent_id=agent.pk).latest("id")
    assert [message["id"] for message in received(listener, layer_on, 1)] == [newest.pk]
    time.sleep(0.2)
    assert unread_bytes(the_sender()) == b""  # the new connection turned the replies off too


# --- a request publishes once its response is out ---------------------------------------------


@pytest.fixture
def watched_agent(customer_group_listener):
    """A customer's admin, one of its agents, and a listener on the customer's group."""
    admin = make_customer_admin()
    return admin, make_agent(customer_id=admin.customer_id), customer_group_listener(admin.customer_id)


def status_body(status: str) -> bytes:
    return json.dumps({"status": status}).encode()


@pytest.mark.django_db(transaction=True)
def test_a_wsgi_request_publishes_its_events_once_its_response_has_been_sent(layer_on, watched_agent):
    admin, agent, listener = watched_agent
    body = status_body("available")
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": f"/v1.0/agents/{agent.pk}/status",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token_for(admin)}",
    }
    started = []

    response = WSGIHandler()(environ, lambda status, headers: started.append(status))
    assert started == ["200 OK"]
    assert b"".join(response)  # the server has written the body: the change committed...
    assert received(listener, layer_on, 1, timeout=0.5) == []  # ...and nothing is sent yet
    response.close()  # what the server calls once the response is out

    event = AgentEvent.objects.filter(agent_id=agent.pk).latest("id")
    assert [message["id"] for message in received(listener, layer_on, 1)] == [event.pk]


@pytest.mark.django_db(transaction=True)
def test_an_asgi_request_publishes_its_events_once_its_response_has_been_sent(layer_on, watched_agent):
    admin, agent, listener = watched_agent
    token = token_for(admin)
    seen_when_sent: list[list[dict]] = []
    answered = []

    body = status_body("busy")
    bodies = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays connected (the handler cancels this)
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])
        if message["type"] == "http.response.body" and not message.get("more_body"):
            # The last of the response: what Redis has carried by then.
            seen_when_sent.append(received(listener, layer_on, 1, timeout=0.5))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": f"/v1.0/agents/{agent.pk}/status",
        "raw_path": f"/v1.0/agents/{agent.pk}/status".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    # A thread of its own: the browser tests' Playwright may run an event loop in this one.
    server = threading.Thread(target=asyncio.run, args=(ASGIHandler()(scope, receive, send),))
    server.start()
    server.join(30)

    assert answered == [200]
    event = AgentEvent.objects.filter(agent_id=agent.pk).latest("id")
    assert seen_when_sent == [[]]
    assert [message["id"] for message in received(listener, layer_on, 1)] == [event.pk]
