"""Re-checking the rights of every open event stream connection of a server process at once
(contract section 11: a connection whose credential is revoked or expires, whose agent is
deleted or loses the rights a subscription needs, is closed within 10 seconds).

One task per event loop wakes every `EVENT_STREAM_RECHECK_SECONDS` and reads who every open
connection's credential or console session stands for now, for all of them in a few queries
(one per kind of credential, one for the sessions, one for the sessions' agents), then hands
each connection its caller (None: no longer valid). A recheck per connection, two queries and a
thread hop each, was a third of the stream workers' CPU at 200 watching boards, more than
sending the frames (README, "Event stream").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.crypto import constant_time_compare

from agents import selectors
from agents.permissions import Actor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """What a connection was opened with: an API credential, or a console session (its key, the
    agent it signed in, and the session's auth hash then, which a password change moves)."""

    credential: str | None = None
    session_key: str | None = None
    session_agent_id: UUID | None = None
    session_auth_hash: str = ""


class Watched(Protocol):
    caller: Caller

    async def rights_rechecked(self, actor: Actor | None) -> None: ...


class RightsWatch:
    """The connections of one event loop, and the task that re-checks them."""

    def __init__(self) -> None:
        self.connections: set[Watched] = set()
        self.task: asyncio.Task | None = None

    def add(self, connection: Watched) -> None:
        self.connections.add(connection)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, connection: Watched) -> None:
        self.connections.discard(connection)

    async def _run(self) -> None:
        while self.connections:
            await asyncio.sleep(settings.EVENT_STREAM_RECHECK_SECONDS)
            connections = list(self.connections)
            try:
                actors = await database_sync_to_async(current_actors)([c.caller for c in connections])
            except Exception:  # the database is away: keep the streams, check again later
                logger.exception("could not recheck %d event stream connections", len(connections))
                continue
            for connection, actor in zip(connections, actors, strict=True):
                if connection not in self.connections:  # closed meanwhile
                    continue
                try:
                    await connection.rights_rechecked(actor)
                except Exception:  # one connection's failure is no reason to stop checking the others
                    logger.exception("could not apply an event stream's recheck")


def current_actors(callers: list[Caller]) -> list[Actor | None]:
    """Who each caller stands for now, None once its credential or session is no longer valid
    (the rules of `selectors.credential_actor` and of Django's session check)."""
    by_credential = selectors.credential_actors(c.credential for c in callers if c.credential)
    sessions = [c for c in callers if not c.credential and c.session_key]
    live_keys = selectors.live_session_keys(c.session_key for c in sessions if c.session_key)
    agents = selectors.live_agents({c.session_agent_id for c in sessions if c.session_agent_id})
    actors: list[Actor | None] = []
    for caller in callers:
        if caller.credential:
            actors.append(by_credential.get(caller.credential))
            continue
        agent = agents.get(caller.session_agent_id) if caller.session_agent_id else None
        valid = (
            caller.session_key in live_keys
            and agent is not None
            and constant_time_compare(caller.session_auth_hash, agent.get_session_auth_hash())
        )
        actors.append(agent if valid else None)
    return actors


_watches: dict[asyncio.AbstractEventLoop, RightsWatch] = {}


def rights_watch() -> RightsWatch:
    """The watch of the running event loop (a server process has one)."""
    loop = asyncio.get_running_loop()
    for stale in [other for other in _watches if other.is_closed()]:
        del _watches[stale]
    return _watches.setdefault(loop, RightsWatch())
