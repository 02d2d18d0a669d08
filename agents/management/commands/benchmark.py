"""Benchmark what supervisors and API clients feel, at 1,000 / 10,000 / 100,000 agents.

Seeds a PostgreSQL database (every customer holds 1,000 agents, each with 3 addresses and 3 of
its customer's 10 tags; 100 customers at 100,000 agents), then for each size reports median and
p95 latency and SQL queries per request for the API and console hot paths, the *floor* for the
list page (the same page from one hand-written SQL query with psycopg and json.dumps, measured
in the same run) with the ratio API / floor, and the throughput of `PUT .../status` and
`GET /v1.0/agents` under concurrent load against gunicorn, driven by wrk.

Latency is measured in-process through Django's test client (the full middleware, auth, view
and serialization stack, without a socket), so that it isolates the application's own cost.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from agents.models import Agent, Customer, LoginToken
from agents.services import login_token_create
from agents.usernames import fold_username
from tags.models import Tag
from voipbin_admin.timestamps import format_timestamp

AGENTS_PER_CUSTOMER = 1000
TAGS_PER_CUSTOMER = 10
BENCH_PASSWORD = "bench-password"
BENCH_PREFIX = "bench"
STATUSES = ["available", "away", "busy", "offline", "ringing"]
STATUS_WEIGHTS = [40, 15, 25, 15, 5]

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


class Command(BaseCommand):
    help = "Seed a PostgreSQL database with agents and report latency, query counts, floor and throughput."

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="1000,10000,100000", help="Agent counts to measure at.")
        parser.add_argument("--requests", type=int, default=200, help="Timed requests per figure.")
        parser.add_argument("--load-seconds", type=int, default=10, help="Duration of each wrk run.")
        parser.add_argument(
            "--load-runs", type=int, default=3, help="wrk runs per figure, interleaved; the median counts."
        )
        parser.add_argument("--load-connections", type=int, default=16, help="wrk concurrent connections.")
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn worker processes (2 did best on 2 cores)."
        )
        parser.add_argument("--no-load", action="store_true", help="Skip the concurrent load runs.")
        parser.add_argument("--output", help="Also write the figures as JSON to this file.")
        parser.add_argument(
            "--yes", action="store_true", help="Allow wiping earlier benchmark data in this database."
        )

    # --- entry point ---------------------------------------------------------------------------

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        db_name = settings.DATABASES["default"]["NAME"]
        if BENCH_PREFIX not in db_name and not options["yes"]:
            raise CommandError(
                f"Refusing to seed {db_name!r}: use a database whose name contains 'bench' or pass --yes."
            )
        sizes = sorted(int(size) for size in options["sizes"].split(","))
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # pages need the manifest
        self._wipe()
        self.rng = random.Random(20261126)
        self.password_hash = make_password(BENCH_PASSWORD)
        results = []
        for size in sizes:
            started = time.perf_counter()
            self._seed_up_to(size)
            seeded = time.perf_counter() - started
            self.stdout.write(f"seeded {size:,} agents ({seeded:.1f} s); measuring...")
            row = {"agents": size, "seed_seconds": round(seeded, 1)}
            _vacuum()
            row.update(self._measure(requests=options["requests"]))
            _vacuum()
            if not options["no_load"]:
                row.update(self._load(options))
            results.append(row)
        self._print_table(results)
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(results, indent=2))

    # --- seeding -------------------------------------------------------------------------------

    def _wipe(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE agents_agentevent, agents_agentstatuschange, agents_logintoken, agents_address,"
                " tags_agenttag, tags_tag, agents_accesskey, agents_agent, agents_customer,"
                " django_session CASCADE"
            )

    def _seed_up_to(self, size: int):
        have = Customer.objects.count()
        want = max(1, size // AGENTS_PER_CUSTOMER)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            for index in range(have, want):
                self._seed_customer(cursor, index, base + timedelta(days=index))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def _seed_customer(self, cursor, index: int, start: datetime):
        rng = self.rng
        customer_id = uuid.uuid4()
        cursor.execute(
            "INSERT INTO agents_customer (id, name, detail, tm_create) VALUES (%s, %s, '', %s)",
            (customer_id, f"{BENCH_PREFIX}-{index:03d}", start),
        )
        tag_ids = [uuid.uuid4() for _ in range(TAGS_PER_CUSTOMER)]
        with cursor.copy("COPY tags_tag (id, customer_id, name, detail, tm_create) FROM STDIN") as copy:
            for number, tag_id in enumerate(tag_ids):
                copy.write_row((tag_id, customer_id, f"skill-{number}", "", start))
        agents, addresses, links, history = [], [], [], []
        for number in range(AGENTS_PER_CUSTOMER):
            agent_id = uuid.uuid4()
            # Every 50 agents share one tm_create, so the cursor's tie-breaker is exercised.
            created = start + timedelta(seconds=number // 50, microseconds=0)
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            permission = 32 if number == 0 else 16
            username = f"{BENCH_PREFIX}{index:03d}-{number:04d}"
            agents.append(
                (
                    agent_id,
                    customer_id,
                    username,
                    fold_username(username),
                    f"Agent {index}-{number}",
                    "",
                    "ringall",
                    status,
                    created,
                    permission,
                    secrets.token_hex(6),
                    created,
                    self.password_hash,
                )
            )
            targets = [
                ("tel", f"+1202{index:03d}{number:04d}"),
                ("extension", f"{1000 + number}"),
                ("sip", f"{username}@bench.example.com"),
            ]
            for position, (kind, target) in enumerate(targets):
                addresses.append((uuid.uuid4(), customer_id, agent_id, position, kind, target, created))
            links.extend((agent_id, tag_id) for tag_id in rng.sample(tag_ids, 3))
            history.append((agent_id, "", status, "seeded", created))
        with cursor.copy(
            "COPY agents_agent (id, customer_id, username, username_key, name, detail, ring_method, status,"
            " tm_status,"
            " permission, direct_hash, tm_create, password) FROM STDIN"
        ) as copy:
            for row in agents:
                copy.write_row(row)
        with cursor.copy(
            "COPY agents_address (id, customer_id, agent_id, position, type, target, tm_create,"
            " target_name, name, detail) FROM STDIN"
        ) as copy:
            for row in addresses:
                copy.write_row((*row, "", "", ""))
        with cursor.copy("COPY tags_agenttag (agent_id, tag_id) FROM STDIN") as copy:
            for row in links:
                copy.write_row(row)
        with cursor.copy(
            "COPY agents_agentstatuschange (agent_id, from_status, to_status, reason, tm_create) FROM STDIN"
        ) as copy:
            for row in history:
                copy.write_row(row)

    # --- in-process measurements ----------------------------------------------------------------

    def _measured_customer(self) -> tuple[Customer, Agent]:
        # The newest customer: its rows are the last ones written, the hardest case for caches.
        customer = Customer.objects.order_by("-tm_create").first()
        admin = Agent.objects.get(customer=customer, permission=32)
        return customer, admin

    def _time(self, name: str, call, requests: int, expected_status: int | None = None) -> Figure:
        figure = Figure(name)
        for _ in range(5):
            call()
        with CaptureQueriesContext(connection) as captured:
            response = call()
        if response.status_code != expected_status if expected_status else response.status_code >= 400:
            raise CommandError(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
        figure.queries = sum(not _is_transaction_control(query["sql"]) for query in captured.captured_queries)
        for _ in range(requests):
            started = time.perf_counter()
            call()
            figure.samples_ms.append((time.perf_counter() - started) * 1000)
        return figure

    def _measure(self, *, requests: int) -> dict:
        customer, admin = self._measured_customer()
        _, token = login_token_create(username=admin.username, password=BENCH_PASSWORD)
        # As in production, behind a TLS-terminating proxy.
        behind_tls = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "localhost"}
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", **behind_tls)
        console = Client(**behind_tls)
        console.force_login(admin)
        agents = list(
            Agent.objects.filter(customer=customer, permission=16).order_by("-tm_create", "-id")[:50]
        )
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
            return api.put(
                f"/v1.0/agents/{agent.id}/status", {"status": status}, content_type="application/json"
            )

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
            self._time("list first page", lambda: api.get("/v1.0/agents", {"page_size": 100}), requests),
            self._time(
                "list deep page",
                lambda: api.get("/v1.0/agents", {"page_size": 100, "page_token": page_token}),
                requests,
            ),
            self._time(
                "list status+tag_ids",
                lambda: api.get(
                    "/v1.0/agents", {"page_size": 100, "status": "available", "tag_ids": tag_filter}
                ),
                requests,
            ),
            self._time("get agent", lambda: api.get(f"/v1.0/agents/{agents[0].id}"), requests),
            self._time("put status", put_status, requests),
            self._time("put addresses", put_addresses, requests),
        ]
        for label, url_name in (
            ("console board", "console:board"),
            ("console agents list", "console:agent_list"),
        ):
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            figures.append(self._time(label, lambda url=url: console.get(url), max(20, requests // 4)))

        # The stack alone (refused before any SQL): how fast the machine itself is at this size,
        # to tell a figure that grew with the data from a slow spell of the machine.
        request_log = logging.getLogger("django.request")
        level = request_log.level
        request_log.setLevel(logging.ERROR)  # not one warning per 401
        try:
            stack = self._time(
                "baseline (401, no SQL)", lambda: anonymous.get("/v1.0/agents"), requests, expected_status=401
            )
        finally:
            request_log.setLevel(level)
        floor = self._floor(customer.id, requests)
        out: dict = {}
        for figure in [*figures, floor, stack]:
            out[figure.name] = {
                "median_ms": round(figure.median, 2),
                "p95_ms": round(figure.p95, 2),
                "queries": figure.queries,
            }
        out["ratio list/floor"] = round(figures[0].median / floor.median, 2)
        return out

    def _floor(self, customer_id, requests: int) -> Figure:
        """The same first page from one hand-written query, built into the same JSON body. psycopg
        prepares it from its 5th run, as the app's statements are (settings, DB_PREPARED_STATEMENTS),
        and the warm-up runs 5."""
        conninfo = self._conninfo()
        figure = Figure("floor (psycopg+json)", queries=1)
        with psycopg.connect(conninfo, autocommit=True) as conn:

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

    def _conninfo(self) -> str:
        db = settings.DATABASES["default"]
        parts = {
            "dbname": db["NAME"],
            "user": db.get("USER") or "",
            "password": db.get("PASSWORD") or "",
            "host": db.get("HOST") or "",
            "port": str(db.get("PORT") or ""),
        }
        return " ".join(f"{key}={value}" for key, value in parts.items() if value)

    # --- concurrent load against gunicorn ------------------------------------------------------------

    def _load(self, options) -> dict:
        if shutil.which("wrk") is None:
            raise CommandError("wrk is needed for the load runs (apt-get install wrk), or pass --no-load.")
        customer, admin = self._measured_customer()
        _, token = login_token_create(username=admin.username, password=BENCH_PASSWORD)
        agent_ids = [
            str(pk)
            for pk in Agent.objects.filter(customer=customer, permission=16).values_list("id", flat=True)[
                :500
            ]
        ]
        port = _free_port()
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "WEB_CONCURRENCY": str(options["workers"]),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "GUNICORN_ACCESS_LOG": "",
            "LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "voipbin_admin/gunicorn_conf.py", "voipbin_admin.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port)
            with tempfile.TemporaryDirectory() as folder:
                status_script = Path(folder, "status.lua")
                status_script.write_text(_wrk_status_script(agent_ids, token))
                list_script = Path(folder, "list.lua")
                list_script.write_text(_wrk_list_script(token))
                baseline_script = Path(folder, "baseline.lua")
                baseline_script.write_text(_wrk_baseline_script())
                runs = (
                    ("load baseline (401, no SQL)", baseline_script),
                    ("load put status", status_script),
                    ("load list", list_script),
                )
                # Interleaved rounds, so that a slow spell of the machine hits every figure alike.
                samples: dict[str, list[dict]] = {label: [] for label, _ in runs}
                for _ in range(options["load_runs"]):
                    for label, script in runs:
                        if script is status_script:
                            Agent.objects.filter(id__in=agent_ids).update(status="offline")
                        _vacuum()
                        samples[label].append(_run_wrk(port, script, options))
                out = {label: _median_run(runs_of_label) for label, runs_of_label in samples.items()}
                out["load setup"] = (
                    f"gunicorn {options['workers']} sync workers; wrk 1 thread, "
                    f"{options['load_connections']} connections, median of {options['load_runs']}"
                    f" runs of {options['load_seconds']} s"
                )
                return out
        finally:
            server.terminate()
            server.wait(timeout=30)
            LoginToken.objects.filter(agent=admin).delete()

    # --- report ----------------------------------------------------------------------------------

    def _print_table(self, results: list[dict]):
        names = [key for key, value in results[0].items() if isinstance(value, dict) and "median_ms" in value]
        header = f"{'figure':28}" + "".join(f"{r['agents']:>26,}" for r in results) + f"{'100k/1k':>10}"
        self.stdout.write("")
        self.stdout.write(
            "latency median / p95 ms (SQL queries per request, BEGIN/COMMIT not counted), by agents"
        )
        self.stdout.write(header)
        for name in names:
            cells = ""
            for r in results:
                fig = r[name]
                cells += f"{fig['median_ms']:>9.2f} /{fig['p95_ms']:>8.2f} ({fig['queries']:>2}q)"
            growth = results[-1][name]["median_ms"] / results[0][name]["median_ms"]
            self.stdout.write(f"{name:28}{cells}{growth:>9.2f}x")
        self.stdout.write(
            f"{'ratio list/floor':28}" + "".join(f"{r['ratio list/floor']:>25.2f}x" for r in results)
        )
        if "load put status" in results[0]:
            self.stdout.write("")
            self.stdout.write(f"throughput under load ({results[0]['load setup']})")
            self.stdout.write(f"{'':28}" + "".join(f"{r['agents']:>33,}" for r in results))
            for label in ("load baseline (401, no SQL)", "load put status", "load list"):
                cells = "".join(
                    f"{r[label]['requests_per_s']:>12.0f} req/s p99 {r[label]['p99']:>8}" for r in results
                )
                errors = sum(r[label]["non_2xx"] for r in results)
                note = "(401 by design)" if label.startswith("load baseline") else f"non-2xx: {errors}"
                self.stdout.write(f"{label:28}{cells}   {note}")
            for label in ("load put status", "load list"):
                baseline = "load baseline (401, no SQL)"
                cells = "".join(
                    f"{r[label]['requests_per_s'] / r[baseline]['requests_per_s']:>32.2f}x" for r in results
                )
                self.stdout.write(f"{label[5:] + ' / baseline':28}{cells}")
            self.stdout.write("each run, req/s:")
            for r in results:
                for label in ("load baseline (401, no SQL)", "load put status", "load list"):
                    runs = ", ".join(f"{rate:.0f}" for rate in r[label]["runs_requests_per_s"])
                    self.stdout.write(f"  {r['agents']:>7,} agents, {label[5:]}: {runs}")


def _is_transaction_control(sql: str) -> bool:
    """BEGIN/COMMIT/SAVEPOINT: counted apart from the queries that read or write data."""
    return sql.split(None, 1)[0].upper() in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def _vacuum():
    """Clear the dead rows that status writes leave, as autovacuum would in production (some
    servers, such as this project's CI machine, run with autovacuum off)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE agents_agent, agents_address, agents_agentstatuschange, agents_agentevent"
        )


def _median_run(runs: list[dict]) -> dict:
    by_rate = sorted(runs, key=lambda run: run["requests_per_s"])
    middle = dict(by_rate[len(by_rate) // 2])
    middle["runs_requests_per_s"] = [run["requests_per_s"] for run in runs]
    middle["non_2xx"] = sum(run["non_2xx"] for run in runs)
    return middle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandError("gunicorn did not start")


def _wrk_status_script(agent_ids: list[str], token: str) -> str:
    """PUT status over the (offline) agents in turn, each pass moving every agent to the next of
    four other statuses: every request is a real change, with its history and event rows."""
    ids = ",".join(f'"{agent_id}"' for agent_id in agent_ids)
    return f"""
local ids = {{{ids}}}
local statuses = {{"available", "away", "busy", "ringing"}}
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
local sent = 0
request = function()
  local id = ids[sent % #ids + 1]
  local status = statuses[math.floor(sent / #ids) % #statuses + 1]
  sent = sent + 1
  return wrk.format("PUT", "/v1.0/agents/" .. id .. "/status", headers, '{{"status":"' .. status .. '"}}')
end
"""


def _wrk_list_script(token: str) -> str:
    return f"""
local headers = {{["Authorization"] = "Bearer {token}"}}
request = function()
  return wrk.format("GET", "/v1.0/agents?page_size=100", headers)
end
"""


def _wrk_baseline_script() -> str:
    """The stack's own ceiling on this machine: an API request refused before any SQL (no
    credential), through the same server, middleware and DRF."""
    return """
request = function()
  return wrk.format("GET", "/v1.0/agents?page_size=100")
end
"""


def _run_wrk(port: int, script: Path, options) -> dict:
    command = [
        "wrk", "-t1", f"-c{options['load_connections']}", f"-d{options['load_seconds']}s",
        "--latency", "-s", str(script), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests_per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    p99 = re.search(r"99%\s+(\S+)", output)
    return {
        "requests_per_s": requests_per_s,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p99": p99.group(1) if p99 else "?",
    }
