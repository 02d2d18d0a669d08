"""`manage.py benchmark` (voipbin_admin/benchmark/): its options, its refusal to wipe a database
not named for it, and a run at a tiny size (20 agents per customer, 3 requests, no wrk) that
reports every figure. The full run is README's "Performance"."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.db import connection

from agents.models import Address, Agent, Customer
from tags.models import Tag
from voipbin_admin.benchmark.report import report_lines
from voipbin_admin.benchmark.run import check_database, run

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
