"""`manage.py benchmark --large` (voipbin_admin/benchmark/large.py): a tiny run seeds one
customer per size with INSERT ... SELECT, reuses them on the next run, and reports every read
figure at every size (the board's at its own sizes). The full run is README's "Large customers"."""

from __future__ import annotations

import pytest
from django.db import connection

from agents.models import Address, Agent, Customer
from tags.models import AgentTag, Tag
from voipbin_admin.benchmark.large import BOARD_FIGURES, READ_FIGURES, large_lines, run_large


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # it VACUUMs, which no transaction may contain
def test_a_tiny_large_run_reports_every_figure_and_reuses_its_customers():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL")
    progress: list[str] = []

    results = run_large(sizes=[20, 60], requests=2, write=progress.append, board_sizes=(20, 40))

    for size in (20, 40, 60):
        customer = Customer.objects.get(name=f"bench-large-{size}")
        assert Agent.objects.filter(customer=customer).count() == size
        assert Address.objects.filter(customer=customer).count() == 3 * size
        assert AgentTag.objects.filter(agent__customer=customer).count() == 3 * size
        assert Tag.objects.filter(customer=customer).count() == 10
    assert set(results["figures"]) == {*READ_FIGURES, *BOARD_FIGURES}
    for name in READ_FIGURES:
        assert set(results["figures"][name]) == {"20", "60"}, name
    for name in BOARD_FIGURES:
        assert set(results["figures"][name]) == {"20", "40"}, name
    lines = "\n".join(large_lines(results))
    for name in (*READ_FIGURES, *BOARD_FIGURES):
        assert name in lines
    assert "60/20" in lines  # each size against the smallest

    progress.clear()
    run_large(sizes=[20], requests=1, write=progress.append, board_sizes=(20,))
    assert progress[0] == "large customer of 20 agents: already seeded, reused"
    assert Customer.objects.filter(name__startswith="bench-large-").count() == 3
