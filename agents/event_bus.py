"""Hands recorded agent events to the channel layer once their transaction has committed, so
that the event stream's connections on every server process receive them (contract section 11;
README, "Event stream").

The events table stays the record: a resume (`since`) reads it, so an event whose publication
was lost (a process that died between its commit and the publish) is still delivered there.

Publishing never makes a request wait on Redis. With channels-redis' pub/sub layer (what
production runs) the commit hook itself writes the events to Redis, to the channels and in the
format of the layer's own `group_send`, over a connection of the process's own on which Redis
sends no replies (`CLIENT REPLY OFF`): a publish is one socket write, with nothing to wait for.
The layer's asyncio `group_send` (two round trips per event on an event loop of a thread's own)
cost about a fifth of the status write's throughput, and a publisher thread with one pipelined
round trip per batch still about a tenth, in its wake-ups and GIL hand-offs (README,
"Performance"). Any other layer gets its own `group_send`, waited for.
The in-memory layer (no Redis configured) only exists inside one process and one loop, so there
the events go to the loop of the process's ASGI server instead, which the stream's consumers
name when they connect (`serve_in_memory_from`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

import redis
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from django.conf import settings
from django.db import transaction
from redis.backoff import NoBackoff
from redis.connection import ConnectionInterface
from redis.retry import Retry

logger = logging.getLogger(__name__)

#: The type of the channel-layer messages that carry an event (the consumer's handler name).
MESSAGE_TYPE = "agent.event"


def customer_group(customer_id: UUID | str) -> str:
    """The channel-layer group of every event of one customer's agents."""
    return f"agents.customer.{customer_id}"


def agent_group(agent_id: UUID | str) -> str:
    """The channel-layer group of one agent's own events."""
    return f"agents.agent.{agent_id}"


@dataclass(frozen=True)
class PublishedEvent:
    """A committed event as the stream needs it: ids for matching, the frame ready to send."""

    id: int
    customer_id: str
    agent_id: str
    type: str
    data: dict

    def message(self) -> dict:
        return {
            "type": MESSAGE_TYPE,
            "id": self.id,
            "customer_id": self.customer_id,
            "agent_id": self.agent_id,
            "event_type": self.type,
            # Serialised once here, not once per watching connection.
            "frame": event_frame(self.id, self.type, self.data),
        }


def event_frame(event_id: int, event_type: str, data: dict) -> str:
    """The text frame of one event (contract section 11): the event record plus `event_id`."""
    return json.dumps({"type": event_type, "data": data, "event_id": str(event_id)}, separators=(",", ":"))


def publish_on_commit(events: Iterable[PublishedEvent]) -> None:
    """Publish the events once the current transaction commits (at once outside one); nothing
    when it rolls back. Within a request, once its response is out
    (`PublishAfterResponseMiddleware`)."""
    events = list(events)
    if events:
        transaction.on_commit(lambda: _publish_committed(events))


#: The events the current request has committed so far; None outside a request (sent at
#: commit). A context variable, not a thread-local: under ASGI a request's sync code runs in
#: threads of their own, with the request's context.
_committed_in_request: ContextVar[list[list[PublishedEvent]] | None] = ContextVar(
    "committed_in_request", default=None
)


def _publish_committed(events: list[PublishedEvent]) -> None:
    waiting = _committed_in_request.get()
    if waiting is None:
        _publisher().submit(events)
    else:
        waiting.append(events)


class PublishAfterResponseMiddleware:
    """A request's events are published once its response is out: when the server closes the
    response (WSGI's `close()`, which Django's ASGI handler calls too, after the body is sent).

    A publish starts the stream servers' fan-out to every watching connection at once, on the
    same cores: sent before the response, 200 watching boards made the status write's p95 1.5
    times its unwatched figure (README, "Performance")."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        waiting: list[list[PublishedEvent]] = []
        token = _committed_in_request.set(waiting)
        try:
            response = self.get_response(request)
        finally:
            _committed_in_request.reset(token)
        if waiting:
            response.close = functools.partial(_close_then_publish, response.close, waiting)
        return response


def _close_then_publish(close: Callable[[], None], waiting: list[list[PublishedEvent]]) -> None:
    try:
        close()
    finally:
        for events in waiting:
            _publisher().submit(events)


class _Publisher:
    """One per process: where the events of a commit go, for the process's channel layer."""

    def __init__(self) -> None:
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._redis: RedisPubSubSender | None = None

    def serve_in_memory_from(self, loop: asyncio.AbstractEventLoop) -> None:
        self._server_loop = loop

    def submit(self, events: list[PublishedEvent]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        if isinstance(layer, InMemoryChannelLayer):
            # Only connections of this process can be reached, from its server's own loop.
            loop = self._server_loop
            if loop is not None and not loop.is_closed():
                asyncio.run_coroutine_threadsafe(_send(layer, events), loop)
            return
        try:
            if isinstance(layer, RedisPubSubChannelLayer):
                # Right here, in the thread that committed: one socket write, no answer awaited.
                self._redis_sender(layer)(events)
            else:  # a layer the settings do not configure: its own `group_send`, waited for
                async_to_sync(_send)(layer, events)
        except Exception:  # a commit hook that raised would fail a request that did commit
            logger.exception("could not publish %d agent events", len(events))

    def _redis_sender(self, layer: RedisPubSubChannelLayer) -> RedisPubSubSender:
        sender = self._redis
        if sender is None or sender.layer is not layer:  # the first event, or another layer now
            layers: dict[str, dict] = settings.CHANNEL_LAYERS
            sender = self._redis = RedisPubSubSender(layer, layers["default"].get("CONFIG", {}))
        return sender


async def _send(layer, events: list[PublishedEvent]) -> None:
    for event in events:
        message = event.message()
        await layer.group_send(customer_group(event.customer_id), message)
        await layer.group_send(agent_group(event.agent_id), message)


class RedisPubSubSender:
    """`group_send` of channels-redis' pub/sub layer, without waiting for Redis: the same Redis
    channel per group (`<prefix>__group__<group>`, on the shard the layer picks for it) and the
    layer's own serializer, so that every process's consumers receive these messages as if the
    layer had sent them (tests/test_event_stream.py: a write in the test process reaches both
    servers).

    Each shard gets one connection of this process that has run `CLIENT REPLY OFF` (again on
    every reconnect): Redis answers nothing on it, so a batch of PUBLISH commands is one socket
    write and the caller goes on. What Redis does with them is not known here; the events table
    is the record of what a lost batch carried (resume with `since`)."""

    #: How long a write to a Redis that does not take it may hold the commit hook. After a
    #: failure nothing is sent for `PAUSE_SECONDS`, so a Redis that is down costs a request at
    #: most one such wait in that time.
    TIMEOUT_SECONDS = 0.25
    PAUSE_SECONDS = 5.0

    def __init__(self, layer: RedisPubSubChannelLayer, config: dict) -> None:
        self.layer = layer
        self._prefix = config.get("prefix", "asgi")
        self._hosts = decode_hosts(config.get("hosts"))
        self._lock = threading.Lock()  # one writer per connection: threads of a process
        self._connections: list[ConnectionInterface] = []
        self._pid = 0  # the process the connections belong to (not a parent that forked)
        self._paused_until = 0.0

    def group_channel(self, group: str) -> str:
        return f"{self._prefix}__group__{group}"

    def __call__(self, events: list[PublishedEvent]) -> None:
        commands: list[list[tuple]] = [[] for _ in self._hosts]
        for event in events:
            message = self.layer.serialize(event.message())
            for group in (customer_group(event.customer_id), agent_group(event.agent_id)):
                channel = self.group_channel(group)
                commands[_consistent_hash(channel, len(commands))].append(("PUBLISH", channel, message))
        with self._lock:
            if time.monotonic() < self._paused_until:
                return  # dropped: Redis failed a moment ago (logged then)
            connections = self._own_connections()
            try:
                for connection, shard_commands in zip(connections, commands, strict=True):
                    if shard_commands:
                        packed = connection.pack_commands(shard_commands)
                        connection.send_packed_command(packed, check_health=False)
            except (redis.RedisError, OSError):
                self._paused_until = time.monotonic() + self.PAUSE_SECONDS
                for connection in connections:
                    connection.disconnect()
                logger.exception("could not publish %d agent events; pausing", len(events))

    def _own_connections(self) -> list[ConnectionInterface]:
        if self._pid != os.getpid():
            self._connections = [self._connection(host) for host in self._hosts]
            self._pid = os.getpid()
        return self._connections

    def _connection(self, host: dict) -> ConnectionInterface:
        options = {
            "socket_timeout": self.TIMEOUT_SECONDS,
            "socket_connect_timeout": self.TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 0),
            **host,
        }
        if "address" in options:
            pool = redis.ConnectionPool.from_url(options.pop("address"), **options)
        else:
            pool = redis.ConnectionPool(**options)
        connection = pool.make_connection()
        connection.register_connect_callback(self._replies_off)
        return connection

    def _replies_off(self, connection: ConnectionInterface) -> None:
        connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)


_the_publisher = _Publisher()


def _publisher() -> _Publisher:
    return _the_publisher


def serve_in_memory_from(loop: asyncio.AbstractEventLoop) -> None:
    """The ASGI server's loop of this process, where in-memory layer messages must be sent."""
    _the_publisher.serve_in_memory_from(loop)
