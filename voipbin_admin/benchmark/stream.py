"""The event stream against real servers (issue #13): pushed boards against today's polled ones.

Two gunicorns run as in production (README, "Production"): sync workers for HTTP and the
stream's uvicorn workers for WebSockets, both publishing through Redis (a channel-layer prefix
of this run's own). Status changes are made through `PUT /v1.0/agents/{id}/status` on the sync
server, paced, from threads of this process; the boards are another process
(`stream_clients.py`), so servers, boards and writer each have their own interpreter.

- Watched: for K boards, the latency from a PUT's 200 to each board showing that change, the
  CPU the servers (and Redis, and this database's PostgreSQL backends) spent per second, the
  bytes per second the boards received, and the PUT's p95, with nobody watching (K = 0) as the
  reference. Once for pushed boards (WebSocket subscribed to `customer_id:<cid>:agent`) and once
  for polled ones (`GET /board/live/?v=...` every second).
- Raw: N changes fired as fast as the API takes them, and how long until every one of C
  connections had all N frames: delivered events and frames per second.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

import redis
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Max
from django.test import override_settings
from django.utils.module_loading import import_string

from agents.models import Agent, AgentEvent, LoginToken
from agents.selectors import BOARD_GROUP_TILES
from agents.services import login_token_create
from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.load import (
    ASGI_WORKERS,
    SYNC_WORKERS,
    LoadSettings,
    free_port,
    start_server,
    wait_for_port,
)
from voipbin_admin.benchmark.seeding import BENCH_PASSWORD, STATUSES, measured_customer
from voipbin_admin.benchmark.stream_clients import BoardsProcess
from voipbin_admin.benchmark.usage import Usage, process_tree, wait_until_idle

#: Threads that make the changes: enough that a slow PUT does not hold back the next one.
_WRITERS = 16


@dataclass(frozen=True)
class StreamSettings:
    watchers: tuple[int, ...] = (1, 10, 50, 100, 200)
    raw_connections: tuple[int, ...] = (1, 100, 1000)
    seconds: float = 10.0
    changes_per_second: float = 8.0
    raw_events: int = 200
    workers: int = 2
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: After the changes: how long boards may still take to show them all.
    grace_seconds: float = 10.0


def measure_stream(stream: StreamSettings, write) -> dict:
    redis_client = redis.Redis.from_url(stream.redis_url, socket_connect_timeout=2)
    try:
        redis_client.ping()
    except redis.RedisError as error:
        raise BenchmarkError(f"The stream benchmark needs Redis at {stream.redis_url}: {error}") from error
    bench = _StreamBench(stream, redis_client)
    try:
        out: dict = {"unwatched": [bench.unwatched()], "watched": [], "raw": []}
        write(f"  stream: unwatched, {stream.changes_per_second:g} changes/s for {stream.seconds:g} s")
        for k in stream.watchers:
            for mode in ("push", "poll"):
                write(f"  stream: {k} {mode} boards")
                out["watched"].append({"boards": k, "design": mode, **bench.watched(mode, k)})
        out["unwatched"].append(bench.unwatched())
        for connections in stream.raw_connections:
            write(f"  stream: raw, {stream.raw_events} changes to {connections} connections")
            out["raw"].append(bench.raw(connections))
        out["setup"] = (
            f"{stream.workers} sync + {stream.workers} stream (uvicorn) gunicorn workers, Redis pub/sub "
            f"channel layer; {stream.changes_per_second:g} changes/s for {stream.seconds:g} s per figure"
        )
        return out
    finally:
        bench.close()


class _StreamBench:
    def __init__(self, stream: StreamSettings, redis_client: redis.Redis) -> None:
        self.stream, self.redis_client = stream, redis_client
        customer, self.admin = measured_customer()
        self.topic = f"customer_id:{customer.id}:agent"
        _, self.token = login_token_create(username=self.admin.username, password=BENCH_PASSWORD)
        # The agents changed are the first by name, whose tiles every board shows whatever their
        # status (a status group shows its first BOARD_GROUP_TILES by name): a polling board sees
        # a change only on a tile, and a pushed board gets every event anyway.
        rows = Agent.objects.filter(customer=customer, permission=16, tm_delete__isnull=True).order_by(
            "name", "username", "id"
        )[:BOARD_GROUP_TILES]
        agents = [
            [str(pk), username, status]
            for pk, username, status in rows.values_list("id", "username", "status")
        ]
        self.warm_up_agent, self.agents = agents[0], agents[1:]
        self.next_agent = 0
        self.session_keys: list[str] = []
        # One key for both servers and the sessions signed here.
        self.secret_key = secrets.token_urlsafe(50)
        env = {
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": database_url(),
            "CHANNEL_LAYER_URL": stream.redis_url,
            "CHANNEL_LAYER_PREFIX": f"bench-{secrets.token_hex(4)}",
        }
        self.http_port, ws_port = free_port(), free_port()
        self.ws_url = f"ws://127.0.0.1:{ws_port}/v1.0/ws"
        workers = LoadSettings(workers=stream.workers)
        self.servers = {
            "http": start_server(workers, self.http_port, SYNC_WORKERS, env),
            "ws": start_server(workers, ws_port, ASGI_WORKERS, env),
        }
        wait_for_port(self.http_port)
        wait_for_port(ws_port)
        time.sleep(2)  # gunicorn listens before its workers have loaded the application
        self.pids = {name: process_tree(server.pid) for name, server in self.servers.items()}
        self.writers = ThreadPoolExecutor(_WRITERS)
        self.local = threading.local()
        self._warm_up_servers()

    def close(self) -> None:
        self.writers.shutdown()
        for server in self.servers.values():
            server.terminate()
            server.wait(timeout=30)
        LoginToken.objects.filter(agent=self.admin).delete()
        Session.objects.filter(session_key__in=self.session_keys).delete()

    # --- the figures ---------------------------------------------------------------------------

    def unwatched(self) -> dict:
        self._wait_until_idle()
        usage = Usage(self.pids, self.redis_client)
        usage.start()
        puts = self._pace(self._plan(self._changes()))
        return {**_put_figures(puts), **usage.stop()}

    def watched(self, mode: str, k: int) -> dict:
        self._wait_until_idle()
        plan = self._plan(self._changes())
        client = self._clients(mode, k, plan)
        try:
            if mode == "poll":  # every board's first fragment: K full renders
                client.expect("ready", timeout=300)
            else:
                client.expect("subscribed", timeout=120)
                self._warm_up_until(client, "ready")
            usage = Usage(self.pids, self.redis_client, client.process.pid)
            bytes_before, requests_before = client.received()
            usage.start()
            puts = self._pace(plan)
            figures = usage.stop()
            bytes_after, requests_after = client.received()
            client.expect("complete", timeout=self.stream.grace_seconds, missing_ok=True)
            results = client.stop()
        finally:
            client.close()
        latencies = [
            _latency_ms(put["at"], seen.get(str(index)))
            for seen in results["seen"]
            for index, put in enumerate(puts)
        ]
        out = {
            **_put_figures(puts),
            **_percentiles("latency", latencies),
            "changes seen": sum(value is not None for value in latencies),
            "changes missed": sum(value is None for value in latencies),
            "bytes_per_s": round((bytes_after - bytes_before) / self.stream.seconds),
            **figures,
        }
        if mode == "poll":
            out["polls_per_s"] = round((requests_after - requests_before) / self.stream.seconds, 1)
        return out

    def raw(self, connections: int) -> dict:
        self._wait_until_idle()
        events = self.stream.raw_events
        client = self._clients("raw", connections, [])
        try:
            client.expect("subscribed", timeout=300)
            self._warm_up_until(client, "ready")
            time.sleep(0.5)  # the last warm-up frames are still on their way
            after_id = AgentEvent.objects.aggregate(last=Max("id"))["last"] or 0
            plan = self._plan(events)
            client.send(f"go {after_id} {events}")
            client.expect("going", timeout=10)
            usage = Usage(self.pids, self.redis_client, client.process.pid)
            usage.start()
            started = time.monotonic()
            list(self.writers.map(lambda change: self._put_status(change[0], change[2]), plan))
            fired = time.monotonic() - started
            client.expect("done", timeout=120, missing_ok=True)
            figures = usage.stop()
            results = client.stop()
        finally:
            client.close()
        delivered = sum(results["counted"])
        seconds = max((at for at in results["last_at"] if at is not None), default=started) - started
        return {
            "connections": connections,
            "events": events,
            "fired in s": round(fired, 3),
            "delivered in s": round(seconds, 3),
            # Per connection, so that a run cut short by the time limit does not count what it missed.
            "events_per_s": round(delivered / connections / seconds, 1) if seconds > 0 else None,
            "frames_per_s": round(delivered / seconds, 1) if seconds > 0 else None,
            "frames missed": events * connections - delivered,
            **figures,
        }

    # --- the writer ----------------------------------------------------------------------------

    def _changes(self) -> int:
        return round(self.stream.seconds * self.stream.changes_per_second)

    def _plan(self, changes: int) -> list[list[str]]:
        """`changes` status changes, each to a status the agent does not have: [agent id,
        username, new status]. The agents take turns, each moving to the next status of
        STATUSES, so that no agent is given the same status twice in one figure (a board tells
        the changes apart by agent and status)."""
        if changes > len(self.agents) * len(STATUSES):
            raise BenchmarkError(
                f"{changes} changes in one figure: at most {len(STATUSES)} per agent, and there are"
                f" {len(self.agents)} agents."
            )
        plan = []
        for _ in range(changes):
            agent = self.agents[self.next_agent % len(self.agents)]
            self.next_agent += 1
            agent[2] = STATUSES[(STATUSES.index(agent[2]) + 1) % len(STATUSES)]
            plan.append(list(agent))
        return plan

    def _pace(self, plan: list[list[str]]) -> list[dict]:
        """Start the changes at `changes_per_second`, each on a writer thread, whatever the
        previous ones take."""
        interval = 1 / self.stream.changes_per_second
        begin = time.monotonic()
        futures = []
        for number, (agent_id, _, status) in enumerate(plan):
            time.sleep(max(0.0, begin + number * interval - time.monotonic()))
            futures.append(self.writers.submit(self._put_status, agent_id, status))
        return [future.result() for future in futures]

    def _put_status(self, agent_id: str, status: str) -> dict:
        if not hasattr(self.local, "http"):
            self.local.http = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=120)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        started = time.monotonic()
        self.local.http.request(
            "PUT", f"/v1.0/agents/{agent_id}/status", json.dumps({"status": status}), headers
        )
        response = self.local.http.getresponse()
        body = response.read()
        at = time.monotonic()
        if response.status != 200:
            raise BenchmarkError(f"PUT status: HTTP {response.status} {body[:300]!r}")
        return {"at": at, "ms": (at - started) * 1000}

    def _warm_up_servers(self) -> None:
        """Changes on every sync worker before the first figure: imports, prepared statements."""
        agent = self.warm_up_agent
        for _ in range(30):
            agent[2] = "away" if agent[2] == "available" else "available"
            self._put_status(agent[0], agent[2])

    def _warm_up_until(self, client: BoardsProcess, word: str) -> None:
        """Change the warm-up agent every quarter second until every board has had a frame
        (subscribe is never acknowledged: the first frame shows the subscription is live)."""
        deadline = time.monotonic() + 120
        while not client.expect(word, timeout=0.25, missing_ok=True):
            if time.monotonic() > deadline:
                raise BenchmarkError(f"the boards never got a frame: {client.errors()}")
            agent = self.warm_up_agent
            agent[2] = "away" if agent[2] == "available" else "available"
            self._put_status(agent[0], agent[2])

    # --- the boards ----------------------------------------------------------------------------

    def _clients(self, mode: str, k: int, plan: list[list[str]]) -> BoardsProcess:
        return BoardsProcess(
            {
                "mode": mode,
                "k": k,
                "plan": plan,
                "ws_url": self.ws_url,
                "topic": self.topic,
                "http_host": "127.0.0.1",
                "http_port": self.http_port,
                "cookie_name": settings.SESSION_COOKIE_NAME,
                "session_keys": self._sessions(k),
            }
        )

    def _sessions(self, k: int) -> list[str]:
        """K console sessions of the customer's admin, as signing in would leave them."""
        store = import_string(settings.SESSION_ENGINE).SessionStore
        keys = []
        with override_settings(SECRET_KEY=self.secret_key):  # the servers' key signs them
            for _ in range(k):
                session = store()
                session[SESSION_KEY] = self.admin._meta.pk.value_to_string(self.admin)
                session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
                session[HASH_SESSION_KEY] = self.admin.get_session_auth_hash()
                session.create()
                keys.append(session.session_key)
        self.session_keys += keys
        return keys

    def _wait_until_idle(self) -> None:
        wait_until_idle([pid for pids in self.pids.values() for pid in pids])


def _latency_ms(put_at: float, seen_at: float | None) -> float | None:
    """From the PUT's 200 to the board; 0 when the board had it before the writer had its 200."""
    return None if seen_at is None else max(0.0, (seen_at - put_at) * 1000)


def _percentiles(name: str, values: list[float | None]) -> dict:
    """p50 / p95 / p99, a missed value counting as slower than every other (None once it is the
    one a percentile falls on)."""
    ordered = sorted(values, key=lambda value: float("inf") if value is None else value)
    out = {}
    for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        value = ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else None
        out[f"{name} {label}_ms"] = None if value is None else round(value, 1)
    return out


def _put_figures(puts: list[dict]) -> dict:
    return {"changes": len(puts), **_percentiles("put", [put["ms"] for put in puts])}


def database_url() -> str:
    """This process's database as a DATABASE_URL, for the servers (a test's database too)."""
    db = connection.settings_dict
    user, password = quote(db.get("USER") or "", safe=""), quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = quote(db.get("HOST") or "localhost", safe="")
    return f"postgres://{credentials}{host}:{db.get('PORT') or 5432}/{quote(db['NAME'], safe='')}"
