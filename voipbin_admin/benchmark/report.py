"""The benchmark's table: one row per figure, one column per size, and how each figure grew."""

from __future__ import annotations

from voipbin_admin.benchmark.reports import reports_lines

__all__ = ["report_lines", "reports_lines", "stream_lines"]  # reports_lines: `--reports`

LOAD_FIGURES = (
    "load baseline (401, no SQL)",
    "load put status",
    "load put status, ASGI",
    "load put status, publishing",
    "load list",
)


def report_lines(results: list[dict]) -> list[str]:
    """The lines of the report of `results` (one dict per size, as `run.run` returns them)."""
    names = [key for key, value in results[0].items() if isinstance(value, dict) and "median_ms" in value]
    header = f"{'figure':28}" + "".join(f"{r['agents']:>26,}" for r in results) + f"{'100k/1k':>10}"
    lines = [
        "",
        "latency median / p95 ms (SQL queries per request, BEGIN/COMMIT not counted), by agents",
        header,
    ]
    for name in names:
        cells = ""
        for r in results:
            fig = r[name]
            cells += f"{fig['median_ms']:>9.2f} /{fig['p95_ms']:>8.2f} ({fig['queries']:>2}q)"
        growth = results[-1][name]["median_ms"] / results[0][name]["median_ms"]
        lines.append(f"{name:28}{cells}{growth:>9.2f}x")
    lines.append(f"{'ratio list/floor':28}" + "".join(f"{r['ratio list/floor']:>25.2f}x" for r in results))
    if "load put status" in results[0]:
        lines.append("")
        lines.append(f"throughput under load ({results[0]['load setup']})")
        lines.append(f"{'':28}" + "".join(f"{r['agents']:>33,}" for r in results))
        for label in LOAD_FIGURES:
            cells = "".join(
                f"{r[label]['requests_per_s']:>12.0f} req/s p99 {r[label]['p99']:>8}" for r in results
            )
            errors = sum(r[label]["non_2xx"] for r in results)
            note = "(401 by design)" if label.startswith("load baseline") else f"non-2xx: {errors}"
            lines.append(f"{label:28}{cells}   {note}")
        for label in LOAD_FIGURES[1:]:
            baseline = "load baseline (401, no SQL)"
            cells = "".join(
                f"{r[label]['requests_per_s'] / r[baseline]['requests_per_s']:>32.2f}x" for r in results
            )
            lines.append(f"{label[5:] + ' / baseline':28}{cells}")
        lines.append("each run, req/s:")
        for r in results:
            for label in LOAD_FIGURES:
                runs = ", ".join(f"{rate:.0f}" for rate in r[label]["runs_requests_per_s"])
                lines.append(f"  {r['agents']:>7,} agents, {label[5:]}: {runs}")
    for r in results:
        if "stream" in r:
            lines += stream_lines(r["stream"])
    return lines


def stream_lines(stream: dict) -> list[str]:
    """The event stream's figures (`stream.measure_stream`): pushed and polled boards, the
    issue's targets, and the raw stream."""
    lines = ["", f"event stream ({stream['setup']})", _STREAM_HEADER]
    for row in stream["unwatched"]:
        lines.append(_stream_row("0", "-", row))
    for row in stream["watched"]:
        lines.append(_stream_row(str(row["boards"]), row["design"], row))
    lines.append(
        "latency: from the PUT's 200 to the board's frame (push) or to its poll showing the change (poll),"
    )
    lines.append("every board x every change; CPU s/s over the changes' seconds, 2 cores in all")
    lines += _target_lines(stream)
    lines += [
        "",
        "raw stream: changes fired through the API as fast as it takes them, until every connection had them",
    ]
    lines.append(
        f"{'connections':>11} {'events':>6} {'fired in':>9} {'delivered in':>12} {'events/s':>9}"
        f" {'frames/s':>9} {'missed':>7} {'servers CPU s/s (http + ws)':>28} {'Redis':>6} {'boards':>7}"
    )
    for row in stream["raw"]:
        lines.append(
            f"{row['connections']:>11,} {row['events']:>6} {row['fired in s']:>8.2f}s"
            f" {row['delivered in s']:>11.2f}s"
            f" {_number(row['events_per_s']):>9} {_number(row['frames_per_s']):>9} {row['frames missed']:>7}"
            f" {_cpu(row):>28} {row['redis cpu_s_per_s']:>6.2f} {row['clients cpu_s_per_s']:>7.2f}"
        )
    return lines


_STREAM_HEADER = (
    f"{'boards':>6} {'design':6} {'latency p50 / p95 / p99 ms':>28} {'missed':>7}"
    f" {'servers CPU s/s (http + ws)':>28} {'Redis':>6} {'PgSQL':>6} {'boards':>7} {'machine':>8}"
    f" {'KB/s':>8} {'polls/s':>8} {'PUT p50 / p95 ms':>17}"
)


def _stream_row(boards: str, design: str, row: dict) -> str:
    latency = (
        " / ".join(_number(row.get(f"latency {p}_ms")) for p in ("p50", "p95", "p99"))
        if boards != "0"
        else ""
    )
    missed = f"{row['changes missed']}/{row['changes seen'] + row['changes missed']}" if boards != "0" else ""
    kilobytes = f"{row['bytes_per_s'] / 1000:.1f}" if boards != "0" else ""
    return (
        f"{boards:>6} {design:6} {latency:>28} {missed:>7} {_cpu(row):>28} {row['redis cpu_s_per_s']:>6.2f}"
        f" {row['postgres cpu_s_per_s']:>6.2f} {row['clients cpu_s_per_s']:>7.2f}"
        f" {row['machine busy cpu_s_per_s']:>8.2f} {kilobytes:>8} {row.get('polls_per_s', ''):>8}"
        f" {row['put p50_ms']:>7.1f} / {row['put p95_ms']:>6.1f}"
    )


def _target_lines(stream: dict) -> list[str]:
    unwatched = stream["unwatched"]
    idle_cpu = sum(row["servers cpu_s_per_s"] for row in unwatched) / len(unwatched)
    idle_put = sum(row["put p95_ms"] for row in unwatched) / len(unwatched)
    most = max(row["boards"] for row in stream["watched"])
    lines = [f"targets, at {most} boards (unwatched: the mean of the two K = 0 rows):"]
    for row in (row for row in stream["watched"] if row["boards"] == most):
        cost = row["servers cpu_s_per_s"] - idle_cpu
        p95 = row["latency p95_ms"]
        ratio = row["put p95_ms"] / idle_put
        lines += [
            f"  {row['design']}: boards' cost {cost:.2f} CPU s/s of server processes"
            f" ({row['servers cpu_s_per_s']:.2f} in all - {idle_cpu:.2f} unwatched; target < 0.5):"
            f" {_met(cost < 0.5)}",
            f"  {row['design']}: change on every board at p95 {_number(p95)} ms (target <= 250 ms):"
            f" {_met(p95 is not None and p95 <= 250)}",
            f"  {row['design']}: PUT p95 {row['put p95_ms']:.1f} ms = {ratio:.2f}x unwatched"
            f" {idle_put:.1f} ms (target <= 1.2x): {_met(ratio <= 1.2)}",
        ]
    return lines


def _cpu(row: dict) -> str:
    return f"{row['servers cpu_s_per_s']:.2f} ({row['http cpu_s_per_s']:.2f} + {row['ws cpu_s_per_s']:.2f})"


def _number(value: float | None) -> str:
    return "missed" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _met(met: bool) -> str:
    return "met" if met else "MISSED"
