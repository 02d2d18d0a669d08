"""The event stream over WebSocket (contract section 11), end to end: real clients (the
`websockets` library) against real server processes as production runs them (gunicorn with the
StreamWorker, uvicorn) on the test database, with events carried between processes by Redis.

Writes made here, through the services, are published to the servers as any server process
publishes them (this process uses the same Redis channel layer and prefix). How the tests wait
without an acknowledgement frame: tests/stream_support.py.

Every test's data is committed (`transaction=True`) so that the servers see it. The flush after
each test leaves out the tables of `contenttypes` and `auth`, which no test here writes to: then
Django does not rebuild them each time (half the flush's 0.7 s on PostgreSQL).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from channels.layers import channel_layers
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import Max
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from agents.models import AccessKey, Agent, AgentEvent, AgentEventType, LoginToken, Permission
from agents.permissions import SYSTEM
from agents.representation import agent_representation
from agents.services import (
    access_key_create,
    access_key_delete,
    agent_delete,
    agent_set_password,
    agent_set_permission,
    agent_set_status,
    agent_update,
    login_token_create,
    login_token_revoke,
)
from tests.api_support import Api
from tests.conftest import database_url
from tests.factories import PASSWORD, make_agent, make_customer_admin
from tests.stream_support import (
    CHANNEL_PREFIX,
    REDIS_URL,
    SECRET_KEY,
    PingWatch,
    Stream,
    StreamServer,
    open_connection,
    redis_reachable,
    refused_status,
)
from voipbin_admin.asgi_worker import PING_INTERVAL_SECONDS, PING_TIMEOUT_SECONDS, StreamWorker
from voipbin_admin.errors import FailedPrecondition

pytestmark = pytest.mark.django_db(
    transaction=True,
    available_apps=[app.name for app in apps.get_app_configs() if app.label not in ("auth", "contenttypes")],
)

PATHS = ["/v1.0/ws", "/v1.0/service_agents/ws"]
#: The main server re-checks rights this often (the default is 5 s; the contract's bound 10 s).
RECHECK_SECONDS = 0.5
FOREIGN_ORIGIN = "https://crm.example"
STATUSES = ["available", "away", "busy"]


# --- servers and clients --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_layer():
    """This process publishes through the servers' channel layer (Redis, this run's prefix)."""
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    layers = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_PREFIX},
        }
    }
    # The servers' SECRET_KEY too: a console session signed in here is checked there.
    override = override_settings(CHANNEL_LAYERS=layers, SECRET_KEY=SECRET_KEY)
    override.enable()
    channel_layers.backends = {}
    yield
    override.disable()
    channel_layers.backends = {}


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("stream")


@pytest.fixture(scope="module")
def servers(redis_layer, django_db_setup, stream_dir):
    """Server A, re-checking rights every RECHECK_SECONDS, and server B, another process on the
    same database and Redis (started together: each takes a few seconds)."""
    url = database_url(connection.settings_dict)
    started = [
        StreamServer(
            database_url=url, directory=stream_dir, name="server-a", recheck_seconds=RECHECK_SECONDS
        ),
        # Re-checks rarely: the ping watch's credential goes with the first test's data (flushed).
        StreamServer(database_url=url, directory=stream_dir, name="server-b", recheck_seconds=3600),
    ]
    try:
        yield [server.wait_until_serving() for server in started]
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def server(servers):
    return servers[0]


@pytest.fixture(scope="module")
def server_b(servers):
    return servers[1]


@pytest.fixture(scope="module", autouse=True)
def ping_watch(server, server_b, django_db_blocker):
    """A raw client on server B from the module's start, so that its first ping (10 s) has come
    by the time `test_the_server_pings_every_10_seconds` runs, without that test waiting."""
    with django_db_blocker.unblock():
        admin = make_customer_admin()
        _, token = login_token_create(username=admin.username, password=PASSWORD)
    watch = PingWatch(server_b.url(), {"Authorization": f"Bearer {token}"})
    watch.start()
    # Answered before the first test runs: its flush at the end deletes the watch's credential.
    deadline = time.monotonic() + 30
    while watch.status is None and time.monotonic() < deadline:
        time.sleep(0.05)
    yield watch
    watch.stop()


@pytest.fixture
def streams():
    """`streams(url, **handshake)` opens a Stream; every one is closed at the end of the test."""
    opened: list[Stream] = []

    def open_stream(url: str, **handshake) -> Stream:
        stream = Stream(open_connection(url, **handshake))
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def token_of(agent: Agent) -> str:
    return login_token_create(username=agent.username, password=PASSWORD)[1]


def access_key_of(customer_id) -> str:
    return access_key_create(actor=SYSTEM, customer_id=customer_id)[1]


def bearer(credential: str) -> dict:
    return {"headers": {"Authorization": f"Bearer {credential}"}}


def newest_event_id() -> int:
    return AgentEvent.objects.aggregate(newest=Max("id"))["newest"] or 0


def last_event_id(agent: Agent) -> int:
    return AgentEvent.objects.filter(agent_id=agent.pk).latest("id").pk


def customer_topic(customer_id, *rest: object) -> str:
    return ":".join(["customer_id", str(customer_id), "agent", *map(str, rest)])


def agent_topic(agent_id, *rest: object) -> str:
    return ":".join(["agent_id", str(agent_id), "agent", *map(str, rest)])


def set_status(agent: Agent, status: str | None = None) -> int:
    """Change the agent's status (to the next one by default); the event's id."""
    agent = Agent.objects.get(pk=agent.pk)
    status = status or STATUSES[(STATUSES.index(agent.status) + 1) % 3 if agent.status in STATUSES else 0]
    agent_set_status(actor=SYSTEM, agent=agent, status=status)
    return last_event_id(agent)


def rename(agent: Agent, name: str) -> int:
    agent_update(actor=SYSTEM, agent=Agent.objects.get(pk=agent.pk), name=name)
    return last_event_id(agent)


def frames_until(stream: Stream, event_id: int, timeout: float = 5.0) -> list[dict]:
    """The frames up to and including the one of `event_id`."""
    received = []
    while not received or received[-1].get("event_id") != str(event_id):
        received.append(stream.frame(timeout))
    return received


def events_of(frames: list[dict]) -> list[tuple[str, str]]:
    return [(frame["type"], frame["data"]["id"]) for frame in frames]


def closed_with(stream: Stream, message: object) -> tuple[int | None, str]:
    stream.send(message)
    code, reason, frames = stream.close_code()
    assert frames == []
    return code, reason


# --- 1. handshake ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_each_credential_place_opens_the_stream(server, streams, admin_a, agent_a, path):
    token, key = token_of(admin_a), access_key_of(admin_a.customer_id)
    handshakes = {
        "bearer": (server.url(path), bearer(token)),
        "query token": (server.url(path, token=token), {}),
        "cookie token": (server.url(path), {"cookies": {"token": token}}),
        "query accesskey": (server.url(path, accesskey=key), {}),
        "cookie accesskey": (server.url(path), {"cookies": {"accesskey": key}}),
        "query token, an access key": (server.url(path, token=key), {}),  # the tutorial's way
    }
    opened = {place: streams(url, **options) for place, (url, options) in handshakes.items()}
    since = newest_event_id()
    for stream in opened.values():
        stream.subscribe(customer_topic(admin_a.customer_id), since=since)

    event_id = set_status(agent_a)

    # Each connection stands for the customer's admin (or its access key): the event comes.
    assert {place: stream.frame()["event_id"] for place, stream in opened.items()} == dict.fromkeys(
        handshakes, str(event_id)
    )


@pytest.mark.parametrize("path", PATHS)
def test_a_handshake_without_a_credential_is_refused(server, path):
    assert refused_status(server.url(path)) in (401, 403)
    assert refused_status(server.url(path), origin=server.origin) in (401, 403)


def _bad_credential(case: str, admin: Agent) -> str:
    if case == "wrong token":
        return "not-a-token-of-anyone"
    if case == "wrong access key":
        return "vb_" + "x" * 32
    if case in ("expired token", "revoked token", "deleted agent's token"):
        agent = make_agent(admin.customer_id)
        token = token_of(agent)
        if case == "expired token":
            LoginToken.objects.filter(agent=agent).update(tm_expire=timezone.now() - timedelta(seconds=1))
        elif case == "revoked token":
            login_token_revoke(plaintext=token)
        else:
            agent_delete(actor=SYSTEM, agent=agent)
        return token
    access_key, key = access_key_create(actor=SYSTEM, customer_id=admin.customer_id)
    if case == "deleted access key":
        access_key_delete(actor=SYSTEM, access_key=access_key)
    else:
        AccessKey.objects.filter(pk=access_key.pk).update(tm_expire=timezone.now() - timedelta(seconds=1))
    return key


BAD_CREDENTIALS = [
    "wrong token",
    "wrong access key",
    "expired token",
    "revoked token",
    "deleted agent's token",
    "deleted access key",
    "expired access key",
]


def test_a_bad_credential_is_refused(server, admin_a):
    for case in BAD_CREDENTIALS:
        credential = _bad_credential(case, admin_a)
        statuses = [
            refused_status(server.url(), **bearer(credential)),
            refused_status(server.url("/v1.0/service_agents/ws", token=credential)),
            refused_status(server.url(accesskey=credential)),
        ]
        assert set(statuses) <= {401, 403}, case


def test_a_credential_cookie_counts_only_from_this_sites_pages(server, streams, admin_a):
    """A browser sends cookies by itself: another site's page must not open a stream with them."""
    token, key = token_of(admin_a), access_key_of(admin_a.customer_id)

    for cookies in ({"token": token}, {"accesskey": key}):
        assert refused_status(server.url(), cookies=cookies, origin=FOREIGN_ORIGIN) in (401, 403)
        assert refused_status(server.url(), cookies=cookies, origin="null") in (401, 403)
        streams(server.url(), cookies=cookies, origin=server.origin)  # accepted
        streams(server.url(), cookies=cookies)  # no Origin: not a web page, accepted


def test_a_token_or_access_key_not_in_a_cookie_works_from_any_origin(server, streams, admin_a, agent_a):
    token, key = token_of(admin_a), access_key_of(admin_a.customer_id)
    by_header = streams(server.url(), origin=FOREIGN_ORIGIN, **bearer(token))
    by_query = streams(server.url(accesskey=key), origin=FOREIGN_ORIGIN)

    since = newest_event_id()
    by_header.subscribe(customer_topic(admin_a.customer_id), since=since)
    by_query.subscribe(customer_topic(admin_a.customer_id), since=since)
    event_id = set_status(agent_a)
    assert by_header.frame()["event_id"] == by_query.frame()["event_id"] == str(event_id)


def console_session(agent: Agent) -> str:
    """Sign in to the console (Django's test client, the test database): the session cookie."""
    client = Client()
    response = client.post(reverse("console:login"), {"username": agent.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client.cookies["sessionid"].value


def test_the_console_session_opens_the_stream_from_its_own_pages_only(server, streams, admin_a, agent_a):
    session = {"sessionid": console_session(admin_a)}

    assert refused_status(server.url(), cookies=session, origin=FOREIGN_ORIGIN) in (401, 403)
    stream = streams(server.url("/v1.0/service_agents/ws"), cookies=session, origin=server.origin)
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    event_id = set_status(agent_a)
    assert stream.frame()["event_id"] == str(event_id)
    assert refused_status(server.url(), cookies={"sessionid": "no-such-session"}) in (401, 403)


# --- 2. topics ---------------------------------------------------------------------------------------


def test_supervisors_and_access_keys_may_follow_their_customer(
    server, streams, admin_a, manager_a, agent_a, admin_b, super_admin
):
    callers = {  # caller -> (credential, the agent it watches)
        "admin": (token_of(admin_a), agent_a),
        "manager": (token_of(manager_a), agent_a),
        "access key": (access_key_of(admin_a.customer_id), agent_a),
        "super admin of another customer": (token_of(super_admin), admin_b),  # super_admin is of A
    }
    since = newest_event_id()
    opened = {}
    for caller, (credential, watched) in callers.items():
        opened[caller] = streams(server.url(), **bearer(credential))
        opened[caller].subscribe(customer_topic(watched.customer_id), since=since)

    made = {agent_a.pk: set_status(agent_a), admin_b.pk: set_status(admin_b)}

    for caller, (_, watched) in callers.items():
        frame = opened[caller].frame()
        assert (frame["event_id"], frame["data"]["customer_id"]) == (
            str(made[watched.pk]),
            str(watched.customer_id),
        ), caller


def test_a_customer_topic_is_refused_to_anyone_else(server, streams, admin_a, agent_a, admin_b):
    callers = {
        "plain agent": token_of(agent_a),
        "other customer's admin": token_of(admin_b),
        "other customer's access key": access_key_of(admin_b.customer_id),
    }
    for caller, credential in callers.items():
        stream = streams(server.url(), **bearer(credential))
        message = {"type": "subscribe", "topics": [customer_topic(admin_a.customer_id)]}
        assert closed_with(stream, message) == (1008, "topic not allowed"), caller


def test_an_agent_may_follow_its_own_record_only(server, streams, admin_a, agent_a, manager_a):
    own = streams(server.url(), **bearer(token_of(agent_a)))
    own.subscribe(agent_topic(agent_a.pk), since=newest_event_id())
    set_status(manager_a)  # not its own: never sent
    event_id = set_status(agent_a)
    assert events_of(frames_until(own, event_id)) == [("agent_status_updated", str(agent_a.pk))]

    other = streams(server.url(), **bearer(token_of(agent_a)))
    assert closed_with(other, {"type": "subscribe", "topics": [agent_topic(manager_a.pk)]}) == (
        1008,
        "topic not allowed",
    )
    key = streams(server.url(accesskey=access_key_of(admin_a.customer_id)))
    assert closed_with(key, {"type": "subscribe", "topics": [agent_topic(agent_a.pk)]}) == (
        1008,
        "topic not allowed",
    )


MALFORMED_TOPICS = {
    "missing resource": "customer_id:{cid}",
    "scope only": "customer_id",
    "empty resource": "customer_id:{cid}:",
    "unknown scope": "tenant_id:{cid}:agent",
    "bad uuid": "customer_id:not-a-uuid:agent",
    "empty": "",
    "256 characters": "customer_id:{cid}:agent:{pad256}",
    "space inside": "customer_id:{cid}:agent {cid}",
    "a number": 42,
    "null": None,
    "an object": {"topic": "customer_id:{cid}:agent"},
}


def test_a_malformed_topic_closes_with_1008(server, streams, admin_a):
    cid = str(admin_a.customer_id)
    token = token_of(admin_a)
    for case, topic in MALFORMED_TOPICS.items():
        if isinstance(topic, str):
            topic = topic.format(cid=cid, pad256="x" * (256 - len(f"customer_id:{cid}:agent:")))
        assert case != "256 characters" or len(topic) == 256
        stream = streams(server.url(), **bearer(token))
        assert closed_with(stream, {"type": "subscribe", "topics": [topic]}) == (1008, "malformed topic"), (
            case
        )


def test_a_topic_of_255_characters_is_accepted(server, streams, admin_a, agent_a):
    prefix = customer_topic(admin_a.customer_id, agent_a.pk) + ":"
    longest = prefix + "x" * (255 - len(prefix))
    stream = streams(server.url(), **bearer(token_of(admin_a)))

    stream.subscribe(longest)
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    event_id = set_status(agent_a)

    assert stream.frame()["event_id"] == str(event_id)  # still open


MALFORMED_MESSAGES = {
    "a list": ["subscribe"],
    "a string": "subscribe",
    "no type": {"topics": []},
    "unknown type": {"type": "ping", "topics": []},
    "topics missing": {"type": "subscribe"},
    "topics a string": {"type": "subscribe", "topics": "customer_id:{cid}:agent"},
    "unsubscribe topics an object": {"type": "unsubscribe", "topics": {"a": 1}},
}


def test_a_malformed_message_closes_with_1008(server, streams, admin_a):
    token = token_of(admin_a)
    for case, message in MALFORMED_MESSAGES.items():
        stream = streams(server.url(), **bearer(token))
        assert closed_with(stream, json.dumps(message)) == (1008, "malformed message"), case


def test_invalid_json_or_a_binary_frame_closes_with_1003(server, streams, admin_a):
    token = token_of(admin_a)
    for frame in ['{"type": "subscribe", "topics": [', "hello", b'{"type": "subscribe", "topics": []}']:
        stream = streams(server.url(), **bearer(token))
        assert closed_with(stream, frame)[0] == 1003, frame


def test_at_most_100_topics_per_connection(server, streams, admin_a, agent_a):
    cid = admin_a.customer_id
    hundred = [customer_topic(cid, f"x{n}") for n in range(99)] + [customer_topic(cid)]
    full = streams(server.url(), **bearer(token_of(admin_a)))
    full.subscribe(*hundred[:50])
    full.subscribe(*hundred[50:], since=newest_event_id())
    full.subscribe(*hundred[:10])  # already subscribed: still 100
    event_id = set_status(agent_a)
    assert full.frame()["event_id"] == str(event_id)

    assert closed_with(full, {"type": "subscribe", "topics": [customer_topic(cid, "one-more")]}) == (
        1008,
        "more than 100 topics",
    )
    at_once = streams(server.url(), **bearer(token_of(admin_a)))
    topics = [*hundred, customer_topic(cid, "one-more")]
    assert closed_with(at_once, {"type": "subscribe", "topics": topics}) == (1008, "more than 100 topics")


def test_no_frame_acknowledges_a_message(server, streams, admin_a, agent_a):
    stream = streams(server.url(), **bearer(token_of(admin_a)))
    stream.subscribe(customer_topic(admin_a.customer_id, "unused"))
    stream.unsubscribe(customer_topic(admin_a.customer_id, "unused"))
    stream.unsubscribe(customer_topic(admin_a.customer_id, "never-subscribed"))
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())

    with pytest.raises(TimeoutError):
        stream.frame(timeout=0.5)
    event_id = set_status(agent_a)
    assert stream.frame()["event_id"] == str(event_id)  # the first frame is the event's


# --- 3. delivery ---------------------------------------------------------------------------------


def test_each_kind_of_event_is_the_record_with_the_agents_representation(server, streams, admin_a):
    token = token_of(admin_a)
    api = Api()
    stream = streams(server.url(), **bearer(token))
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())

    agent = make_agent(admin_a.customer_id)
    shown = [api.get(f"/v1.0/agents/{agent.pk}", token=token).json()]
    rename(agent, "New Name")
    shown.append(api.get(f"/v1.0/agents/{agent.pk}", token=token).json())
    set_status(agent, "available")
    shown.append(api.get(f"/v1.0/agents/{agent.pk}", token=token).json())
    agent_delete(actor=SYSTEM, agent=agent)
    shown.append(agent_representation(Agent.objects.with_representation().get(pk=agent.pk)))
    assert shown[-1]["tm_delete"] != shown[-2]["tm_delete"]

    frames = stream.frames(4)
    stored = list(AgentEvent.objects.filter(agent_id=agent.pk).order_by("id"))
    assert [set(frame) for frame in frames] == [{"type", "data", "event_id"}] * 4
    assert [frame["type"] for frame in frames] == [
        "agent_created",
        "agent_updated",
        "agent_status_updated",
        "agent_deleted",
    ]
    assert [frame["data"] for frame in frames] == shown
    assert [frame["event_id"] for frame in frames] == [str(event.pk) for event in stored]
    assert [frame["data"] for frame in frames] == [event.data for event in stored]


PREFIX_CASES = {
    # topic -> the events (of the four below) it must receive
    "customer_id:{cid}:agent": ["other updated", "watched updated", "other status", "watched status"],
    "customer_id:{cid}:agent:{aid}": ["watched updated", "watched status"],
    "customer_id:{cid}:agent:agent_status_updated:": ["other status", "watched status"],
    "customer_id:{cid}:agent:agent_status_updated:{aid}": ["watched status"],
    "customer_id:{cid}:agent:agent_updated": ["other updated", "watched updated"],
    "agent_id:{aid}:agent": ["watched updated", "watched status"],
    "agent_id:{aid}:agent:agent_status_updated": ["watched status"],
}


def test_a_subscription_matches_every_event_topic_it_is_a_prefix_of(
    server, streams, admin_a, agent_a, manager_a
):
    """agent_a is watched (an agent_id topic needs its own token), manager_a is the other."""
    admin_token, agent_token = token_of(admin_a), token_of(agent_a)
    since = newest_event_id()
    opened = {}
    for topic in PREFIX_CASES:
        stream = streams(server.url(), **bearer(agent_token if topic.startswith("agent_id") else admin_token))
        stream.subscribe(topic.format(cid=admin_a.customer_id, aid=agent_a.pk), since=since)
        opened[topic] = stream

    made = {
        "other updated": rename(manager_a, "Other"),
        "watched updated": rename(agent_a, "Watched"),
        "other status": set_status(manager_a),
        "watched status": set_status(agent_a),
    }
    # The ends of what was sent: an event of each type that every case of the type matches.
    end_status, end_update = set_status(agent_a), rename(agent_a, "End")

    for topic, stream in opened.items():
        end = end_update if "agent_updated" in topic else end_status
        received = [int(frame["event_id"]) for frame in frames_until(stream, end)]
        assert received == sorted([made[name] for name in PREFIX_CASES[topic]] + [end]), topic


def test_an_event_matching_several_subscriptions_is_sent_once(server, streams, admin_a, agent_a):
    stream = streams(server.url(), **bearer(token_of(admin_a)))
    cid, aid = admin_a.customer_id, admin_a.pk
    stream.subscribe(
        customer_topic(cid),
        customer_topic(cid, aid),
        customer_topic(cid, "agent_status_updated"),
        f"customer_id:{str(cid).upper()}:agent:{aid}",  # another string, the same events
        agent_topic(aid),
        agent_topic(aid, "agent_status_updated", aid),
        since=newest_event_id(),
    )
    first = set_status(admin_a)
    end = set_status(agent_a)

    assert [int(frame["event_id"]) for frame in frames_until(stream, end)] == [first, end]
    with pytest.raises(TimeoutError):
        stream.frame(timeout=0.3)


def test_unsubscribe_names_the_exact_string_subscribed(server, streams, admin_a, manager_a, agent_a):
    stream = streams(server.url(), **bearer(token_of(admin_a)))
    cid = admin_a.customer_id
    # The same subscription with the customer id in upper case: another string, the same events.
    upper = f"customer_id:{str(cid).upper()}:agent:{agent_a.pk}"
    stream.subscribe(upper, since=newest_event_id())

    stream.unsubscribe(customer_topic(cid, agent_a.pk))  # not the string subscribed: no effect
    stream.sync(customer_topic(cid, manager_a.pk), last_event_id(manager_a))
    still = set_status(agent_a)
    assert stream.frame()["event_id"] == str(still)

    stream.unsubscribe(upper)
    stream.sync(customer_topic(cid, admin_a.pk), last_event_id(admin_a))
    set_status(agent_a)  # no subscription matches it any more
    end = set_status(manager_a)
    assert [int(frame["event_id"]) for frame in frames_until(stream, end)] == [end]


def test_another_customers_events_never_arrive(server, streams, admin_a, agent_a, admin_b):
    stream = streams(server.url(), **bearer(token_of(admin_a)))
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())

    other = make_agent(admin_b.customer_id)
    set_status(other)
    rename(admin_b, "B")
    agent_delete(actor=SYSTEM, agent=other)
    end = set_status(agent_a)

    frames = frames_until(stream, end)
    assert [frame["data"]["customer_id"] for frame in frames] == [str(admin_a.customer_id)]


def test_event_ids_increase_and_one_agents_events_arrive_in_commit_order(
    server, streams, admin_a, agent_a, manager_a
):
    """On PostgreSQL four threads change one agent's status as fast as they can (each write locks
    the row) while a fifth changes another agent; on SQLite, which has one writer at a time (and
    answers "database is locked" to racing threads), one thread makes the same changes."""
    stream = streams(server.url(), **bearer(token_of(admin_a)))
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    errors: list[BaseException] = []

    def change(agent: Agent, times: int) -> None:
        try:
            for _ in range(times):
                set_status(agent)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=change, args=(agent_a, 10)) for _ in range(4)]
        threads.append(threading.Thread(target=change, args=(manager_a, 10)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for _ in range(20):
            set_status(agent_a)
            set_status(manager_a)
    assert not errors, errors
    end = set_status(manager_a)

    frames = frames_until(stream, end, timeout=10)
    ids = [int(frame["event_id"]) for frame in frames]
    assert len(set(ids)) == len(ids)  # each once
    for agent in (agent_a, manager_a):
        committed = list(
            AgentEvent.objects.filter(agent_id=agent.pk, id__gte=ids[0])
            .order_by("id")
            .values_list("id", "data")
        )
        sent = [(int(f["event_id"]), f["data"]) for f in frames if f["data"]["id"] == str(agent.pk)]
        assert sent == committed  # all of them, in commit order (ids increase), as stored
        assert len(sent) >= 10  # a thread whose next status another one set first writes nothing


@pytest.mark.postgres_only
def test_ids_increase_in_commit_order_across_agents_and_a_resume_misses_nothing(
    server, streams, admin_a, agent_a, manager_a
):
    """A change of another agent made while one transaction has written its event and not yet
    committed gets its id after that commit (it waits for it), so a client that resumes from
    the id it received last misses nothing. With ids handed out at INSERT alone, the second
    change would take the larger id, commit first, and the resumed client would never get the
    smaller one."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids are taken in commit order")
    token = token_of(admin_a)
    live = streams(server.url(), **bearer(token))
    live.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    wrote, commit = threading.Event(), threading.Event()

    def slow_commit() -> None:
        try:
            with transaction.atomic():
                set_status(agent_a)
                wrote.set()
                commit.wait(10)
        finally:
            connection.close()

    def other_change() -> None:
        try:
            set_status(manager_a)
        finally:
            connection.close()

    slow, other = threading.Thread(target=slow_commit), threading.Thread(target=other_change)
    slow.start()
    assert wrote.wait(10)
    other.start()
    other.join(1.0)  # time enough to commit first, if it did not have to wait
    commit.set()
    slow.join()
    other.join()

    older, newer = last_event_id(agent_a), last_event_id(manager_a)
    assert older < newer  # the first to commit has the smaller id
    # Both are sent, in commit order (README, "Event stream", "Once, in order").
    assert [int(live.frame()["event_id"]), int(live.frame()["event_id"])] == [older, newer]

    resumed = streams(server.url(), **bearer(token))
    resumed.subscribe(customer_topic(admin_a.customer_id), since=older)  # the client had `older`
    end = set_status(manager_a)
    assert [int(frame["event_id"]) for frame in frames_until(resumed, end)] == [newer, end]


def test_a_change_that_rolled_back_sends_nothing(server, streams, admin_a, agent_a):
    stream = streams(server.url(), **bearer(token_of(admin_a)))
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    before = newest_event_id()

    def changes_then_fails() -> None:
        with transaction.atomic():
            set_status(agent_a)
            rename(agent_a, "Never")
            raise RuntimeError("the caller's transaction fails after the services wrote")

    with pytest.raises(RuntimeError):
        changes_then_fails()
    with pytest.raises(FailedPrecondition):  # the customer's last admin
        agent_set_permission(actor=SYSTEM, agent=admin_a, permission=Permission.CUSTOMER_AGENT)
    end = rename(agent_a, "Committed")

    assert newest_event_id() == end  # nothing of the failed changes was stored
    assert [int(frame["event_id"]) for frame in frames_until(stream, end)] == [end]
    assert end > before


# --- 4. resume -----------------------------------------------------------------------------------


def test_since_replays_the_missed_events_in_order_then_live_ones(server, streams, admin_a, agent_a):
    token = token_of(admin_a)
    first = streams(server.url(), **bearer(token))
    first.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    seen = set_status(agent_a)
    assert first.frame()["event_id"] == str(seen)
    first.close()

    missed = [rename(agent_a, "One"), set_status(agent_a), rename(admin_a, "Two")]
    again = streams(server.url(), **bearer(token))
    again.subscribe(customer_topic(admin_a.customer_id), since=seen)
    replayed = again.frames(3)
    live = set_status(agent_a)

    assert [int(frame["event_id"]) for frame in replayed] == missed
    assert [int(frame["event_id"]) for frame in frames_until(again, live)] == [live]
    with pytest.raises(TimeoutError):
        again.frame(timeout=0.3)  # none twice


def test_since_replays_only_the_events_matching_the_new_topics(server, streams, admin_a, agent_a, manager_a):
    since = newest_event_id()
    wanted = [set_status(agent_a), rename(manager_a, "M"), rename(agent_a, "A")]
    del wanted[1]
    stream = streams(server.url(), **bearer(token_of(admin_a)))

    stream.subscribe(customer_topic(admin_a.customer_id, agent_a.pk), since=since)
    end = set_status(agent_a)

    assert [int(frame["event_id"]) for frame in frames_until(stream, end)] == [*wanted, end]


def _store_events(agent: Agent, count: int, *, age: timedelta = timedelta(0)) -> list[int]:
    """`count` stored status events of the agent (as if missed by a client), `age` old."""
    data = agent_representation(Agent.objects.with_representation().get(pk=agent.pk))
    created = timezone.now() - age
    AgentEvent.objects.bulk_create(
        AgentEvent(
            customer_id=agent.customer_id,
            agent_id=agent.pk,
            type=AgentEventType.STATUS_UPDATED,
            data=data,
            tm_create=created,
        )
        for _ in range(count)
    )
    return list(
        AgentEvent.objects.filter(agent_id=agent.pk, tm_create=created)
        .order_by("id")
        .values_list("id", flat=True)
    )


@pytest.mark.parametrize(("missed", "resync"), [(1000, False), (1001, True)])
def test_more_than_1000_missed_events_is_one_resync_required(
    server, streams, admin_a, agent_a, missed, resync
):
    since = newest_event_id()
    stored = _store_events(agent_a, missed)
    assert len(stored) == missed
    stream = streams(server.url(), **bearer(token_of(admin_a)))

    stream.subscribe(customer_topic(admin_a.customer_id), since=since)
    if resync:
        assert stream.frame() == {"type": "resync_required"}
    else:
        assert [int(frame["event_id"]) for frame in stream.frames(missed)] == stored
    live = set_status(agent_a)
    assert [frame.get("event_id") for frame in frames_until(stream, live)] == [str(live)]


@pytest.mark.parametrize(("hours", "resync"), [(23, False), (25, True)])
def test_missed_events_older_than_24_hours_need_a_resync(server, streams, admin_a, agent_a, hours, resync):
    since = newest_event_id()
    old = _store_events(agent_a, 2, age=timedelta(hours=hours))
    recent = set_status(agent_a)
    stream = streams(server.url(), **bearer(token_of(admin_a)))

    stream.subscribe(customer_topic(admin_a.customer_id), since=since)

    if resync:
        assert stream.frame() == {"type": "resync_required"}
        with pytest.raises(TimeoutError):
            stream.frame(timeout=0.3)
    else:
        assert [int(frame["event_id"]) for frame in stream.frames(3)] == [*old, recent]


def test_a_malformed_since_closes_with_1008(server, streams, admin_a, agent_a):
    token = token_of(admin_a)
    topics = [customer_topic(admin_a.customer_id)]
    for since in ["abc", "-1", "1.5", "", " 1", "1" * 20, "9" * 19, "\u0661", 12, ["1"], {}]:
        stream = streams(server.url(), **bearer(token))
        message = {"type": "subscribe", "topics": topics, "since": since}
        assert closed_with(stream, message) == (1008, "malformed since"), since

    # An explicit null is no resume: a plain subscription.
    stream = streams(server.url(), **bearer(token))
    stream.send({"type": "subscribe", "topics": topics, "since": None})
    stream.subscribe(*topics, since=newest_event_id())
    event_id = set_status(agent_a)
    assert stream.frame()["event_id"] == str(event_id)


# --- 5. rights re-checked -------------------------------------------------------------------------


def _revoke(case: str, server, admin: Agent, manager: Agent, agent: Agent):
    """The handshake (url, options) and topic of the connection for `case`, and what takes
    its rights away."""
    cid = admin.customer_id
    if case in ("logout", "token expired"):
        token = token_of(manager)
        if case == "logout":
            revoke = lambda: login_token_revoke(plaintext=token)  # noqa: E731
        else:
            revoke = lambda: LoginToken.objects.filter(agent=manager).update(tm_expire=timezone.now())  # noqa: E731
        return server.url(), bearer(token), customer_topic(cid), revoke
    if case == "agent deleted (token)":
        token = token_of(agent)
        return (
            server.url(),
            bearer(token),
            agent_topic(agent.pk),
            lambda: agent_delete(actor=admin, agent=agent),
        )
    if case == "access key deleted":
        access_key, key = access_key_create(actor=SYSTEM, customer_id=cid)
        revoke = lambda: access_key_delete(actor=admin, access_key=access_key)  # noqa: E731
        return server.url(accesskey=key), {}, customer_topic(cid), revoke
    session_key = console_session(manager)
    session = {"cookies": {"sessionid": session_key}}
    if case == "agent deleted (session)":
        return server.url(), session, customer_topic(cid), lambda: agent_delete(actor=admin, agent=manager)
    if case == "signed out (session)":
        return (
            server.url(),
            session,
            customer_topic(cid),
            lambda: Session.objects.filter(pk=session_key).delete(),
        )
    if case == "password changed (session)":
        new_password = "another-Passw0rd-for-the-test"
        change = lambda: agent_set_password(actor=admin, agent=manager, password=new_password)  # noqa: E731
        return server.url(), session, customer_topic(cid), change
    demote = lambda: agent_set_permission(actor=admin, agent=manager, permission=Permission.CUSTOMER_AGENT)  # noqa: E731
    return server.url(), session, customer_topic(cid), demote


REVOCATIONS = {
    "logout": "credential no longer valid",
    "token expired": "credential no longer valid",
    "agent deleted (token)": "credential no longer valid",
    "agent deleted (session)": "credential no longer valid",
    # The change revokes the manager's tokens too; the console session stays, its rights do not.
    "demoted (session)": "topic no longer allowed",
    "signed out (session)": "credential no longer valid",
    "password changed (session)": "credential no longer valid",
    "access key deleted": "credential no longer valid",
}


@pytest.mark.parametrize("case", REVOCATIONS)
def test_a_stream_is_closed_once_its_rights_are_gone(server, streams, admin_a, manager_a, agent_a, case):
    url, handshake, topic, revoke = _revoke(case, server, admin_a, manager_a, agent_a)
    stream = streams(url, **handshake)
    stream.subscribe(topic, since=newest_event_id())
    event_id = set_status(agent_a)
    assert stream.frame()["event_id"] == str(event_id)  # it works until then

    revoke()
    started = time.monotonic()
    code, reason, _ = stream.close_code(timeout=RECHECK_SECONDS * 6)

    assert (code, reason) == (1008, REVOCATIONS[case])
    assert time.monotonic() - started < RECHECK_SECONDS * 6


def test_a_stream_whose_rights_stand_stays_open(server, streams, admin_a, manager_a, agent_a):
    session = {"cookies": {"sessionid": console_session(manager_a)}}
    stream = streams(server.url(), **session)
    stream.subscribe(customer_topic(admin_a.customer_id), since=newest_event_id())
    # A change that keeps the manager's rights (another agent's permission) is no reason to close.
    agent_set_permission(actor=admin_a, agent=agent_a, permission=Permission.CUSTOMER_MANAGER)

    time.sleep(RECHECK_SECONDS * 3)
    event_id = set_status(agent_a)

    assert [int(frame["event_id"]) for frame in frames_until(stream, event_id)][-1] == event_id


def test_the_default_recheck_interval_is_within_the_contracts_10_seconds(settings):
    assert 0 < settings.EVENT_STREAM_RECHECK_SECONDS <= 10


# --- 7. several server processes ------------------------------------------------------------------


def test_a_status_change_over_http_on_one_process_reaches_a_subscriber_on_another(
    server, server_b, streams, admin_a, agent_a
):
    token = token_of(admin_a)
    on_b = streams(server_b.url(), **bearer(token))
    on_b.subscribe(customer_topic(admin_a.customer_id, agent_a.pk), since=newest_event_id())

    status, body = server.http(
        "PUT", f"/v1.0/agents/{agent_a.pk}/status", {"status": "busy"}, {"Authorization": f"Bearer {token}"}
    )

    assert status == 200, body
    frame = on_b.frame()
    assert frame["type"] == "agent_status_updated"
    assert frame["data"] == json.loads(body)
    assert frame["event_id"] == str(last_event_id(agent_a))


def test_a_write_in_a_third_process_reaches_both_processes(server, server_b, streams, admin_a, agent_a):
    key = access_key_of(admin_a.customer_id)
    on_a, on_b = streams(server.url(accesskey=key)), streams(server_b.url(accesskey=key))
    since = newest_event_id()
    on_a.subscribe(customer_topic(admin_a.customer_id), since=since)
    on_b.subscribe(customer_topic(admin_a.customer_id), since=since)

    event_id = set_status(agent_a)

    assert on_a.frame() == on_b.frame()
    assert last_event_id(agent_a) == event_id


# --- 8. logs -------------------------------------------------------------------------------------


def test_the_servers_log_of_a_handshake_holds_no_credential(server, streams, admin_a):
    token, key = token_of(admin_a), access_key_of(admin_a.customer_id)
    streams(server.url(token=token)).close()
    streams(server.url("/v1.0/service_agents/ws", accesskey=key)).close()
    assert refused_status(server.url(token="wrong-token-value", accesskey="vb_" + "w" * 32)) in (401, 403)

    log = server.log_once_holding("token=[redacted]&accesskey=[redacted]")

    assert "/v1.0/ws?token=[redacted]" in log, log[-3000:]
    assert "/v1.0/service_agents/ws?accesskey=[redacted]" in log, log[-3000:]
    assert [secret for secret in (token, key, "wrong-token-value", "vb_" + "w" * 32) if secret in log] == []


# --- 6. pings (last: the watch has been connected since the module's start) -----------------------


def test_the_server_pings_every_10_seconds_and_allows_60_without_an_answer(ping_watch):
    """The watch answers each ping; the server keeps the connection. The 60 s close of a client
    that never answers is the worker's configuration (interval 10 s + timeout 50 s): waiting for
    it would take a minute, so it is shown by the settings uvicorn is given."""
    deadline = time.monotonic() + PING_INTERVAL_SECONDS + 3
    while not ping_watch.pings and time.monotonic() < deadline:
        time.sleep(0.1)

    assert ping_watch.status == 101
    assert ping_watch.pings, "no ping within 13 s of the handshake"
    assert ping_watch.pings[0] - ping_watch.opened_at < PING_INTERVAL_SECONDS + 2
    assert ping_watch.pongs_sent >= 1
    assert ping_watch.closed is None
    assert StreamWorker.CONFIG_KWARGS["ws_ping_interval"] == PING_INTERVAL_SECONDS == 10
    assert PING_INTERVAL_SECONDS + PING_TIMEOUT_SECONDS == 60
    assert StreamWorker.CONFIG_KWARGS["ws_ping_timeout"] == PING_TIMEOUT_SECONDS
