"""Benchmark what supervisors and API clients feel, at 1,000 / 10,000 / 100,000 agents.

Seeds a PostgreSQL database (every customer holds 1,000 agents, each with 3 addresses and 3 of
its customer's 10 tags; 100 customers at 100,000 agents), then for each size reports median and
p95 latency and SQL queries per request for the API and console hot paths, the *floor* for the
list page (the same page from one hand-written SQL query with psycopg and json.dumps, measured
in the same run) with the ratio API / floor, and the throughput of `PUT .../status` and
`GET /v1.0/agents` under concurrent load against gunicorn, driven by wrk.

Latency is measured in-process through Django's test client (the full middleware, auth, view
and serialization stack, without a socket), so that it isolates the application's own cost.

`run.py` runs it (`manage.py benchmark` is its command line), `seeding.py` fills the
database, `latency.py` takes the in-process figures, `load.py` the wrk runs, `stream.py` the
event stream's (`--stream`: pushed against polled boards, and the raw stream, against real
servers; the boards run in `stream_clients.py`, the CPU is read by `usage.py`), and `report.py`
prints the table.
"""


class BenchmarkError(Exception):
    """The benchmark cannot go on (wrong database, a failed request, no wrk, no server)."""
