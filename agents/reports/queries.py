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
from datetime import datetime
from uuid import UUID

from django.db import connection

from agents.models import Agent
from agents.query_expressions import db_param
from agents.reports.periods import Bucket


def _timestamp(value: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _duration(later: str, earlier: str) -> str:
    """SQL for the seconds from `earlier` to `later` (exact to the microsecond)."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later}) - ({earlier}))"
    # Django's own SQLite function (what the ORM uses for a datetime subtraction): microseconds.
    return f"(django_timestamp_diff({later}, {earlier}) / 1000000.0)"


def _greatest(*terms: str) -> str:
    return (
        f"GREATEST({', '.join(terms)})" if connection.vendor == "postgresql" else f"MAX({', '.join(terms)})"
    )


def _least(*terms: str) -> str:
    return f"LEAST({', '.join(terms)})" if connection.vendor == "postgresql" else f"MIN({', '.join(terms)})"


def _selection(
    customer_id: UUID,
    agent_ids: Sequence[UUID] | None,
    tag_ids: Sequence[UUID] | None,
    start: datetime,
    stop: datetime,
    params: dict,
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
    changes AS (
        SELECT h.agent_id, h.id, h.tm_create AS changed_at, h.to_status AS status, h.reason,
               h.from_status,
               LEAD(h.tm_create) OVER (PARTITION BY h.agent_id ORDER BY h.tm_create, h.id) AS next_at
        FROM sel
        JOIN agents_agentstatuschange h ON h.agent_id = sel.agent_id
        WHERE h.tm_create < sel.live_to
          AND h.tm_create >= COALESCE(
                (SELECT MAX(p.tm_create) FROM agents_agentstatuschange p
                 WHERE p.agent_id = sel.agent_id AND p.tm_create <= sel.live_from),
                sel.live_from)
    ),
    intervals AS (
        SELECT c.agent_id, c.id, c.changed_at, c.status, c.reason, c.from_status, sel.live_from,
               {_greatest("c.changed_at", "sel.live_from")} AS s,
               CASE WHEN c.next_at IS NOT NULL AND c.next_at < sel.live_to
                    THEN c.next_at ELSE sel.live_to END AS e
        FROM changes c JOIN sel ON sel.agent_id = c.agent_id
    )"""


def _buckets_cte(buckets: Sequence[Bucket], params: dict) -> str:
    cast = "::timestamptz" if connection.vendor == "postgresql" else ""
    rows = []
    for index, bucket in enumerate(buckets):
        params[f"b0_{index}"], params[f"b1_{index}"] = _timestamp(bucket.start), _timestamp(bucket.end)
        rows.append(f"({index}, %(b0_{index})s{cast}, %(b1_{index})s{cast})")
    return f"buckets (idx, b0, b1) AS (VALUES {', '.join(rows)})"


def _pieces(buckets: Sequence[Bucket], params: dict) -> str:
    """The CTE `pieces`: each interval cut at the buckets' boundaries, with its seconds and
    whether its change happened inside the bucket. An interval that ends exactly where a bucket
    starts meets it with 0 seconds, so a change on a boundary is still counted."""
    piece_start, piece_end = _greatest("i.s", "b.b0"), _least("i.e", "b.b1")
    return f"""{_buckets_cte(buckets, params)},
    pieces AS (
        SELECT i.agent_id, b.idx, i.status,
               CASE WHEN i.status = 'away' THEN i.reason ELSE '' END AS away_reason,
               CASE WHEN {piece_end} > {piece_start} THEN {_duration(piece_end, piece_start)} ELSE 0 END
                   AS seconds,
               CASE WHEN i.changed_at >= b.b0 AND i.changed_at < b.b1 AND i.changed_at >= i.live_from
                         AND i.from_status <> '' THEN 1 ELSE 0 END AS changes
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
    SELECT agent_id, idx, status, away_reason, SUM(seconds), SUM(changes)
    FROM pieces
    GROUP BY agent_id, idx, status, away_reason"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
    SELECT idx, status, SUM(seconds) FROM pieces GROUP BY idx, status"""
    by_tag = f"""{prefix}
    SELECT p.idx, t.tag_id, SUM(p.seconds)
    FROM pieces p JOIN tags_agenttag t ON t.agent_id = p.agent_id
    WHERE p.status = 'available'
    GROUP BY p.idx, t.tag_id"""
    with connection.cursor() as cursor:
        cursor.execute(by_status, params)
        statuses = cursor.fetchall()
        cursor.execute(by_tag, params)
        tags = cursor.fetchall()
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
    sql = f"""WITH {_selection(customer_id, agent_ids, tag_ids, start, stop, params)}
    SELECT i.agent_id, i.status, i.s, i.e, i.reason, i.changed_at, i.from_status,
           h.changed_by_agent_id, actor.username, h.changed_by_access_key_id,
           COALESCE(NULLIF(k.name, ''), k.token_prefix)
    FROM intervals i
    JOIN agents_agentstatuschange h ON h.id = i.id
    LEFT JOIN agents_agent actor ON actor.id = h.changed_by_agent_id
    LEFT JOIN agents_accesskey k ON k.id = h.changed_by_access_key_id
    WHERE i.e > i.s
    ORDER BY i.agent_id, i.s, i.id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        return rows
    # SQLite answers text: the same values as the ORM would give.
    convert = connection.ops.convert_datetimefield_value
    return [
        (
            row[0],
            row[1],
            *(convert(value, None, connection) for value in (row[2], row[3])),
            row[4],
            convert(row[5], None, connection),
            *row[6:],
        )
        for row in rows
    ]
