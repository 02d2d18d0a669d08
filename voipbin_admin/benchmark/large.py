"""Large customers (issue 16, `manage.py benchmark --large`): the reads a supervisor or an API
client of one customer makes, at customers of 1,000 to 1,000,000 agents in one database.

One customer per size (`large_seeding.py`, reused when already there), plus the board's own
10,000-agent customer. The samples are interleaved: sample i of every figure at every size is
taken before sample i + 1 of any, so that a slow spell of the (shared) machine hits every size
alike; medians are reported with each size's ratio to the smallest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.models import Agent
from agents.selectors import console_page_token
from agents.services import login_token_create
from tags.models import Tag
from voipbin_admin.api.pagination import page_token_after
from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.large_seeding import seed_large_customer, username_prefix
from voipbin_admin.benchmark.latency import Figure, is_transaction_control
from voipbin_admin.benchmark.seeding import BENCH_PASSWORD
from voipbin_admin.timestamps import format_timestamp

#: The customer the board's render is measured at besides the smallest (the issue's target:
#: 150 ms at 10,000 agents).
BOARD_SIZES = (1000, 10000)

#: (figure, measured at every size?) in the order of the report.
READ_FIGURES = (
    "api list first page",
    "api list 9th page",
    "api list 80% deep",
    "api list status+tag_ids",
    "api get agent",
    "api q=<name>",
    "api username=<exact>",
    "console agents list",
    "console agents 80% deep",
    "console agents q",
    "console tags page",
    "console history (agent page)",
    "board poll 204",
)
BOARD_FIGURES = ("board render", "board render wall", "board live part")


def run_large(
    *, sizes: Iterable[int], requests: int, write: Callable[[str], object], board_sizes=BOARD_SIZES
) -> dict:
    sizes = sorted(set(sizes))
    board_sizes = sorted(set(board_sizes))
    password_hash = make_password(BENCH_PASSWORD)
    customers = {
        size: seed_large_customer(size, password_hash, write)
        for size in sorted(set(sizes) | set(board_sizes))
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE agents_agent, agents_address, tags_agenttag, agents_agentevent, agents_logintoken"
        )
    calls: dict[str, dict[int, Callable]] = {}
    for size, customer in customers.items():
        for name, call in _calls(customer, size).items():
            if name in BOARD_FIGURES and size not in board_sizes:
                continue
            if name not in BOARD_FIGURES and size not in sizes:
                continue
            calls.setdefault(name, {})[size] = call
    figures: dict[str, dict[int, Figure]] = {}
    for name, by_size in calls.items():
        for size, call in by_size.items():
            figure = Figure(name)
            for _ in range(3):
                call()
            with CaptureQueriesContext(connection) as captured:
                response = call()
            expected = 204 if name == "board poll 204" else 200
            if response.status_code != expected:
                raise BenchmarkError(
                    f"{name} at {size:,}: HTTP {response.status_code} {response.content[:300]!r}"
                )
            figure.queries = sum(not is_transaction_control(q["sql"]) for q in captured.captured_queries)
            figures.setdefault(name, {})[size] = figure
    write(f"measuring {requests} interleaved samples of {len(calls)} figures...")
    for sample in range(requests):
        for name, by_size in calls.items():
            if name in BOARD_FIGURES and sample >= max(20, requests // 4):
                continue
            for size, call in by_size.items():
                figures[name][size].samples_ms.append(_timed(call))
    return {
        "sizes": sizes,
        "board_sizes": board_sizes,
        "requests": requests,
        "figures": {
            name: {
                str(size): {"median_ms": round(f.median, 2), "p95_ms": round(f.p95, 2), "queries": f.queries}
                for size, f in by_size.items()
            }
            for name, by_size in figures.items()
        },
    }


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _calls(customer, size: int) -> dict[str, Callable]:
    admin = Agent.objects.get(customer=customer, username=f"{username_prefix(size)}0000000")
    _, token = login_token_create(username=admin.username, password=BENCH_PASSWORD)
    behind_tls: dict[str, Any] = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "localhost"}
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", **behind_tls)
    console = Client(**behind_tls)
    console.force_login(admin)
    newest = Agent.objects.filter(customer=customer, tm_delete__isnull=True).order_by("-tm_create", "-id")
    deep = newest[int(size * 0.8)]
    one = Agent.objects.get(customer=customer, username=f"{username_prefix(size)}{size // 2:07d}")
    tags = list(Tag.objects.filter(customer=customer).order_by("name")[:2])
    tag_filter = ",".join(str(tag.id) for tag in tags)
    page_token = ""
    for _ in range(8):
        page_token = api.get("/v1.0/agents", {"page_size": "100", "page_token": page_token}).json()[
            "next_page_token"
        ]
    deep_token = page_token_after({"tm_create": format_timestamp(deep.tm_create), "id": deep.id})
    console_deep = console_page_token(deep, ordering="-created")
    name = f"Agent {size}-{size // 3}"
    username = f"{username_prefix(size)}{size // 4:07d}".upper()  # any spelling: the folded key
    board_live = reverse("console:board_live")
    body = console.get(board_live).content.decode()
    version = body.split('name="v" value="', 1)[1].split('"', 1)[0]
    agent_list = reverse("console:agent_list")
    return {
        "api list first page": lambda: api.get("/v1.0/agents", {"page_size": "100"}),
        "api list 9th page": lambda: api.get("/v1.0/agents", {"page_size": "100", "page_token": page_token}),
        "api list 80% deep": lambda: api.get("/v1.0/agents", {"page_size": "100", "page_token": deep_token}),
        "api list status+tag_ids": lambda: api.get(
            "/v1.0/agents", {"page_size": "100", "status": "available", "tag_ids": tag_filter}
        ),
        "api get agent": lambda: api.get(f"/v1.0/agents/{one.id}"),
        "api q=<name>": lambda: api.get("/v1.0/agents", {"page_size": "100", "q": name}),
        "api username=<exact>": lambda: api.get("/v1.0/agents", {"page_size": "100", "username": username}),
        "console agents list": lambda: console.get(agent_list),
        "console agents 80% deep": lambda: console.get(agent_list, {"after": console_deep}),
        "console agents q": lambda: console.get(agent_list, {"q": name}),
        "console tags page": lambda: console.get(reverse("console:tag_list")),
        "console history (agent page)": lambda: console.get(reverse("console:agent_detail", args=[one.id])),
        "board poll 204": lambda: console.get(board_live, {"v": version}),
        "board render": lambda: console.get(reverse("console:board")),
        "board render wall": lambda: console.get(reverse("console:board"), {"wall": "1"}),
        "board live part": lambda: console.get(board_live),
    }


def large_lines(results: dict) -> list[str]:
    """The table: median / p95 ms (queries) per size, and each size's median against the
    smallest's."""
    sizes = sorted({int(size) for by_size in results["figures"].values() for size in by_size})
    first = sizes[0]
    labels = [
        f"{size // 1000:,}k/{first // 1000:,}k" if first >= 1000 else f"{size}/{first}" for size in sizes[1:]
    ]
    header = (
        f"{'figure':30}" + "".join(f"{size:>24,}" for size in sizes) + "".join(f"{x:>11}" for x in labels)
    )
    lines = [
        "",
        f"large customers: median / p95 ms (SQL queries), {results['requests']} interleaved samples"
        " (board figures a quarter of them), by agents in the customer",
        header,
    ]
    for name, by_size in results["figures"].items():
        cells = ""
        for size in sizes:
            fig = by_size.get(str(size))
            cells += (
                f"{fig['median_ms']:>9.2f} /{fig['p95_ms']:>8.2f} ({fig['queries']:>2}q)" if fig else " " * 24
            )
        ratios = ""
        base = by_size.get(str(first))
        for size in sizes[1:]:
            fig = by_size.get(str(size))
            ratios += f"{fig['median_ms'] / base['median_ms']:>10.2f}x" if fig and base else " " * 11
        lines.append(f"{name:30}{cells}{ratios}")
    return lines
