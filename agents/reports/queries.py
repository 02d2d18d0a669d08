# ruff: noqa: S608 (the SQL is built from fixed fragments; every value is a parameter)
"""The reports' SQL: time in status computed in the database from the status history.

Each agent's changes are turned into intervals with a window function (`LEAD` over the agent's
history ordered by time: an interval runs from one change to the next), then clipped to the
time the agent existed inside the range and to the buckets, which arrive as a `VALUES` list of
UTC boundaries computed in Python (`periods.py`). The database returns sums per agent, bucket
and status, never the history rows. The same text runs on PostgreSQL and SQLite; only the
duration of an interval and the type of a parameter in `VALUES` are spelled per database.

What is counted, for the selected agents of one customer over [start, stop) (`stop` is already
the earlier of the range's end and now):

- an agent counts from the later of its creation and `start` to the earlier of its deletion and
  `stop` (`live_from`, `live_to`);
- its status at `live_from` is the one set by its last change at or before that moment (found
  through the history index, `status_change_agent_time_idx`), so only the changes inside the
  range and one before it are read;
- a change exactly on a boundary belongs to the bucket that starts there;
- `changes` counts the changes inside a bucket, not the entry that records an agent's creation
  (its `from_status` is empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from uuid import UUID

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from agents.models import Agent
from agents.query_expressions import db_param
from agents.reports.periods import Bucket


def _fetch_all(*statements: tuple[str, dict]) -> list[list[tuple]]:
    """Run the statements in one transaction and return their rows.

    On PostgreSQL without JIT compilation: the planner takes `generate_series` for 1,000 rows
    per interval, so the estimated cost of a report passes `jit_above_cost`, and compiling took
    0.9 s of a day report that runs in 0.1 s (measured on the benchmark's data)."""
    results = []
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic() if postgresql else nullcontext(), connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET LOCAL jit = off")
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
    return results


def _timestamp(value: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _duration(later: str, earlier: str) -> str:
    """SQL for the time from `earlier` to `later`, to be summed with `_seconds_of_sum`. On
    PostgreSQL an interval (summing intervals is integer arithmetic; the seconds as `numeric`
    per row cost a third of a 31-day report), on SQLite microseconds through Django's own
    function (what the ORM uses for a datetime subtraction). Both exact."""
    if connection.vendor == "postgresql":
        return f"(({later}) - ({earlier}))"
    return f"django_timestamp_diff({later}, {earlier})"


def _seconds_of_sum(column: str) -> str:
    """The seconds of a summed `_duration` column (PostgreSQL: as float8, which psycopg answers
    as a float; exact to the microsecond for sums under 10**9 s, and no Decimal per row)."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM SUM({column}))::float8"
    return f"(SUM({column}) / 1000000.0)"


def _zero_duration() -> str:
    return "INTERVAL '0'" if connection.vendor == "postgresql" else "0"


def _greatest(*terms: str) -> str:
    return (
        f"GREATEST({', '.join(terms)})" if connection.vendor == "postgresql" else f"MAX({', '.join(terms)})"
    )


def _selection(
    customer_id: UUID,
    agent_ids: Sequence[UUID] | None,
    tag_ids: Sequence[UUID] | None,
    start: datetime,
    stop: datetime,
    params: dict,
    *,
    with_actor: bool = False,
) -> str:
    """The CTEs `sel` (the agents and the time each counts for) and `intervals` (each change's
    interval, clipped to that time). Adds its parameters to `params`."""
    params.update(
        customer=db_param(Agent, "customer", customer_id),
        start=_timestamp(start),
        stop=_timestamp(stop),
    )
    cast = "::timestamptz" if connection.vendor == "postgresql" else ""
    filters = []
    if agent_ids is not None:
        names = []
        for index, agent_id in enumerate(agent_ids):
            params[f"agent_{index}"] = db_param(Agent, "id", agent_id)
            names.append(f"%(agent_{index})s")
        filters.append(f"AND a.id IN ({', '.join(names) or 'NULL'})")
    if tag_ids is not None:
        names = []
        for index, tag_id in enumerate(tag_ids):
            params[f"tag_{index}"] = db_param(Agent, "id", tag_id)  # a UUID column like the agent's
            names.append(f"%(tag_{index})s")
        filters.append(
            "AND EXISTS (SELECT 1 FROM tags_agenttag t WHERE t.agent_id = a.id "
            f"AND t.tag_id IN ({', '.join(names) or 'NULL'}))"
        )
    return f"""
    sel AS (
        SELECT a.id AS agent_id,
               CASE WHEN a.tm_create > %(start)s{cast} THEN a.tm_create ELSE %(start)s{cast} END AS live_from,
               CASE WHEN a.tm_delete IS NOT NULL AND a.tm_delete < %(stop)s{cast}
                    THEN a.tm_delete ELSE %(stop)s{cast} END AS live_to
        FROM agents_agent a
        WHERE a.customer_id = %(customer)s
          AND a.tm_create < %(stop)s{cast}
          AND (a.tm_delete IS NULL OR a.tm_delete > %(start)s{cast})
          {" ".join(filters)}
    ),
    {_intervals(with_actor)}"""


def _intervals(with_actor: bool) -> str:
    """The CTE `intervals`: each change of a selected agent from its last one at or before
    `live_from` to `live_to`, with its interval [s, e) clipped to that time.

    On PostgreSQL the window runs per agent inside a LATERAL subquery, so each agent's changes
    come from the history index already in order (no sort of the whole range); SQLite has no
    LATERAL and partitions one window by agent instead: the same rows."""
    actor = ", h.changed_by_agent_id, h.changed_by_access_key_id" if with_actor else ""
    actor_out = ", c.changed_by_agent_id, c.changed_by_access_key_id" if with_actor else ""
    since = """h.tm_create < sel.live_to
              AND h.tm_create >= COALESCE(
                    (SELECT MAX(p.tm_create) FROM agents_agentstatuschange p
                     WHERE p.agent_id = sel.agent_id AND p.tm_create <= sel.live_from),
                    sel.live_from)"""
    clipped = f"""{_greatest("c.changed_at", "sel.live_from")} AS s,
               CASE WHEN c.next_at IS NOT NULL AND c.next_at < sel.live_to
                    THEN c.next_at ELSE sel.live_to END AS e"""
    if connection.vendor == "postgresql":
        return f"""intervals AS (
        SELECT sel.agent_id, c.id, c.changed_at, c.status, c.reason, c.from_status, sel.live_from{actor_out},
               {clipped}
        FROM sel CROSS JOIN LATERAL (
            SELECT h.id, h.tm_create AS changed_at, h.to_status AS status, h.reason, h.from_status{actor},
                   LEAD(h.tm_create) OVER (ORDER BY h.tm_create, h.id) AS next_at
            FROM agents_agentstatuschange h
            WHERE h.agent_id = sel.agent_id AND {since}
        ) c
    )"""
    return f"""changes AS (
        SELECT h.agent_id, h.id, h.tm_create AS changed_at, h.to_status AS status, h.reason,
               h.from_status{actor},
               LEAD(h.tm_create) OVER (PARTITION BY h.agent_id ORDER BY h.tm_create, h.id) AS next_at
        FROM sel
        JOIN agents_agentstatuschange h ON h.agent_id = sel.agent_id
        WHERE {since}
    ),
    intervals AS (
        SELECT c.agent_id, c.id, c.changed_at, c.status, c.reason, c.from_status, sel.live_from{actor_out},
               {clipped}
        FROM changes c JOIN sel ON sel.agent_id = c.agent_id
    )"""


def _pieces(buckets: Sequence[Bucket], params: dict) -> str:
    """The CTE `pieces`: each interval cut at the buckets' boundaries (`idx` 0-based), with its
    seconds and whether its change happened inside the bucket. An interval meets every bucket
    from the one holding its start to the one holding its end, so one that ends exactly where a
    bucket starts meets it with 0 seconds, and a change on a boundary belongs to the new bucket.

    PostgreSQL finds an interval's buckets by binary search in the array of boundaries
    (`width_bucket`), so the cost does not grow with the number of buckets; SQLite joins a
    `VALUES` list of them."""
    seconds = "CASE WHEN {end} > {start} THEN {duration} ELSE " + _zero_duration() + " END"
    counted = (
        "CASE WHEN i.changed_at >= {b0} AND i.changed_at < {b1} AND i.changed_at >= i.live_from "
        "AND i.from_status <> '' THEN 1 ELSE 0 END"
    )
    if len(buckets) == 1:
        # One bucket is the whole range, to which the intervals are already clipped.
        return f"""pieces AS (
        SELECT i.agent_id, 0 AS idx, i.status,
               CASE WHEN i.status = 'away' THEN i.reason ELSE '' END AS away_reason,
               {seconds.format(end="i.e", start="i.s", duration=_duration("i.e", "i.s"))} AS seconds,
               CASE WHEN i.changed_at >= i.live_from AND i.from_status <> '' THEN 1 ELSE 0 END AS changes
        FROM intervals i
    )"""
    if connection.vendor == "postgresql":
        params["edges"] = [bucket.start for bucket in buckets] + [buckets[-1].end]
        params["buckets"] = len(buckets)
        b0, b1 = "(%(edges)s::timestamptz[])[k]", "(%(edges)s::timestamptz[])[k + 1]"
        start, end = f"GREATEST(i.s, {b0})", f"LEAST(i.e, {b1})"
        return f"""pieces AS (
        SELECT i.agent_id, k - 1 AS idx, i.status,
               CASE WHEN i.status = 'away' THEN i.reason ELSE '' END AS away_reason,
               {seconds.format(end=end, start=start, duration=_duration(end, start))} AS seconds,
               {counted.format(b0=b0, b1=b1)} AS changes
        FROM intervals i CROSS JOIN LATERAL generate_series(
            GREATEST(width_bucket(i.s, %(edges)s::timestamptz[]), 1),
            LEAST(width_bucket(i.e, %(edges)s::timestamptz[]), %(buckets)s)) AS k
    )"""
    rows = []
    for index, bucket in enumerate(buckets):
        params[f"b0_{index}"], params[f"b1_{index}"] = _timestamp(bucket.start), _timestamp(bucket.end)
        rows.append(f"({index}, %(b0_{index})s, %(b1_{index})s)")
    start, end = "MAX(i.s, b.b0)", "MIN(i.e, b.b1)"
    return f"""buckets (idx, b0, b1) AS (VALUES {", ".join(rows)}),
    pieces AS (
        SELECT i.agent_id, b.idx, i.status,
               CASE WHEN i.status = 'away' THEN i.reason ELSE '' END AS away_reason,
               {seconds.format(end=end, start=start, duration=_duration(end, start))} AS seconds,
               {counted.format(b0="b.b0", b1="b.b1")} AS changes
        FROM intervals i JOIN buckets b ON b.b0 <= i.e AND b.b1 > i.s
    )"""


def status_seconds(
    *,
    customer_id: UUID,
    agent_ids: Sequence[UUID] | None,
    tag_ids: Sequence[UUID] | None,
    start: datetime,
    stop: datetime,
    buckets: Sequence[Bucket],
) -> list[tuple]:
    """Rows `(agent_id, bucket index, status, away reason, seconds, changes)`: the time each
    selected agent spent in each status (and for `away`, per reason) in each bucket."""
    params: dict = {}
    sql = f"""WITH {_selection(customer_id, agent_ids, tag_ids, start, stop, params)},
    {_pieces(buckets, params)}
    SELECT agent_id, idx, status, away_reason, {_seconds_of_sum("seconds")}, SUM(changes)
    FROM pieces
    GROUP BY agent_id, idx, status, away_reason"""
    [rows] = _fetch_all((sql, params))
    return rows


def status_seconds_by_bucket(
    *,
    customer_id: UUID,
    tag_ids: Sequence[UUID] | None,
    start: datetime,
    stop: datetime,
    buckets: Sequence[Bucket],
) -> tuple[list[tuple], list[tuple]]:
    """The staffing curve's sums: rows `(bucket index, status, seconds)` over all selected
    agents, and `(bucket index, tag id, seconds available)` per tag of the customer (the
    agents' current tags)."""
    params: dict = {}
    prefix = f"""WITH {_selection(customer_id, None, tag_ids, start, stop, params)},
    {_pieces(buckets, params)}"""
    by_status = f"""{prefix}
    SELECT idx, status, {_seconds_of_sum("seconds")} FROM pieces GROUP BY idx, status"""
    by_tag = f"""{prefix}
    SELECT p.idx, t.tag_id, {_seconds_of_sum("p.seconds")}
    FROM pieces p JOIN tags_agenttag t ON t.agent_id = p.agent_id
    WHERE p.status = 'available'
    GROUP BY p.idx, t.tag_id"""
    statuses, tags = _fetch_all((by_status, params), (by_tag, params))
    return statuses, tags


def timeline_intervals(
    *,
    customer_id: UUID,
    agent_ids: Sequence[UUID] | None,
    tag_ids: Sequence[UUID] | None,
    start: datetime,
    stop: datetime,
) -> list[tuple]:
    """Rows `(agent_id, status, start, end, reason, changed_at, from_status, changed_by_agent_id,
    changed_by username, changed_by_access_key_id, access key name or prefix)`: every interval
    of the selected agents inside [start, stop), oldest first per agent (zero-length ones left
    out)."""
    params: dict = {}
    selection = _selection(customer_id, agent_ids, tag_ids, start, stop, params, with_actor=True)
    sql = f"""WITH {selection}
    SELECT i.agent_id, i.status, i.s, i.e, i.reason, i.changed_at, i.from_status,
           i.changed_by_agent_id, actor.username, i.changed_by_access_key_id,
           COALESCE(NULLIF(k.name, ''), k.token_prefix)
    FROM intervals i
    LEFT JOIN agents_agent actor ON actor.id = i.changed_by_agent_id
    LEFT JOIN agents_accesskey k ON k.id = i.changed_by_access_key_id
    WHERE i.e > i.s
    ORDER BY i.agent_id, i.s, i.id"""
    [rows] = _fetch_all((sql, params))
    if connection.vendor == "postgresql":
        return rows
    # SQLite answers text (naive UTC, as Django stores it): the same values as the ORM gives.
    return [
        (row[0], row[1], _aware(row[2]), _aware(row[3]), row[4], _aware(row[5]), *row[6:]) for row in rows
    ]


def _aware(value: str | datetime) -> datetime:
    """A column (which sqlite3 converts by its declared type) or an expression (text)."""
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    assert moment is not None, value
    return moment.replace(tzinfo=UTC)
