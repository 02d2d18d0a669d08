"""Hands recorded agent events to the channel layer once their transaction has committed, so
that the event stream's connections on every server process receive them (contract section 11;
README, "Event stream").

The events table stays the record: a resume (`since`) reads it, so an event whose publication
was lost (a process that died between its commit and the publish) is still delivered there.

Publishing never blocks a request: `publish_on_commit` queues the events after the commit, and
one thread per process sends them in that order over an event loop of its own (the channel
layer's connections belong to one loop). The in-memory layer (no Redis configured) only exists
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
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from channels.layers import InMemoryChannelLayer, get_channel_layer
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
        loop = asyncio.new_event_loop()
        while True:  # a daemon thread: it ends with the process (atexit flushes first)
            batches = [self._queue.get()]
            while True:  # everything queued meanwhile goes in the same pass
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [event for batch in batches for event in batch]
            try:
                loop.run_until_complete(_send(get_channel_layer(), events))
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


_the_publisher = _Publisher()


def _publisher() -> _Publisher:
    return _the_publisher


def serve_in_memory_from(loop: asyncio.AbstractEventLoop) -> None:
    """The ASGI server's loop of this process, where in-memory layer messages must be sent."""
    _the_publisher.serve_in_memory_from(loop)


def flush(timeout: float = 5.0) -> bool:
    return _the_publisher.flush(timeout)


atexit.register(flush)
