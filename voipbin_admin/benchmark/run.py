"""One benchmark run: check the database, seed it size by size, measure at each size."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable

from django.contrib.auth.hashers import make_password
from django.db import connection

from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.latency import measure
from voipbin_admin.benchmark.load import LoadSettings, measure_load
from voipbin_admin.benchmark.reports import run_reports
from voipbin_admin.benchmark.seeding import (
    AGENTS_PER_CUSTOMER,
    BENCH_PASSWORD,
    BENCH_PREFIX,
    Seeder,
    vacuum,
    wipe,
)
from voipbin_admin.benchmark.stream import StreamSettings, measure_stream


def check_database(*, allow_any_name: bool = False) -> None:
    """The benchmark wipes its database: only PostgreSQL (it seeds with COPY), and only a
    database named for it unless `allow_any_name` (the command's --yes)."""
    if connection.vendor != "postgresql":
        raise BenchmarkError("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    db_name = connection.settings_dict["NAME"]
    if BENCH_PREFIX not in db_name and not allow_any_name:
        raise BenchmarkError(
            f"Refusing to seed {db_name!r}: use a database whose name contains 'bench' or pass --yes."
        )


__all__ = ["check_database", "run", "run_reports"]  # run_reports: `--reports` (benchmark/reports.py)


def run(
    *,
    sizes: Iterable[int],
    requests: int,
    load: LoadSettings | None,
    write: Callable[[str], object],
    agents_per_customer: int = AGENTS_PER_CUSTOMER,
    stream: StreamSettings | None = None,
) -> list[dict]:
    """Wipe the benchmark's tables, then for each size (smallest first) add customers up to it
    and measure; `load=None` skips the wrk runs, `stream=None` the event stream's figures (taken
    once, at the largest size: the measured customer holds `agents_per_customer` agents at every
    size). Progress goes to `write`; the figures of each size come back as one dict (see
    `report.report_lines`)."""
    wipe()
    seeder = Seeder(random.Random(20261126), make_password(BENCH_PASSWORD), agents_per_customer)
    results = []
    for size in sorted(sizes):
        started = time.perf_counter()
        seeder.seed_up_to(size)
        seeded = time.perf_counter() - started
        write(f"seeded {size:,} agents ({seeded:.1f} s); measuring...")
        row: dict = {"agents": size, "seed_seconds": round(seeded, 1)}
        vacuum()
        row.update(measure(requests=requests))
        vacuum()
        if load is not None:
            row.update(measure_load(load))
        results.append(row)
    if stream is not None:
        vacuum()
        results[-1]["stream"] = measure_stream(stream, write)
    return results
