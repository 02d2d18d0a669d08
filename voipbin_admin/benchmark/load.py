"""Throughput under concurrent load: wrk against gunicorn on the same PostgreSQL."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from agents.models import Agent, LoginToken
from agents.services import login_token_create
from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.seeding import BENCH_PASSWORD, measured_customer, vacuum


@dataclass(frozen=True)
class LoadSettings:
    seconds: int = 10
    runs: int = 3
    connections: int = 16
    workers: int = 2


def measure_load(load: LoadSettings) -> dict:
    if shutil.which("wrk") is None:
        raise BenchmarkError("wrk is needed for the load runs (apt-get install wrk), or pass --no-load.")
    customer, admin = measured_customer()
    _, token = login_token_create(username=admin.username, password=BENCH_PASSWORD)
    agent_ids = [
        str(pk)
        for pk in Agent.objects.filter(customer=customer, permission=16).values_list("id", flat=True)[:500]
    ]
    sync_port, asgi_port, publishing_port = free_port(), free_port(), free_port()
    # The same sync workers with the event stream's Redis channel layer: every change is also
    # published (what production runs), against the figure without it.
    publishing = {"CHANNEL_LAYER_URL": PUBLISH_TO, "CHANNEL_LAYER_PREFIX": f"bench{os.getpid()}"}
    servers = [
        start_server(load, sync_port, SYNC_WORKERS),
        start_server(load, asgi_port, ASGI_WORKERS),
        start_server(load, publishing_port, SYNC_WORKERS, publishing),
    ]
    try:
        for port in (sync_port, asgi_port, publishing_port):
            wait_for_port(port)
        with tempfile.TemporaryDirectory() as folder:
            status_script = Path(folder, "status.lua")
            status_script.write_text(_wrk_status_script(agent_ids, token))
            list_script = Path(folder, "list.lua")
            list_script.write_text(_wrk_list_script(token))
            baseline_script = Path(folder, "baseline.lua")
            baseline_script.write_text(_wrk_baseline_script())
            # gunicorn's master listens before its workers have imported Django: a first run
            # would time their start. Each server first answers for a second of load.
            for port in (sync_port, asgi_port, publishing_port):
                wait_until_answering(port)
                _run_wrk(port, baseline_script, LoadSettings(seconds=1, connections=load.connections))
            runs = (
                ("load baseline (401, no SQL)", baseline_script, sync_port),
                ("load put status", status_script, sync_port),
                ("load put status, ASGI", status_script, asgi_port),
                ("load put status, publishing", status_script, publishing_port),
                ("load list", list_script, sync_port),
            )
            # Interleaved rounds, so that a slow spell of the machine hits every figure alike, and
            # each round starts one figure later, so that no figure always follows the same one
            # (the ASGI workers' run, say, whose servers may still be busy when it ends).
            samples: dict[str, list[dict]] = {label: [] for label, _, _ in runs}
            for round_number in range(load.runs):
                shift = round_number % len(runs)
                for label, script, port in runs[shift:] + runs[:shift]:
                    if script is status_script:
                        Agent.objects.filter(id__in=agent_ids).update(status="offline")
                    vacuum()
                    samples[label].append(_run_wrk(port, script, load))
            out = {label: _median_run(runs_of_label) for label, runs_of_label in samples.items()}
            out["load setup"] = (
                f"gunicorn {load.workers} workers (sync; ASGI: uvicorn workers); wrk 1 thread, "
                f"{load.connections} connections, median of {load.runs}"
                f" runs of {load.seconds} s"
            )
            return out
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        LoginToken.objects.filter(agent=admin).delete()


#: gunicorn's worker classes: today's sync workers (WSGI), and the uvicorn workers of the ASGI
#: application that also serves the event stream (README, "Production").
SYNC_WORKERS = ["voipbin_admin.wsgi"]
#: The Redis server the publishing run's events go to (nobody needs to listen).
PUBLISH_TO = os.environ.get("BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/0")
ASGI_WORKERS = ["-k", "voipbin_admin.asgi_worker.StreamWorker", "voipbin_admin.asgi"]


def start_server(
    load: LoadSettings, port: int, app: list[str], extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "WEB_CONCURRENCY": str(load.workers),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "voipbin_admin/gunicorn_conf.py", *app],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _median_run(runs: list[dict]) -> dict:
    by_rate = sorted(runs, key=lambda run: run["requests_per_s"])
    middle = dict(by_rate[len(by_rate) // 2])
    middle["runs_requests_per_s"] = [run["requests_per_s"] for run in runs]
    middle["non_2xx"] = sum(run["non_2xx"] for run in runs)
    return middle


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchmarkError("gunicorn did not start")


def wait_until_answering(port: int, timeout: float = 60.0) -> None:
    """Until the server at `port` answers an HTTP request (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1.0/agents", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise BenchmarkError(f"the server on port {port} did not answer within {timeout:.0f} s")


def _wrk_status_script(agent_ids: list[str], token: str) -> str:
    """PUT status over the (offline) agents in turn, each pass moving every agent to the next of
    four other statuses: every request is a real change, with its history and event rows."""
    ids = ",".join(f'"{agent_id}"' for agent_id in agent_ids)
    return f"""
local ids = {{{ids}}}
local statuses = {{"available", "away", "busy", "ringing"}}
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
local sent = 0
request = function()
  local id = ids[sent % #ids + 1]
  local status = statuses[math.floor(sent / #ids) % #statuses + 1]
  sent = sent + 1
  return wrk.format("PUT", "/v1.0/agents/" .. id .. "/status", headers, '{{"status":"' .. status .. '"}}')
end
"""


def _wrk_list_script(token: str) -> str:
    return f"""
local headers = {{["Authorization"] = "Bearer {token}"}}
request = function()
  return wrk.format("GET", "/v1.0/agents?page_size=100", headers)
end
"""


def _wrk_baseline_script() -> str:
    """The stack's own ceiling on this machine: an API request refused before any SQL (no
    credential), through the same server, middleware and DRF."""
    return """
request = function()
  return wrk.format("GET", "/v1.0/agents?page_size=100")
end
"""


def _run_wrk(port: int, script: Path, load: LoadSettings) -> dict:
    command = [
        "wrk", "-t1", f"-c{load.connections}", f"-d{load.seconds}s",
        "--latency", "-s", str(script), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests_per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    if not requests_per_s:
        raise BenchmarkError(f"wrk completed no request against port {port}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    p99 = re.search(r"99%\s+(\S+)", output)
    return {
        "requests_per_s": requests_per_s,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p99": p99.group(1) if p99 else "?",
    }
