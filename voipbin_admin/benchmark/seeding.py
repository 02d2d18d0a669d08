"""The benchmark's data: written with COPY straight into the tables (PostgreSQL only)."""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from agents.models import Agent, Customer
from agents.usernames import fold_username

AGENTS_PER_CUSTOMER = 1000
TAGS_PER_CUSTOMER = 10
BENCH_PASSWORD = "bench-password"
BENCH_PREFIX = "bench"
STATUSES = ["available", "away", "busy", "offline", "ringing"]
STATUS_WEIGHTS = [40, 15, 25, 15, 5]


def wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE agents_agentevent, agents_agentstatuschange, agents_logintoken, agents_address,"
            " tags_agenttag, tags_tag, agents_accesskey, agents_agent, agents_customer,"
            " django_session CASCADE"
        )


def vacuum() -> None:
    """Clear the dead rows that status writes leave, as autovacuum would in production (some
    servers, such as this project's CI machine, run with autovacuum off)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE agents_agent, agents_address, agents_agentstatuschange, agents_agentevent"
        )


def measured_customer() -> tuple[Customer, Agent]:
    """The newest customer and its admin: its rows are the last ones written, the hardest case
    for caches."""
    customer = Customer.objects.order_by("-tm_create").first()
    admin = Agent.objects.get(customer=customer, permission=32)
    return customer, admin


@dataclass
class Seeder:
    """Adds whole customers until the database holds a given number of agents."""

    rng: random.Random
    password_hash: str
    agents_per_customer: int = AGENTS_PER_CUSTOMER

    def seed_up_to(self, size: int) -> None:
        have = Customer.objects.count()
        want = max(1, size // self.agents_per_customer)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            for index in range(have, want):
                self._seed_customer(cursor, index, base + timedelta(days=index))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def _seed_customer(self, cursor, index: int, start: datetime) -> None:
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
        for number in range(self.agents_per_customer):
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
