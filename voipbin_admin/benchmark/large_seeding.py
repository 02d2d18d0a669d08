"""The large customers' data (issue 16): one customer per size (1,000 to 1,000,000 agents), each
written by a few `INSERT ... SELECT` statements over `generate_series` (no row goes through
Python), in one transaction per customer. A customer already there is kept, so a database that
holds them is reused by the next run (`--large` never wipes).

Each agent: 3 addresses, 3 of its customer's 10 tags, one history row; every 50 agents share
one `tm_create` (as in `seeding.py`), statuses in the same proportions as there.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from agents.models import Agent, Customer
from voipbin_admin.benchmark.seeding import BENCH_PREFIX, TAGS_PER_CUSTOMER

LARGE_PREFIX = f"{BENCH_PREFIX}-large-"


def customer_name(size: int) -> str:
    return f"{LARGE_PREFIX}{size}"


def username_prefix(size: int) -> str:
    # Lower-case ASCII: the folded key (agents/usernames.py) is the username itself.
    return f"l{size}-"


_AGENTS_SQL = """
INSERT INTO agents_agent (id, customer_id, username, username_key, name, detail, ring_method, status,
                          tm_status, permission, direct_hash, tm_create, password)
SELECT gen_random_uuid(), %(customer)s,
       %(prefix)s || lpad(n::text, 7, '0'), %(prefix)s || lpad(n::text, 7, '0'),
       'Agent ' || %(size)s || '-' || n, CASE WHEN n %% 7 = 0 THEN 'night shift ' || (n %% 13) ELSE '' END,
       'ringall',
       CASE WHEN (n * 7919) %% 100 < 40 THEN 'available' WHEN (n * 7919) %% 100 < 55 THEN 'away'
            WHEN (n * 7919) %% 100 < 80 THEN 'busy' WHEN (n * 7919) %% 100 < 95 THEN 'offline'
            ELSE 'ringing' END,
       %(start)s + (n / 50) * interval '1 second' - (n %% 600) * interval '1 second',
       CASE WHEN n = 0 THEN 32 ELSE 16 END,
       substr(md5(%(customer)s::text || n), 1, 12),
       %(start)s + (n / 50) * interval '1 second', %(password)s
FROM generate_series(0::bigint, %(count)s - 1) AS n
"""

_ADDRESSES_SQL = """
INSERT INTO agents_address (id, customer_id, agent_id, position, type, target, tm_create,
                            target_name, name, detail)
SELECT gen_random_uuid(), a.customer_id, a.id, p.position, p.type,
       CASE p.type WHEN 'tel' THEN '+1202' || lpad(substr(a.username, %(cut)s), 7, '0')
                   WHEN 'extension' THEN '9' || substr(a.username, %(cut)s)
                   ELSE a.username || '@bench.example.com' END,
       a.tm_create, '', '', ''
FROM agents_agent a
CROSS JOIN (VALUES (0, 'tel'), (1, 'extension'), (2, 'sip')) AS p(position, type)
WHERE a.customer_id = %(customer)s
"""

_TAG_LINKS_SQL = """
INSERT INTO tags_agenttag (agent_id, tag_id)
SELECT a.id, t.id
FROM (SELECT id, substr(username, %(cut)s)::int AS n FROM agents_agent WHERE customer_id = %(customer)s) a
JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM tags_tag WHERE customer_id = %(customer)s) t
  ON t.k IN (a.n %% 10, (a.n + 3) %% 10, (a.n + 7) %% 10)
"""

_HISTORY_SQL = """
INSERT INTO agents_agentstatuschange (agent_id, from_status, to_status, reason, tm_create)
SELECT id, '', status, 'seeded', tm_create FROM agents_agent WHERE customer_id = %(customer)s
"""


def large_customer(size: int) -> Customer | None:
    """The size's customer when it holds its agents (a complete earlier seeding), else None."""
    customer = Customer.objects.filter(name=customer_name(size)).first()
    if customer is None:
        return None
    return customer if Agent.objects.filter(customer=customer).count() == size else None


def seed_large_customer(size: int, password_hash: str, write) -> Customer:
    """The customer of `size` agents, seeded now unless the database already holds it."""
    existing = large_customer(size)
    if existing is not None:
        write(f"large customer of {size:,} agents: already seeded, reused")
        return existing
    started = time.perf_counter()
    customer_id = uuid.uuid4()
    # Apart by size, so that each customer's rows sit together as a real customer's would not,
    # but every customer's newest agent is still far from the others'.
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=len(str(size)))
    params: dict[str, Any] = {
        "customer": customer_id,
        "size": size,
        "count": size,
        "prefix": username_prefix(size),
        "cut": len(username_prefix(size)) + 1,
        "start": start,
        "password": password_hash,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            "INSERT INTO agents_customer (id, name, detail, tm_create) VALUES (%s, %s, '', %s)",
            [customer_id, customer_name(size), start],
        )
        cursor.execute(
            "INSERT INTO tags_tag (id, customer_id, name, detail, tm_create)"
            " SELECT gen_random_uuid(), %s, 'skill-' || k, '', %s FROM generate_series(0, %s - 1) AS k",
            [customer_id, start, TAGS_PER_CUSTOMER],
        )
        for label, sql in (
            ("agents", _AGENTS_SQL),
            ("addresses", _ADDRESSES_SQL),
            ("tag links", _TAG_LINKS_SQL),
            ("history", _HISTORY_SQL),
        ):
            step = time.perf_counter()
            cursor.execute(sql, params)
            write(f"  {size:,}: {label} {cursor.rowcount:,} rows in {time.perf_counter() - step:.1f} s")
    with connection.cursor() as cursor:
        for table in (
            "agents_agent",
            "agents_address",
            "tags_agenttag",
            "agents_agentstatuschange",
            "tags_tag",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    write(f"large customer of {size:,} agents seeded in {time.perf_counter() - started:.1f} s")
    return Customer.objects.get(pk=customer_id)
