"""Hands recorded agent events to the channel layer once their transaction has committed, so
that the event stream's connections on every server process receive them (contract section 11;
README, "Event stream").

The events table stays the record: a resume (`since`) reads it, so an event whose publication
was lost (a process that died between its commit and the publish) is still delivered there.

Publishing never blocks a request: `publish_on_commit` queues the events after the commit, and
one thread per process sends them in that order. With channels-redis' pub/sub layer (what
production runs) the thread publishes everything queued meanwhile in one pipelined round trip of
a plain synchronous Redis client, to the channels and in the format the layer's own `group_send`
uses: the layer's asyncio path, two round trips per event on an event loop of the thread's own,
cost about a fifth of the status write's throughput (README, "Performance"). Any other layer
gets `group_send` on that loop. The in-memory layer (no Redis configured) only exists
inside one process and one loop, so there the events go to the loop of the process's ASGI server
instead, which the stream's consumers name when they connect (`serve_in_memory_from`).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

import redis
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from django.conf import settings
from django.db import transaction

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
    when it rolls back."""
    events = list(events)
    if events:
        transaction.on_commit(lambda: _publisher().submit(events))


#: How long the publisher waits after an event for those committed right behind it, so that it
#: sends them in id order (a commit hook of the earlier commit can run after the later one's).
GATHER_SECONDS = 0.002


class _Publisher:
    """One per process: a queue drained in order by a daemon thread with its own event loop."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[list[PublishedEvent]] = queue.SimpleQueue()
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0  # batches submitted and not yet sent, under `_sent`
        self._sent = threading.Condition()

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
        self._start()
        with self._sent:
            self._pending += 1
        self._queue.put(events)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far was sent (a command that exits, a test)."""
        with self._sent:
            return self._sent.wait_for(lambda: self._pending == 0, timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="event-publisher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        send = _sender(get_channel_layer())
        while True:  # a daemon thread: it ends with the process (atexit flushes first)
            batches = [self._queue.get()]
            time.sleep(GATHER_SECONDS)
            while True:  # everything queued meanwhile goes in the same pass
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # In id order, which is a customer's commit order (agents/services/events.py): two
            # threads whose commits follow each other run their commit hooks in either order.
            events = sorted((event for batch in batches for event in batch), key=lambda event: event.id)
            try:
                send(events)
            except Exception:
                # The stream is best effort; the events table is the record (resume with `since`).
                logger.exception("could not publish %d agent events", len(events))
            with self._sent:
                self._pending -= len(batches)
                self._sent.notify_all()


async def _send(layer, events: list[PublishedEvent]) -> None:
    for event in events:
        message = event.message()
        await layer.group_send(customer_group(event.customer_id), message)
        await layer.group_send(agent_group(event.agent_id), message)


def _sender(layer) -> Callable[[list[PublishedEvent]], None]:
    """How the publisher thread sends a batch to `layer`."""
    if isinstance(layer, RedisPubSubChannelLayer):
        layers: dict[str, dict] = settings.CHANNEL_LAYERS
        return RedisPubSubSender(layer, layers["default"].get("CONFIG", {}))
    loop = asyncio.new_event_loop()
    return lambda events: loop.run_until_complete(_send(layer, events))


class RedisPubSubSender:
    """`group_send` of channels-redis' pub/sub layer, for a whole batch in one pipelined round
    trip of a synchronous client: the same Redis channel per group (`<prefix>__group__<group>`,
    on the shard the layer picks for it) and the layer's own serializer, so that every
    process's consumers receive these messages as if the layer had sent them
    (tests/test_event_stream.py: a write in the test process reaches both servers)."""

    #: A Redis that does not answer holds up the stream, never a request; the events table
    #: keeps what a lost batch carried.
    TIMEOUT_SECONDS = 2.0

    def __init__(self, layer: RedisPubSubChannelLayer, config: dict) -> None:
        self._layer = layer
        self._prefix = config.get("prefix", "asgi")
        self._shards = [self._client(host) for host in decode_hosts(config.get("hosts"))]

    def _client(self, host: dict) -> redis.Redis:
        host = {
            "socket_timeout": self.TIMEOUT_SECONDS,
            "socket_connect_timeout": self.TIMEOUT_SECONDS,
            **host,
        }
        if "address" in host:
            return redis.Redis.from_url(host.pop("address"), **host)
        return redis.Redis(**host)

    def group_channel(self, group: str) -> str:
        return f"{self._prefix}__group__{group}"

    def __call__(self, events: list[PublishedEvent]) -> None:
        pipelines = [shard.pipeline(transaction=False) for shard in self._shards]
        for event in events:
            message = self._layer.serialize(event.message())
            for group in (customer_group(event.customer_id), agent_group(event.agent_id)):
                channel = self.group_channel(group)
                pipelines[_consistent_hash(channel, len(pipelines))].publish(channel, message)
        for pipeline in pipelines:
            if len(pipeline):
                pipeline.execute()


_the_publisher = _Publisher()


def _publisher() -> _Publisher:
    return _the_publisher


def serve_in_memory_from(loop: asyncio.AbstractEventLoop) -> None:
    """The ASGI server's loop of this process, where in-memory layer messages must be sent."""
    _the_publisher.serve_in_memory_from(loop)


def flush(timeout: float = 5.0) -> bool:
    return _the_publisher.flush(timeout)


atexit.register(flush)
