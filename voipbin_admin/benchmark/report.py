"""The benchmark's table: one row per figure, one column per size, and how each figure grew."""

from __future__ import annotations

LOAD_FIGURES = ("load baseline (401, no SQL)", "load put status", "load put status, ASGI", "load list")


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
    return lines
