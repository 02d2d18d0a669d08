"""`manage.py benchmark --reports` at a tiny size: the seeding writes the history it says, every
figure is reported against its floor, and the floors agree with the selectors (the run checks
that itself and stops otherwise). The full run is README's "Performance"."""

from __future__ import annotations

import pytest

from agents.models import AgentStatusChange, Customer
from voipbin_admin.benchmark.reports import reports_lines, run_reports

FIGURES = [
    "report, 1 day",
    "report, 31 days",
    "report, 31 days by day",
    "timeline, 1 day",
    "curve, 1 day",
]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_tiny_reports_run_reports_every_figure_against_its_floor(is_postgresql):
    if not is_postgresql:
        pytest.skip("the benchmark seeds with PostgreSQL's generate_series")
    progress: list[str] = []
    figures = run_reports(agents=4, days=33, changes=10, repeats=2, write=progress.append)
    customer = Customer.objects.get(name="bench-reports")
    assert customer.time_zone == "Europe/Berlin"
    assert AgentStatusChange.objects.filter(agent__customer=customer).count() == 4 + 4 * 33 * 10
    for name in FIGURES:
        assert figures[name]["median_ms"] > 0
        assert figures[f"floor {name}"]["median_ms"] > 0
    assert figures["rows"]["agents"] == 4
    lines = "\n".join(reports_lines(figures))
    for name in [*FIGURES, "API report, 1 day", "console curve, 1 day"]:
        assert name in lines
    assert "floor" in lines
