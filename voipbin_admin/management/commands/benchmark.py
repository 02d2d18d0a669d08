"""`manage.py benchmark`: the command line of `voipbin_admin.benchmark` (README, "Performance")."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from voipbin_admin.benchmark import BenchmarkError
from voipbin_admin.benchmark.load import LoadSettings
from voipbin_admin.benchmark.report import report_lines, reports_lines
from voipbin_admin.benchmark.run import check_database, run, run_reports
from voipbin_admin.benchmark.stream import StreamSettings


class Command(BaseCommand):
    help = "Seed a PostgreSQL database with agents and report latency, query counts, floor and throughput."

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="1000,10000,100000", help="Agent counts to measure at.")
        parser.add_argument("--requests", type=int, default=200, help="Timed requests per figure.")
        parser.add_argument("--load-seconds", type=int, default=10, help="Duration of each wrk run.")
        parser.add_argument(
            "--load-runs", type=int, default=3, help="wrk runs per figure, interleaved; the median counts."
        )
        parser.add_argument("--load-connections", type=int, default=16, help="wrk concurrent connections.")
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn worker processes (2 did best on 2 cores)."
        )
        parser.add_argument("--no-load", action="store_true", help="Skip the concurrent load runs.")
        parser.add_argument(
            "--stream",
            action="store_true",
            help="Also measure the event stream: pushed against polled boards, and the raw stream.",
        )
        parser.add_argument(
            "--watchers", default="1,10,50,100,200", help="Open boards (K) of each stream figure."
        )
        parser.add_argument(
            "--stream-seconds", type=float, default=10.0, help="Seconds of status changes per stream figure."
        )
        parser.add_argument("--changes-per-second", type=float, default=8.0, help="Paced status changes.")
        parser.add_argument(
            "--raw-connections", default="1,100,1000", help="WebSocket connections of the raw stream figures."
        )
        parser.add_argument(
            "--raw-events", type=int, default=200, help="Changes fired per raw stream figure."
        )
        parser.add_argument(
            "--redis-url",
            default="redis://127.0.0.1:6379/0",
            help="The channel layer's Redis for the stream figures (a prefix of the run's own).",
        )
        parser.add_argument(
            "--reports",
            action="store_true",
            help="Measure the reports instead (issue 15): seeds its own customer's history and times "
            "the day and 31-day reports, the timeline and the curve against their SQL floors.",
        )
        parser.add_argument(
            "--report-agents", type=int, default=1000, help="Agents of the reports' customer."
        )
        parser.add_argument("--report-days", type=int, default=92, help="Days of history for the reports.")
        parser.add_argument(
            "--report-changes", type=int, default=30, help="Status changes per agent per day."
        )
        parser.add_argument("--report-runs", type=int, default=20, help="Timed runs of each report figure.")
        parser.add_argument(
            "--report-reuse", action="store_true", help="Measure the reports' data an earlier run seeded."
        )
        parser.add_argument(
            "--large",
            action="store_true",
            help="Measure large customers instead (issue 16): one customer per --sizes (1,000 to "
            "1,000,000 agents; reused when seeded before, never wiped) and the board's 10,000; every "
            "read of a supervisor or an API client, interleaved across sizes.",
        )
        parser.add_argument("--output", help="Also write the figures as JSON to this file.")
        parser.add_argument(
            "--yes", action="store_true", help="Allow wiping earlier benchmark data in this database."
        )

    def handle(self, *args, **options):
        load = None
        if not options["no_load"]:
            load = LoadSettings(
                seconds=options["load_seconds"],
                runs=options["load_runs"],
                connections=options["load_connections"],
                workers=options["workers"],
            )
        stream = None
        if options["stream"]:
            stream = StreamSettings(
                watchers=_numbers(options["watchers"]),
                raw_connections=_numbers(options["raw_connections"]),
                seconds=options["stream_seconds"],
                changes_per_second=options["changes_per_second"],
                raw_events=options["raw_events"],
                workers=options["workers"],
                redis_url=options["redis_url"],
            )
        if options["reports"]:
            self._reports(options)
            return
        if options["large"]:
            self._large(options)
            return
        try:
            check_database(allow_any_name=options["yes"])
            sizes = sorted(int(size) for size in options["sizes"].split(","))
            call_command("migrate", verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)  # pages need the manifest
            results = run(
                sizes=sizes, requests=options["requests"], load=load, stream=stream, write=self.stdout.write
            )
        except BenchmarkError as error:
            raise CommandError(str(error)) from error
        for line in report_lines(results):
            self.stdout.write(line)
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(results, indent=2))

    def _large(self, options) -> None:
        from voipbin_admin.benchmark.large import large_lines, run_large

        try:
            check_database(allow_any_name=options["yes"])
            sizes = sorted(int(size) for size in options["sizes"].split(","))
            call_command("migrate", verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            results = run_large(sizes=sizes, requests=options["requests"], write=self.stdout.write)
        except BenchmarkError as error:
            raise CommandError(str(error)) from error
        for line in large_lines(results):
            self.stdout.write(line)
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(results, indent=2))

    def _reports(self, options) -> None:
        try:
            check_database(allow_any_name=options["yes"])
            call_command("migrate", verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            figures = run_reports(
                agents=options["report_agents"],
                days=options["report_days"],
                changes=options["report_changes"],
                repeats=options["report_runs"],
                write=self.stdout.write,
                reuse=options["report_reuse"],
            )
        except BenchmarkError as error:
            raise CommandError(str(error)) from error
        for line in reports_lines(figures):
            self.stdout.write(line)
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(figures, indent=2))


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(number) for number in text.split(","))
