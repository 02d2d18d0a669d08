"""CPU seconds used, read off the machine: server processes (/proc/<pid>/stat), Redis (`INFO
cpu`), this database's PostgreSQL backends, and the whole machine (/proc/stat)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.db import connection

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 once it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def process_tree(pid: int) -> list[int]:
    """A gunicorn master and its workers (its children)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return [pid, *children]


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core, every process) since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / _TICKS_PER_SECOND


def redis_cpu_seconds(client: redis.Redis) -> float:
    """The Redis server's own CPU (every client of it: other users of this server count too)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def postgres_backend_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to this database but ours."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid: process_cpu_seconds(pid) for (pid,) in cursor.fetchall()}


@dataclass
class Usage:
    """Where the CPU went between `start()` and `stop()`, in CPU seconds per second."""

    servers: dict[str, list[int]]  # name -> pids
    redis_client: redis.Redis
    client_pid: int | None = None

    def _snapshot(self) -> dict:
        return {
            "at": time.monotonic(),
            "servers": {name: sum(map(process_cpu_seconds, pids)) for name, pids in self.servers.items()},
            "client": process_cpu_seconds(self.client_pid) if self.client_pid else 0.0,
            "redis": redis_cpu_seconds(self.redis_client),
            "postgres": postgres_backend_cpu(),
            "machine": machine_busy_seconds(),
        }

    def start(self) -> None:
        self.first = self._snapshot()

    def stop(self) -> dict:
        last, first = self._snapshot(), self.first
        seconds = last["at"] - first["at"]
        out = {
            f"{name} cpu_s_per_s": round((last["servers"][name] - first["servers"][name]) / seconds, 3)
            for name in self.servers
        }
        out["servers cpu_s_per_s"] = round(sum(out.values()), 3)
        postgres = sum(cpu - first["postgres"].get(pid, 0.0) for pid, cpu in last["postgres"].items())
        out.update(
            {
                "redis cpu_s_per_s": round((last["redis"] - first["redis"]) / seconds, 3),
                "postgres cpu_s_per_s": round(postgres / seconds, 3),
                "clients cpu_s_per_s": round((last["client"] - first["client"]) / seconds, 3),
                "machine busy cpu_s_per_s": round((last["machine"] - first["machine"]) / seconds, 3),
            }
        )
        return out


def wait_until_idle(pids: list[int], *, below: float = 0.05, timeout: float = 90.0) -> None:
    """Until the processes use less than `below` CPU s/s (a server still answering requests of
    boards that have gone: its queue drains before the next figure)."""
    deadline = time.monotonic() + timeout
    before = sum(map(process_cpu_seconds, pids))
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(map(process_cpu_seconds, pids))
        if (now - before) / 0.5 < below:
            return
        before = now
