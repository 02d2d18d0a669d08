"""`manage.py benchmark` (voipbin_admin/benchmark/): its options, its refusal to wipe a database
not named for it, a run at a tiny size (20 agents per customer, 3 requests, no wrk) that
reports every figure, and the event stream's figures at a tiny size (1 and 2 boards, two
seconds of changes) against real servers and Redis. The full run is README's "Performance"."""

from __future__ import annotations

import io
import re
import socket

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.db import connection

from agents.models import Address, Agent, Customer
from tags.models import Tag
from voipbin_admin.benchmark.report import report_lines
from voipbin_admin.benchmark.run import check_database, run
from voipbin_admin.benchmark.stream import StreamSettings

FIGURES = [
    "list first page",
    "list deep page",
    "list status+tag_ids",
    "get agent",
    "put status",
    "put addresses",
    "console board",
    "console agents list",
    "floor (psycopg+json)",
    "baseline (401, no SQL)",
]
#: median / p95 ms (queries), once per size, then the growth from the first size to the last.
_FIGURE_ROW = r"\s+[\d.]+ /\s+[\d.]+ \(\s*\d+q\)" * 2 + r"\s+[\d.]+x"


def test_the_command_has_its_options():
    assert get_commands()["benchmark"] == "voipbin_admin"
    parser = load_command_class("voipbin_admin", "benchmark").create_parser("manage.py", "benchmark")
    options = parser.format_help()

    for option in (
        "--sizes",
        "--requests",
        "--load-seconds",
        "--load-runs",
        "--load-connections",
        "--workers",
        "--no-load",
        "--stream",
        "--watchers",
        "--stream-seconds",
        "--changes-per-second",
        "--raw-connections",
        "--raw-events",
        "--redis-url",
        "--output",
        "--yes",
    ):
        assert option in options


def test_the_command_refuses_a_database_it_may_not_wipe(agent_a):
    # The test database is named test_voipbin_admin_..., without "bench".
    refusal = "Refusing to seed 'test_" if connection.vendor == "postgresql" else "needs PostgreSQL"

    with pytest.raises(CommandError, match=re.escape(refusal)):
        call_command("benchmark", "--no-load", stdout=io.StringIO())

    assert Agent.objects.filter(pk=agent_a.pk).exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # it VACUUMs, which no transaction may contain
def test_a_tiny_run_reports_every_figure_at_every_size():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL: it seeds with COPY and vacuums")
    check_database(allow_any_name=True)  # what --yes allows
    progress: list[str] = []

    results = run(sizes=[40, 20], requests=3, load=None, write=progress.append, agents_per_customer=20)

    assert [row["agents"] for row in results] == [20, 40]
    assert [line.split(" (")[0] for line in progress] == ["seeded 20 agents", "seeded 40 agents"]
    assert (Customer.objects.count(), Agent.objects.count(), Tag.objects.count()) == (2, 40, 20)
    assert Address.objects.filter(tm_delete__isnull=True).count() == 3 * 40
    lines = report_lines(results)
    assert lines[1].startswith("latency median / p95 ms")
    assert re.fullmatch(r"figure\s+20\s+40\s+100k/1k", lines[2])
    for figure in FIGURES:
        assert any(re.fullmatch(re.escape(figure) + _FIGURE_ROW, line) for line in lines), figure
    assert any(re.fullmatch(r"ratio list/floor\s+[\d.]+x\s+[\d.]+x", line) for line in lines)
    assert not any("throughput under load" in line for line in lines)


def _redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # the servers are other processes: the rows must be committed
def test_a_tiny_stream_run_delivers_every_change_to_every_board():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL: it seeds with COPY and vacuums")
    if not _redis_is_up():
        pytest.skip("the stream figures need Redis at 127.0.0.1:6379")
    stream = StreamSettings(
        watchers=(1, 2),
        raw_connections=(1, 2),
        seconds=2,
        changes_per_second=2,
        raw_events=5,
        grace_seconds=5,
    )

    results = run(sizes=[20], requests=1, load=None, write=[].append, agents_per_customer=20, stream=stream)

    figures = results[0]["stream"]
    assert len(figures["unwatched"]) == 2
    assert all(row["changes"] == 4 and row["put p95_ms"] > 0 for row in figures["unwatched"])
    watched = figures["watched"]
    assert [(row["boards"], row["design"]) for row in watched] == [
        (1, "push"),
        (1, "poll"),
        (2, "push"),
        (2, "poll"),
    ]
    for row in watched:
        assert (row["changes seen"], row["changes missed"]) == (4 * row["boards"], 0), row
        assert 0 <= row["latency p50_ms"] <= row["latency p95_ms"] <= row["latency p99_ms"], row
        assert row["bytes_per_s"] > 0, row
        # A second of a tiny board may cost less than one clock tick (10 ms) of a process.
        assert min(row[f"{name} cpu_s_per_s"] for name in ("http", "ws", "servers", "redis")) >= 0, row
    assert all(row["polls_per_s"] > 0 for row in watched if row["design"] == "poll")
    assert [(row["connections"], row["frames missed"]) for row in figures["raw"]] == [(1, 0), (2, 0)]
    for row in figures["raw"]:
        assert row["events_per_s"] > 0, row
        assert row["frames_per_s"] == pytest.approx(row["events_per_s"] * row["connections"], rel=0.01), row
    lines = report_lines(results)
    assert any(line.startswith("event stream (") for line in lines)
    assert any(re.fullmatch(r"\s+2 push\s+[\d.]+ / [\d.]+ / [\d.]+\s+0/8\s.*", line) for line in lines)
    assert any(re.fullmatch(r"\s+2 poll\s+[\d.,]+ / [\d.,]+ / [\d.,]+\s+0/8\s.*", line) for line in lines)
    assert sum(line.startswith("  push: ") or line.startswith("  poll: ") for line in lines) == 6
    assert any(line.startswith("raw stream:") for line in lines)
