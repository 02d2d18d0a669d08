"""In-process figures: latency and SQL queries per request through Django's test client, and
the floor (the list page from one hand-written query)."""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass, field

import psycopg
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from agents.models import Agent
from agents.services import login_token_create
from tags.models import Tag
from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.seeding import BENCH_PASSWORD, STATUSES, measured_customer
from voipbin_admin.timestamps import format_timestamp

FLOOR_SQL = """
SELECT a.id, a.customer_id, a.username, a.name, a.detail, a.ring_method, a.status, a.permission,
       COALESCE((SELECT array_agg(t.tag_id::text ORDER BY t.id)
                 FROM tags_agenttag t WHERE t.agent_id = a.id), '{}'),
       COALESCE((SELECT json_agg(json_build_object('type', d.type, 'target', d.target,
                                                   'target_name', d.target_name, 'name', d.name,
                                                   'detail', d.detail) ORDER BY d.position)
                 FROM agents_address d WHERE d.agent_id = a.id), '[]'),
       a.direct_hash, a.tm_create, a.tm_update, a.tm_delete
FROM agents_agent a
WHERE a.customer_id = %s AND a.tm_delete IS NULL
ORDER BY a.tm_create DESC, a.id DESC
LIMIT %s
"""


@dataclass
class Figure:
    name: str
    samples_ms: list[float] = field(default_factory=list)
    queries: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def is_transaction_control(sql: str) -> bool:
    """BEGIN/COMMIT/SAVEPOINT: counted apart from the queries that read or write data."""
    return sql.split(None, 1)[0].upper() in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def time_requests(name: str, call, requests: int, expected_status: int | None = None) -> Figure:
    figure = Figure(name)
    for _ in range(5):
        call()
    with CaptureQueriesContext(connection) as captured:
        response = call()
    if response.status_code != expected_status if expected_status else response.status_code >= 400:
        raise BenchmarkError(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
    figure.queries = sum(not is_transaction_control(query["sql"]) for query in captured.captured_queries)
    for _ in range(requests):
        started = time.perf_counter()
        call()
        figure.samples_ms.append((time.perf_counter() - started) * 1000)
    return figure


def measure(*, requests: int) -> dict:
    customer, admin = measured_customer()
    _, token = login_token_create(username=admin.username, password=BENCH_PASSWORD)
    # As in production, behind a TLS-terminating proxy.
    behind_tls = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "localhost"}
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", **behind_tls)
    console = Client(**behind_tls)
    console.force_login(admin)
    agents = list(Agent.objects.filter(customer=customer, permission=16).order_by("-tm_create", "-id")[:50])
    tags = list(Tag.objects.filter(customer=customer).order_by("name")[:2])
    tag_filter = ",".join(str(tag.id) for tag in tags)

    page_token = ""
    for _ in range(8):  # the 9th page of 100: deep in the customer's 1,000 agents
        body = api.get("/v1.0/agents", {"page_size": 100, "page_token": page_token}).json()
        page_token = body["next_page_token"]

    cycle = {"n": 0}

    def next_agent() -> Agent:
        cycle["n"] += 1
        return agents[cycle["n"] % len(agents)]

    current_status = {agent.id: agent.status for agent in agents}

    def put_status():
        # Always a real change (a status an agent already has records nothing).
        agent = next_agent()
        status = STATUSES[(STATUSES.index(current_status[agent.id]) + 1) % len(STATUSES)]
        current_status[agent.id] = status
        return api.put(f"/v1.0/agents/{agent.id}/status", {"status": status}, content_type="application/json")

    def put_addresses():
        agent = next_agent()
        suffix = (cycle["n"] // len(agents)) % 2
        body = {
            "addresses": [
                {"type": "extension", "target": f"9{suffix}{agent.username[-4:]}"},
                {"type": "sip", "target": f"{agent.username}-{suffix}@bench.example.com"},
                {"type": "tel", "target": f"+1303{suffix}{agent.username[-7:].replace('-', '')}"},
            ]
        }
        return api.put(f"/v1.0/agents/{agent.id}/addresses", body, content_type="application/json")

    anonymous = Client(**behind_tls)
    figures = [
        time_requests("list first page", lambda: api.get("/v1.0/agents", {"page_size": 100}), requests),
        time_requests(
            "list deep page",
            lambda: api.get("/v1.0/agents", {"page_size": 100, "page_token": page_token}),
            requests,
        ),
        time_requests(
            "list status+tag_ids",
            lambda: api.get("/v1.0/agents", {"page_size": 100, "status": "available", "tag_ids": tag_filter}),
            requests,
        ),
        time_requests("get agent", lambda: api.get(f"/v1.0/agents/{agents[0].id}"), requests),
        time_requests("put status", put_status, requests),
        time_requests("put addresses", put_addresses, requests),
    ]
    for label, url_name in (
        ("console board", "console:board"),
        ("console agents list", "console:agent_list"),
    ):
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        figures.append(time_requests(label, lambda url=url: console.get(url), max(20, requests // 4)))

    # The stack alone (refused before any SQL): how fast the machine itself is at this size,
    # to tell a figure that grew with the data from a slow spell of the machine.
    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)  # not one warning per 401
    try:
        stack = time_requests(
            "baseline (401, no SQL)", lambda: anonymous.get("/v1.0/agents"), requests, expected_status=401
        )
    finally:
        request_log.setLevel(level)
    floor = measure_floor(customer.id, requests)
    out: dict = {}
    for figure in [*figures, floor, stack]:
        out[figure.name] = {
            "median_ms": round(figure.median, 2),
            "p95_ms": round(figure.p95, 2),
            "queries": figure.queries,
        }
    out["ratio list/floor"] = round(figures[0].median / floor.median, 2)
    return out


def measure_floor(customer_id, requests: int) -> Figure:
    """The same first page from one hand-written query, built into the same JSON body. psycopg
    prepares it from its 5th run, as the app's statements are (settings, DB_PREPARED_STATEMENTS),
    and the warm-up runs 5."""
    figure = Figure("floor (psycopg+json)", queries=1)
    with psycopg.connect(conninfo(), autocommit=True) as conn:

        def page() -> bytes:
            rows = conn.execute(FLOOR_SQL, (customer_id, 100)).fetchall()
            result = [
                {
                    "id": str(row[0]),
                    "customer_id": str(row[1]),
                    "username": row[2],
                    "name": row[3],
                    "detail": row[4],
                    "ring_method": row[5],
                    "status": row[6],
                    "permission": row[7],
                    "tag_ids": row[8],
                    "addresses": row[9],
                    "direct_hash": row[10] or "",
                    "tm_create": format_timestamp(row[11]),
                    "tm_update": format_timestamp(row[12]),
                    "tm_delete": format_timestamp(row[13]),
                }
                for row in rows
            ]
            last = rows[-1]
            token = f"{format_timestamp(last[11])}|{last[0]}"
            return json.dumps({"result": result, "next_page_token": token}).encode()

        for _ in range(5):
            page()
        for _ in range(requests):
            started = time.perf_counter()
            page()
            figure.samples_ms.append((time.perf_counter() - started) * 1000)
    return figure


def conninfo() -> str:
    """The connection string of Django's database, for a connection of the benchmark's own."""
    db = connection.settings_dict
    parts = {
        "dbname": db["NAME"],
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)
