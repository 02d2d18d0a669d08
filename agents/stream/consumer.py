"""One WebSocket connection of the event stream (contract section 11).

The handshake is authenticated like an API request (section 2), or, for the console's own pages,
by the signed-in session; a credential a browser sends by itself (a cookie) is only accepted from
a page of this site (the `Origin` check), so no other site can open a stream in a supervisor's
name. Subscriptions join one channel-layer group per customer or agent they are scoped to, and
every event that reaches the connection is matched against them (prefix match) and sent once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qsl, urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import timezone
from django.utils.module_loading import import_string

from agents import event_bus, selectors
from agents.models import Agent
from agents.permissions import Actor
from agents.stream.rights import Caller, rights_watch
from agents.stream.topics import (
    AGENT_SCOPE,
    MAX_TOPICS,
    Topic,
    TopicError,
    event_topics,
    may_subscribe,
    parse_topic,
)
from voipbin_admin.api.authentication import pick_credential
from voipbin_admin.errors import Unauthenticated

logger = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003


class _Refused(Exception):
    """Ends the connection: `code` and a short `reason` (as VoIPbin does, no error frame)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class EventStreamConsumer(AsyncWebsocketConsumer):
    actor: Actor | None = None

    async def connect(self) -> None:
        event_bus.serve_in_memory_from(asyncio.get_running_loop())
        self.topics: dict[str, Topic] = {}
        #: Per topic, the `since` it was subscribed with: a live event at or before it was
        #: already the client's (published late, it would come twice).
        self.resumed_after: dict[str, int] = {}
        self.group_users: dict[str, int] = {}
        self.last_delivered: dict[str, int] = {}  # agent id -> newest event id sent
        credential, session_key = self._credentials()
        if credential is not None:
            self.actor = await self._credential_actor(credential)
            self.caller = Caller(credential=credential)
        elif session_key:
            agent = await database_sync_to_async(_session_agent)(session_key)
            self.actor = agent
            if agent is not None:  # what a recheck compares: a password change moves the hash
                self.caller = Caller(
                    session_key=session_key,
                    session_agent_id=agent.pk,
                    session_auth_hash=agent.get_session_auth_hash(),
                )
        if self.actor is None:
            await self.close()  # before accept: the upgrade is refused (403)
            return
        await self.accept()
        rights_watch().add(self)

    async def disconnect(self, code: int) -> None:
        rights_watch().discard(self)
        for group in getattr(self, "group_users", {}):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.group_users = {}

    # --- who is calling ---------------------------------------------------------------------------

    def _credentials(self) -> tuple[str | None, str | None]:
        """The API credential (contract section 2) or else the console session's key; a cookie
        only when the handshake comes from this site or from no web page at all."""
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.scope["headers"]
        }
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))
        cookies = parse_cookie(headers.get("cookie", ""))
        same_site = _same_origin(headers.get("origin"), headers.get("host"))
        picked = pick_credential(headers.get("authorization", ""), query, cookies)
        if picked is not None:
            raw, from_cookie = picked
            return (raw if same_site or not from_cookie else None), None
        session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        return None, (session_key if same_site else None)

    async def _credential_actor(self, credential: str) -> Actor | None:
        try:
            return await database_sync_to_async(selectors.credential_actor)(credential)
        except Unauthenticated:
            return None

    async def rights_rechecked(self, actor: Actor | None) -> None:
        """Who the caller stands for now (`agents.stream.rights`, every recheck interval): close
        (1008) once the credential or session is no longer valid, or a subscription is no longer
        allowed."""
        if actor is not None and all(may_subscribe(actor, topic) for topic in self.topics.values()):
            self.actor = actor
            return
        rights_watch().discard(self)  # closing: not to be closed again by the next recheck
        reason = "credential no longer valid" if actor is None else "topic no longer allowed"
        await self.close(code=POLICY_VIOLATION, reason=reason)

    # --- client messages ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            await self._handle(text_data)
        except _Refused as refused:
            await self.close(code=refused.code, reason=refused.reason)

    async def _handle(self, text_data: str | None) -> None:
        if text_data is None:
            raise _Refused(UNSUPPORTED_DATA, "text frames only")
        try:
            message = json.loads(text_data)
        except ValueError:
            raise _Refused(UNSUPPORTED_DATA, "invalid JSON") from None
        if not isinstance(message, dict) or message.get("type") not in ("subscribe", "unsubscribe"):
            raise _Refused(POLICY_VIOLATION, "malformed message")
        raw_topics = message.get("topics")
        if not isinstance(raw_topics, list):
            raise _Refused(POLICY_VIOLATION, "malformed message")
        try:
            topics = [parse_topic(raw) for raw in raw_topics]
        except TopicError as error:
            raise _Refused(POLICY_VIOLATION, str(error)) from None
        if message["type"] == "unsubscribe":
            await self._unsubscribe(topics)
        else:
            await self._subscribe(topics, message.get("since"))

    async def _subscribe(self, topics: list[Topic], since: object) -> None:
        after_id = None if since is None else _parse_event_id(since)
        actor = self.actor
        if actor is None or not all(may_subscribe(actor, topic) for topic in topics):
            raise _Refused(POLICY_VIOLATION, "topic not allowed")
        new = {topic.raw: topic for topic in topics if topic.raw not in self.topics}
        if len(self.topics) + len(new) > MAX_TOPICS:
            raise _Refused(POLICY_VIOLATION, f"more than {MAX_TOPICS} topics")
        for topic in new.values():
            self.topics[topic.raw] = topic
            self.resumed_after[topic.raw] = after_id or 0
            group = _group_of(topic)
            self.group_users[group] = self.group_users.get(group, 0) + 1
            if self.group_users[group] == 1:
                await self.channel_layer.group_add(group, self.channel_name)
        if after_id is not None:
            await self._replay(after_id, topics)

    async def _unsubscribe(self, topics: list[Topic]) -> None:
        for topic in topics:
            if self.topics.pop(topic.raw, None) is None:
                continue
            del self.resumed_after[topic.raw]
            group = _group_of(topic)
            self.group_users[group] -= 1
            if self.group_users[group] == 0:
                del self.group_users[group]
                await self.channel_layer.group_discard(group, self.channel_name)

    async def _replay(self, after_id: int, topics: list[Topic]) -> None:
        """The stored events after `after_id` that match `topics`, in order; `resync_required`
        instead when more than the replay limit, or older ones than the window, were missed."""
        limit = settings.EVENT_STREAM_REPLAY_LIMIT
        events = await database_sync_to_async(selectors.agent_events_after)(
            after_id=after_id,
            customer_ids={topic.scope_id for topic in topics if topic.scope != AGENT_SCOPE},
            agent_ids={topic.scope_id for topic in topics if topic.scope == AGENT_SCOPE},
            limit=limit * 5 + 1,
        )
        oldest_kept = timezone.now() - settings.EVENT_STREAM_REPLAY_WINDOW
        matching = [
            event
            for event in events
            if any(
                topic.matches(
                    event_topics(
                        customer_id=str(event.customer_id),
                        agent_id=str(event.agent_id),
                        event_type=event.type,
                    )
                )
                for topic in topics
            )
        ]
        if (
            len(events) > limit * 5
            or len(matching) > limit
            or any(e.tm_create < oldest_kept for e in matching)
        ):
            await self.send(text_data=json.dumps({"type": "resync_required"}))
            return
        for event in matching:
            await self._deliver(
                str(event.agent_id), event.pk, event_bus.event_frame(event.pk, event.type, event.data)
            )

    # --- events from the channel layer ------------------------------------------------------------

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections (a thread hop) before every handler. An
        # event touches no database and arrives for every watching connection: going straight
        # to its handler halved the stream's CPU per frame (README, "Event stream").
        if message["type"] == event_bus.MESSAGE_TYPE:
            await self.agent_event(message)
        else:
            await super().dispatch(message)

    async def agent_event(self, message: dict) -> None:
        """An event published by any server process (`agents.event_bus`)."""
        topics = event_topics(
            customer_id=message["customer_id"], agent_id=message["agent_id"], event_type=message["event_type"]
        )
        event_id = message["id"]
        if any(
            topic.matches(topics) and event_id > self.resumed_after[raw] for raw, topic in self.topics.items()
        ):
            await self._deliver(message["agent_id"], event_id, message["frame"])

    async def _deliver(self, agent_id: str, event_id: int, frame: str) -> None:
        """Send the frame unless this connection already has it or a newer event of the agent
        (each event once, and one agent's events in order)."""
        if self.last_delivered.get(agent_id, 0) >= event_id:
            return
        self.last_delivered[agent_id] = event_id
        await self.send(text_data=frame)


def _session_agent(session_key: str) -> Agent | None:
    """The agent signed in with this console session, checked as Django checks a request's
    (the session exists and still matches the agent's password)."""
    request = HttpRequest()
    request.session = import_string(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return user if isinstance(user, Agent) and user.tm_delete is None else None


def _group_of(topic: Topic) -> str:
    if topic.scope == AGENT_SCOPE:
        return event_bus.agent_group(topic.scope_id)
    return event_bus.customer_group(topic.scope_id)


def _parse_event_id(value: object) -> int:
    """An `event_id` as sent in frames (a decimal string); 1008 otherwise."""
    # At most the largest id the events table can hold (a 64-bit signed integer).
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2**63:
        return int(value)
    raise _Refused(POLICY_VIOLATION, "malformed since")


def _same_origin(origin: str | None, host: str | None) -> bool:
    """No `Origin` (not a web page) or one naming this host."""
    if origin is None:
        return True
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()
