# ruff: noqa: S608 (the floors are fixed SQL text; every value is a parameter)
"""The reports' figures (`manage.py benchmark --reports`, issue 15).

Seeds one customer (time zone Europe/Berlin) with `agents` agents, each with `changes` status
changes a day for `days` days up to yesterday (1,000 x 30 x 92: about 2.8 million history
rows), written by one `INSERT ... SELECT` over `generate_series` per day of data (no ORM, no
rows in Python). A working day is the same shape for everyone, shifted per agent: a shift
starts at about 07:00, calls ring and are answered, there are breaks, lunch and coaching with
reasons, and the shift ends offline.

Then it times, median and p95 over `repeats` runs each, the selectors the doors call (the
API and the console add their rendering, timed too): the day report of the whole customer, the
31-day report (totals, as the console shows it, and by day, as the API answers it), the
timeline and the staffing curve of one day; and for each a *floor*: the same numbers from one
hand-written SQL query, written for PostgreSQL alone, run in turns with the selector (the
machine is shared). The floors' results are compared with the selectors' so that the floor
measures the same work.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.test import Client

from agents.models import Agent, Customer
from agents.reports import periods, selectors
from agents.services import login_token_create
from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.seeding import BENCH_PASSWORD, BENCH_PREFIX, wipe

ZONE = "Europe/Berlin"
TAGS = 10

# One working day: the status after each of the 30 changes and its reason (the reason of an
# `away` change varies by agent, so the report's top 10 has more than 10 to choose from).
DAY_PATTERN = [
    "available", "ringing", "busy", "available", "ringing", "busy", "available", "away", "available",
    "ringing", "busy", "available", "ringing", "busy", "available", "away", "available", "ringing",
    "busy", "available", "ringing", "busy", "available", "away", "available", "ringing", "busy",
    "available", "away", "offline",
]  # fmt: skip
AWAY_REASONS = {7: "Break", 15: "Lunch", 28: "Break"}
VARIED_REASONS = ["Coaching", "Training", "Team meeting", "Paperwork", "Email", "Callback prep",
                  "IT problem", "Quality review", "One-on-one", "Sick", "Errand",
                  "Outbound list"]  # fmt: skip


def seed(*, agents: int, days: int, changes: int, write: Callable[[str], object]) -> Customer:
    """The reports' customer and its history (wipes the benchmark's tables first)."""
    if changes > len(DAY_PATTERN):
        raise BenchmarkError(f"At most {len(DAY_PATTERN)} changes a day.")
    wipe()
    zone = ZoneInfo(ZONE)
    today = datetime.now(UTC).astimezone(zone).date()
    first_day = today - timedelta(days=days)
    created = periods.local_midnight(first_day, zone) - timedelta(hours=1)
    customer_id = uuid.uuid4()
    pattern = [*DAY_PATTERN[: changes - 1], "offline"]
    reasons = [
        "shift start" if index == 0 else AWAY_REASONS.get(index, "%AGENT%" if status == "away" else "")
        for index, status in enumerate(pattern)
    ]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO agents_customer (id, name, detail, time_zone, tm_create)"
            " VALUES (%s, %s, '', %s, %s)",
            [customer_id, f"{BENCH_PREFIX}-reports", ZONE, created],
        )
        cursor.execute(
            """INSERT INTO tags_tag (id, customer_id, name, detail, tm_create)
               SELECT gen_random_uuid(), %s, 'skill-' || n, '', %s FROM generate_series(0, %s) n""",
            [customer_id, created, TAGS - 1],
        )
        # Agent 0 is the admin; everyone ends yesterday offline, as the pattern does.
        cursor.execute(
            """INSERT INTO agents_agent (id, customer_id, username, username_key, name, detail, ring_method,
                   status, tm_status, permission, direct_hash, tm_create, password)
               SELECT gen_random_uuid(), %(customer)s, %(prefix)s || '-r' || lpad(n::text, 4, '0'),
                      %(prefix)s || '-r' || lpad(n::text, 4, '0'), 'Agent ' || n, '', 'ringall',
                      'offline', %(created)s, CASE WHEN n = 0 THEN 32 ELSE 16 END,
                      substr(md5(random()::text), 1, 12), %(created)s, %(password)s
               FROM generate_series(0, %(last)s) n""",
            {
                "customer": customer_id,
                "prefix": BENCH_PREFIX,
                "created": created,
                "last": agents - 1,
                "password": _password_hash(),
            },
        )
        cursor.execute(
            """INSERT INTO tags_agenttag (agent_id, tag_id)
               SELECT a.id, t.id FROM agents_agent a JOIN tags_tag t ON t.customer_id = a.customer_id
               WHERE a.customer_id = %s AND abs(hashtext(a.id::text || t.id::text)) %% 10 < 3""",
            [customer_id],
        )
        cursor.execute(
            """INSERT INTO agents_agentstatuschange (agent_id, from_status, to_status, reason, tm_create)
               SELECT id, '', 'offline', 'created', tm_create FROM agents_agent WHERE customer_id = %s""",
            [customer_id],
        )
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            # Change k of the day at 07:00 local + k x 20 minutes + up to 19 minutes per agent.
            cursor.execute(
                """INSERT INTO agents_agentstatuschange (agent_id, from_status, to_status, reason, tm_create)
                   SELECT a.id,
                          CASE WHEN k = 1 THEN 'offline' ELSE (%(pattern)s::text[])[k - 1] END,
                          (%(pattern)s::text[])[k],
                          CASE WHEN (%(reasons)s::text[])[k] = '%%AGENT%%'
                               THEN (%(varied)s::text[])
                                    [1 + (abs(hashtext(a.id::text)) + %(offset)s) %% %(n_varied)s]
                               ELSE (%(reasons)s::text[])[k] END,
                          %(start)s::timestamptz + (k - 1) * interval '20 minutes'
                              + ((abs(hashtext(a.id::text || k::text || %(offset)s::text)) %% 1140000)
                                 / 1000.0) * interval '1 second'
                   FROM agents_agent a CROSS JOIN generate_series(1, %(changes)s) k
                   WHERE a.customer_id = %(customer)s
                   ORDER BY a.id, k""",
                {
                    "pattern": pattern,
                    "reasons": reasons,
                    "varied": VARIED_REASONS,
                    "n_varied": len(VARIED_REASONS),
                    "offset": offset,
                    "start": periods.local_midnight(day, zone) + timedelta(hours=7),
                    "changes": changes,
                    "customer": customer_id,
                },
            )
            if offset % 10 == 9:
                write(f"  history: {offset + 1} of {days} days")
        cursor.execute("VACUUM ANALYZE agents_agentstatuschange, agents_agent, tags_agenttag")
        cursor.execute(
            "SELECT count(*) FROM agents_agentstatuschange h JOIN agents_agent a ON a.id = h.agent_id"
            " WHERE a.customer_id = %s",
            [customer_id],
        )
        rows = cursor.fetchone()[0]
    write(f"seeded {agents:,} agents, {rows:,} history rows in {time.perf_counter() - started:.1f} s")
    return Customer.objects.get(pk=customer_id)


def _password_hash() -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(BENCH_PASSWORD)


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1), "runs": len(samples)}


def _timed(call: Callable[[], Any], repeats: int) -> tuple[dict, Any]:
    result = call()  # warm-up (and the result to compare)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return _summary(samples), result


# The floors: one query each, written by hand for PostgreSQL (the zone's days and slots from
# generate_series with AT TIME ZONE, so no boundaries come from Python), with the range as
# parameters. Every agent of the benchmark existed for the whole range, so they need not clip
# to creation and deletion as the selectors do.
_FLOOR_INTERVALS = """
    WITH iv AS (
        SELECT a.id AS agent_id, c.to_status, c.reason,
               GREATEST(c.tm_create, %(start)s) AS s, COALESCE(c.next_at, %(stop)s) AS e
        FROM agents_agent a CROSS JOIN LATERAL (
            SELECT h.tm_create, h.to_status, h.reason,
                   LEAD(h.tm_create) OVER (ORDER BY h.tm_create, h.id) AS next_at
            FROM agents_agentstatuschange h
            WHERE h.agent_id = a.id AND h.tm_create < %(stop)s
              AND h.tm_create >= COALESCE((SELECT max(p.tm_create) FROM agents_agentstatuschange p
                                           WHERE p.agent_id = a.id AND p.tm_create <= %(start)s), %(start)s)
        ) c
        WHERE a.customer_id = %(customer)s
    )"""
_FLOOR_PIECES = """, edges AS (
        SELECT array_agg(x ORDER BY x) AS at FROM ({edges}) t(x)
    ), pieces AS (
        SELECT iv.agent_id, iv.to_status, k,
               LEAST(iv.e, edges.at[k + 1]) - GREATEST(iv.s, edges.at[k]) AS spent
        FROM iv CROSS JOIN edges CROSS JOIN LATERAL generate_series(
            width_bucket(iv.s, edges.at),
            LEAST(width_bucket(iv.e, edges.at), array_length(edges.at, 1) - 1)) k
    )"""
FLOOR_TOTALS_SQL = (
    _FLOOR_INTERVALS
    + """
    SELECT agent_id, to_status, CASE WHEN to_status = 'away' THEN reason ELSE '' END,
           extract(epoch FROM sum(e - s))
    FROM iv GROUP BY 1, 2, 3"""
)
FLOOR_BY_DAY_SQL = (
    _FLOOR_INTERVALS
    + _FLOOR_PIECES.format(
        edges="SELECT d AT TIME ZONE %(zone)s FROM generate_series(%(start)s AT TIME ZONE %(zone)s, "
        "%(stop)s AT TIME ZONE %(zone)s, interval '1 day') d"
    )
    + """
    SELECT agent_id, k, to_status, extract(epoch FROM sum(spent)) FROM pieces GROUP BY 1, 2, 3"""
)
FLOOR_TIMELINE_SQL = (
    _FLOOR_INTERVALS
    + """
    SELECT agent_id, to_status, s, e, reason FROM iv WHERE e > s ORDER BY agent_id, s"""
)
FLOOR_CURVE_SQL = (
    _FLOOR_INTERVALS
    + _FLOOR_PIECES.format(
        edges="SELECT generate_series(%(start)s::timestamptz, %(stop)s::timestamptz, interval '15 minutes')"
    )
    + """
    SELECT k, to_status, extract(epoch FROM sum(spent)) / 900 FROM pieces GROUP BY 1, 2"""
)


def _floor(sql: str, params: dict) -> Callable[[], list]:
    def call() -> list:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")  # as the selectors run (agents/reports/queries.py)
            cursor.execute(sql, params)
            return cursor.fetchall()

    return call


def _check(name: str, expected: float, got: float) -> None:
    if abs(expected - got) > max(1e-3, abs(expected) * 1e-9):
        raise BenchmarkError(f"{name}: the floor's total {got} differs from the selector's {expected}")


def measure_reports(customer: Customer, *, repeats: int, write: Callable[[str], object]) -> dict:
    """The figures (see the module docstring), as `{name: {"median_ms", "p95_ms", "runs"}}`."""
    zone = ZoneInfo(customer.time_zone)
    now = datetime.now(UTC)
    day = now.astimezone(zone).date() - timedelta(days=1)
    day_start, day_stop = periods.day_bounds(day, zone)
    month_start = periods.local_midnight(day - timedelta(days=30), zone)
    admin = Agent.objects.get(customer=customer, permission=32)
    _, token = login_token_create(username=admin.username, password=BENCH_PASSWORD)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="localhost")
    console = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="localhost")
    console.force_login(admin)
    figures: dict = {}

    def add(name: str, call: Callable[[], Any]) -> Any:
        figures[name], result = _timed(call, repeats)
        write(f"  {name}: {figures[name]['median_ms']} ms median")
        return result

    def add_with_floor(name: str, call: Callable[[], Any], floor_call: Callable[[], Any]) -> tuple[Any, Any]:
        """The selector and its floor, run in turns, so that both meet the same moments of a
        machine shared with other work."""
        result, floor_result = call(), floor_call()  # warm-up, and the results to compare
        samples: dict[str, list[float]] = {name: [], f"floor {name}": []}
        for _ in range(repeats):
            for label, each in ((name, call), (f"floor {name}", floor_call)):
                started = time.perf_counter()
                each()
                samples[label].append((time.perf_counter() - started) * 1000)
        for label, values in samples.items():
            figures[label] = _summary(values)
            write(f"  {label}: {figures[label]['median_ms']} ms median")
        return result, floor_result

    def report(start: datetime, interval: str) -> Callable[[], selectors.StatusReport]:
        return lambda: selectors.agent_status_report(
            customer=customer, start=start, stop=day_stop, interval=interval, now=now
        )

    day_report, floor = add_with_floor(
        "report, 1 day",
        report(day_start, "total"),
        _floor(FLOOR_TOTALS_SQL, _params(customer, day_start, day_stop)),
    )
    assert isinstance(day_report, selectors.StatusReport)
    _check("report, 1 day", day_report.totals.total_seconds, sum(float(row[3]) for row in floor))
    month, floor = add_with_floor(
        "report, 31 days",
        report(month_start, "total"),
        _floor(FLOOR_TOTALS_SQL, _params(customer, month_start, day_stop)),
    )
    assert isinstance(month, selectors.StatusReport)
    _check("report, 31 days", month.totals.total_seconds, sum(float(row[3]) for row in floor))
    by_day, floor = add_with_floor(
        "report, 31 days by day",
        report(month_start, "day"),
        _floor(FLOOR_BY_DAY_SQL, _params(customer, month_start, day_stop)),
    )
    assert isinstance(by_day, selectors.StatusReport)
    _check("report, 31 days by day", by_day.totals.total_seconds, sum(float(row[3]) for row in floor))
    timeline, floor = add_with_floor(
        "timeline, 1 day",
        lambda: selectors.agent_timeline(customer=customer, day=day, now=now),
        _floor(FLOOR_TIMELINE_SQL, _params(customer, day_start, day_stop)),
    )
    assert isinstance(timeline, selectors.Timeline)
    _check(
        "timeline",
        sum(segment.seconds for row in timeline.rows for segment in row.segments),
        sum((row[3] - row[2]).total_seconds() for row in floor),
    )
    curve, floor = add_with_floor(
        "curve, 1 day",
        lambda: selectors.staffing_curve(customer=customer, day=day, now=now),
        _floor(FLOOR_CURVE_SQL, _params(customer, day_start, day_stop)),
    )
    assert isinstance(curve, selectors.StaffingCurve)
    _check(
        "curve",
        sum(sum(counts) for counts in curve.counts.values()),
        sum(float(row[2]) for row in floor),
    )
    api_day = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    api_month = {"from": (day - timedelta(days=30)).isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    add("API report, 1 day", lambda: _ok(api.get("/v1.0/reports/agent_status", api_day)))
    add("API report, 31 days by day", lambda: _ok(api.get("/v1.0/reports/agent_status", api_month)))
    for name, path in [
        ("console report, 1 day", f"/reports/?start={day}&end={day}"),
        ("console timeline, 1 day (50 agents a page)", f"/reports/timeline/?day={day}"),
        ("console curve, 1 day", f"/reports/curve/?day={day}"),
    ]:
        try:
            add(name, _page(console, path))
        except Exception as error:  # a page that fails is reported; the figures above stand
            write(f"  {name}: failed ({type(error).__name__}: {error})")
    figures["rows"] = {"agents": len(day_report.rows), "day": str(day)}
    return figures


def _page(client: Client, path: str) -> Callable[[], Any]:
    return lambda: _ok(client.get(path))


def _ok(response):
    if response.status_code != 200:
        raise BenchmarkError(f"HTTP {response.status_code}: {response.content[:300]!r}")
    return response


def _params(customer: Customer, start: datetime, stop: datetime) -> dict:
    return {"customer": customer.pk, "start": start, "stop": stop, "zone": customer.time_zone}


def run_reports(
    *, agents: int, days: int, changes: int, repeats: int, write: Callable[[str], object], reuse: bool = False
) -> dict:
    """Seed (or with `reuse`, take the data an earlier run seeded) and measure."""
    customer = Customer.objects.filter(name=f"{BENCH_PREFIX}-reports").first() if reuse else None
    if customer is None:
        customer = seed(agents=agents, days=days, changes=changes, write=write)
    else:
        write("reusing the reports' data of an earlier run")
    return measure_reports(customer, repeats=repeats, write=write)


def reports_lines(figures: dict) -> list[str]:
    """The reports' table: median / p95 ms of each figure, and each against its floor."""
    lines = [
        "",
        f"reports, median / p95 ms ({figures['rows']['agents']:,} agents, day {figures['rows']['day']})",
    ]
    for name, figure in figures.items():
        if name == "rows" or name.startswith("floor "):
            continue
        floor = figures.get(f"floor {name}")
        against = ""
        if floor:
            ratio = figure["median_ms"] / floor["median_ms"]
            against = f"   floor {floor['median_ms']:>8.1f} / {floor['p95_ms']:>8.1f}   {ratio:.2f}x"
        lines.append(f"  {name:30}{figure['median_ms']:>9.1f} / {figure['p95_ms']:>8.1f}{against}")
    return lines


def today_in(zone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
