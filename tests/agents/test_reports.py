"""Reports (issue 15): the status report, the timeline and the staffing curve, computed from the
history with a fixed clock (`now=`), on both databases."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent, AgentStatusChange, Customer
from agents.permissions import SYSTEM
from agents.reports import periods, selectors
from agents.services import agent_delete, agent_replace_tags, customer_update
from agents.services.history import agent_record_past_statuses
from tests.factories import make_agent, make_tag
from voipbin_admin.errors import DomainError, InvalidArgument, PermissionDenied

pytestmark = pytest.mark.django_db

H = 3600.0


def at(text: str, zone: str = "UTC") -> datetime:
    """A wall-clock time in a zone, as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def with_past(customer: Customer, created: datetime, changes, *, username: str | None = None) -> Agent:
    agent = make_agent(customer.pk, username=username)
    return agent_record_past_statuses(actor=SYSTEM, agent=agent, created_at=created, changes=changes)


def set_zone(customer: Customer, name: str) -> Customer:
    return customer_update(actor=SYSTEM, customer=customer, time_zone=name)


def report(customer, start, stop, *, interval="day", now=None, **filters):
    return selectors.agent_status_report(
        customer=customer,
        start=start,
        stop=stop,
        interval=interval,
        now=now or datetime(2030, 1, 1, tzinfo=UTC),
        **filters,
    )


def row_of(result, agent):
    return next(row for row in result.rows if row.agent_id == agent.pk)


@pytest.fixture
def customer(admin_a):
    # The admin's own history starts now (not in the fixed past) and is left out of past days.
    return admin_a.customer


def test_a_day_counts_each_status_signed_in_time_occupancy_changes_and_away_reasons(customer):
    agent = with_past(
        customer,
        at("2025-01-06 08:00"),
        [
            (at("2025-01-06 09:00"), "available", "shift"),
            (at("2025-01-06 10:00"), "ringing", ""),
            (at("2025-01-06 10:00:30"), "busy", "call"),
            (at("2025-01-06 11:00:30"), "available", ""),
            (at("2025-01-06 12:00"), "away", "Lunch"),
            (at("2025-01-06 12:30"), "available", ""),
            (at("2025-01-06 15:00"), "away", "Coaching"),
            (at("2025-01-06 15:15"), "available", ""),
            (at("2025-01-06 17:00"), "offline", "end of shift"),
        ],
    )
    result = report(customer, at("2025-01-06 00:00"), at("2025-01-07 00:00"))
    [row] = result.rows
    assert row.agent_id == agent.pk
    figures = row.totals.as_dict()
    assert figures["seconds"] == {
        "available": 3600 + 3600 + 2.5 * H + 1.75 * H - 30,
        "away": 45 * 60,
        "busy": H,
        "offline": 8 * H,
        "ringing": 30,
    }
    assert figures["signed_in_seconds"] == 8 * H
    assert figures["occupancy"] == pytest.approx(1 / 8)
    assert figures["changes"] == 9
    assert figures["away_reasons"] == [
        {"reason": "Lunch", "seconds": 1800},
        {"reason": "Coaching", "seconds": 900},
    ]
    # The agent existed 16 hours of the day: the seconds add up to exactly that.
    assert row.totals.total_seconds == 16 * H
    assert result.totals.as_dict() == figures


def test_an_interval_across_midnight_is_split_and_a_change_on_midnight_belongs_to_the_new_day(customer):
    with_past(
        customer,
        at("2025-01-06 20:00"),
        [
            (at("2025-01-06 22:00"), "available", ""),
            (at("2025-01-07 00:00"), "ringing", "on midnight"),
            (at("2025-01-07 00:00"), "busy", "on midnight too"),  # a 0-second ring
            (at("2025-01-07 02:00"), "offline", ""),
        ],
    )
    result = report(customer, at("2025-01-06 00:00"), at("2025-01-08 00:00"))
    [row] = result.rows
    first, second = (bucket.as_dict() for bucket in row.buckets)
    assert first["seconds"]["available"] == 2 * H
    assert first["seconds"]["busy"] == 0
    assert first["changes"] == 1
    assert second["seconds"]["busy"] == 2 * H
    assert second["seconds"]["offline"] == 22 * H
    assert second["changes"] == 3
    assert second["seconds"]["ringing"] == 0
    assert [bucket.start for bucket in result.buckets] == [at("2025-01-06 00:00"), at("2025-01-07 00:00")]


def test_the_status_before_the_range_carries_into_it_and_the_open_interval_runs_to_now(customer):
    with_past(customer, at("2025-01-05 08:00"), [(at("2025-01-05 09:00"), "available", "")])
    start = at("2025-01-06 00:00")
    result = report(customer, start, at("2025-01-07 00:00"), now=at("2025-01-06 10:30"))
    [row] = result.rows
    assert row.totals.seconds["available"] == 10.5 * H
    assert row.totals.total_seconds == 10.5 * H
    assert row.totals.changes == 0


def test_a_deleted_agent_counts_for_the_time_it_existed(customer, admin_a):
    agent = with_past(customer, at("2025-01-06 06:00"), [(at("2025-01-06 08:00"), "available", "")])
    agent_delete(actor=admin_a, agent=agent)
    # Deleted at 11:00 of that day (the service stamps the real now; the clock here is fixed).
    Agent.objects.filter(pk=agent.pk).update(tm_delete=at("2025-01-06 11:00"))
    result = report(customer, at("2025-01-06 00:00"), at("2025-01-07 00:00"))
    [row] = result.rows
    assert row.deleted
    assert row.totals.seconds["offline"] == 2 * H
    assert row.totals.seconds["available"] == 3 * H
    assert row.totals.total_seconds == 5 * H
    assert report(customer, at("2025-01-07 00:00"), at("2025-01-08 00:00")).rows == []


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2025, 3, 30), 23),
        ("Europe/Berlin", date(2025, 10, 26), 25),
        ("America/New_York", date(2025, 3, 9), 23),
        ("America/New_York", date(2025, 11, 2), 25),
        ("Europe/Berlin", date(2025, 6, 1), 24),
    ],
)
def test_daylight_saving_days_have_23_or_25_hours_in_reports_hours_and_the_curve(customer, zone, day, hours):
    customer = set_zone(customer, zone)
    start, stop = periods.day_bounds(day, ZoneInfo(zone))
    assert (stop - start).total_seconds() == hours * H
    with_past(customer, start - timedelta(days=1), [(start - timedelta(hours=1), "available", "")])
    daily = report(customer, start, stop)
    assert [row.totals.seconds["available"] for row in daily.rows] == [hours * H]
    hourly = report(customer, start, stop, interval="hour")
    assert len(hourly.buckets) == hours
    assert all(bucket.seconds == H for bucket in hourly.buckets)
    # The local hours of the buckets: the skipped hour is missing, the repeated one is twice.
    changed_at = 2 if zone == "America/New_York" else 3 if hours == 25 else 2
    expected = {
        23: [hour for hour in range(24) if hour != changed_at],
        25: sorted([*range(24), changed_at - 1]),
        24: list(range(24)),
    }[hours]
    assert [bucket.start.astimezone(ZoneInfo(zone)).hour for bucket in hourly.buckets] == expected
    curve = selectors.staffing_curve(customer=customer, day=day, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert len(curve.slots) == hours * 4
    assert curve.counts["available"] == [1.0] * (hours * 4)
    # Two days in the zone: the report's days are the zone's, midnight to midnight.
    two_days = report(customer, start, periods.day_bounds(day + timedelta(days=1), ZoneInfo(zone))[1])
    assert two_days.buckets[0].seconds == hours * H
    assert [bucket.start.astimezone(ZoneInfo(zone)).hour for bucket in two_days.buckets] == [0, 0]


def test_a_range_that_does_not_start_at_midnight_has_a_clipped_first_bucket(customer):
    with_past(customer, at("2025-01-01 00:00"), [(at("2025-01-01 00:00:01"), "available", "")])
    result = report(customer, at("2025-01-06 18:00"), at("2025-01-08 00:00"))
    assert [bucket.seconds for bucket in result.buckets] == [6 * H, 24 * H]


def test_away_reasons_are_the_top_10_and_other(customer):
    changes = []
    moment = at("2025-01-06 08:00")
    for minutes in range(1, 13):  # 12 reasons: 1 to 12 minutes away each
        moment += timedelta(minutes=1)
        changes.append((moment, "away", f"reason {minutes:02d}"))
        moment += timedelta(minutes=minutes)
        changes.append((moment, "available", ""))
    with_past(customer, at("2025-01-06 08:00"), changes)
    [row] = report(customer, at("2025-01-06 00:00"), at("2025-01-07 00:00")).rows
    reasons = row.totals.as_dict()["away_reasons"]
    assert [item["reason"] for item in reasons] == [f"reason {n:02d}" for n in range(12, 2, -1)] + ["other"]
    assert reasons[-1]["seconds"] == 3 * 60  # reasons 01 and 02
    assert sum(item["seconds"] for item in reasons) == row.totals.seconds["away"]


def test_filters_by_agents_and_tags_and_another_customers_agents_are_not_counted(customer, admin_b):
    support = make_tag(customer.pk, name="support")
    first = with_past(customer, at("2025-01-06 08:00"), [], username="first")
    second = with_past(customer, at("2025-01-06 08:00"), [], username="second")
    other = with_past(admin_b.customer, at("2025-01-06 08:00"), [], username="other")
    agent_replace_tags(actor=SYSTEM, agent=second, tag_ids=[support.pk])
    day = (at("2025-01-06 00:00"), at("2025-01-07 00:00"))
    assert [row.username for row in report(customer, *day).rows] == ["first", "second"]
    assert [row.username for row in report(customer, *day, agent_ids=[first.pk]).rows] == ["first"]
    assert [row.username for row in report(customer, *day, tag_ids=[support.pk]).rows] == ["second"]
    assert report(customer, *day, agent_ids=[first.pk], tag_ids=[support.pk]).rows == []
    assert report(customer, *day, agent_ids=[other.pk]).rows == []
    assert report(customer, *day, agent_ids=[]).rows == []


def _random_day(customer, count: int, seed: int):
    rng = random.Random(seed)
    agents = []
    for number in range(count):
        moment = at("2025-03-29 20:00", "Europe/Berlin") + timedelta(minutes=rng.randint(0, 600))
        created = moment
        changes = []
        while True:
            moment += timedelta(seconds=rng.randint(1, 5400), microseconds=rng.randint(0, 999_999))
            if moment >= at("2025-03-31 02:00", "Europe/Berlin"):
                break
            status = rng.choice(["available", "ringing", "busy", "away", "offline"])
            changes.append((moment, status, rng.choice(["", "Lunch", "Break", "Meeting"])))
        agents.append(with_past(customer, created, changes, username=f"agent-{number:02d}"))
    return agents


def test_report_timeline_curve_and_history_list_agree(customer):
    customer = set_zone(customer, "Europe/Berlin")
    support = make_tag(customer.pk, name="support")
    agents = _random_day(customer, 6, seed=15)
    agent_replace_tags(actor=SYSTEM, agent=agents[0], tag_ids=[support.pk])
    agent_replace_tags(actor=SYSTEM, agent=agents[3], tag_ids=[support.pk])
    day = date(2025, 3, 30)  # 23 hours
    start, stop = periods.day_bounds(day, ZoneInfo("Europe/Berlin"))
    now = at("2025-03-30 17:20:00.5", "Europe/Berlin")  # today, still open
    daily = report(customer, start, stop, now=now)
    hourly = report(customer, start, stop, interval="hour", now=now)
    timeline = selectors.agent_timeline(customer=customer, day=day, now=now)
    curve = selectors.staffing_curve(customer=customer, day=day, now=now)
    assert len(daily.rows) == 6
    assert [row.username for row in timeline.rows] == [row.username for row in daily.rows]
    for row, line in zip(daily.rows, timeline.rows, strict=True):
        by_status = dict.fromkeys(selectors.STATUSES, 0.0)
        for segment in line.segments:
            by_status[segment.status] += segment.seconds
        assert by_status == pytest.approx(row.totals.seconds, abs=1e-6)
        hourly_row = next(item for item in hourly.rows if item.agent_id == row.agent_id)
        assert hourly_row.totals.seconds == pytest.approx(row.totals.seconds, abs=1e-6)
        assert hourly_row.totals.changes == row.totals.changes
        # The history list: the changes inside the day, the creation entry left out.
        agent = Agent.objects.get(pk=row.agent_id)
        history = selectors.agent_status_history_page(agent=agent, size=100, start=start, stop=now)
        assert row.totals.changes == len([change for change in history if change.from_status])
        # Each segment is one history entry: its status, reason and time.
        for segment in line.segments:
            change = AgentStatusChange.objects.get(agent=agent, tm_create=segment.changed_at)
            assert (change.to_status, change.reason) == (segment.status, segment.reason)
        assert sum(bucket.seconds["away"] for bucket in hourly_row.buckets) == pytest.approx(
            row.totals.seconds["away"], abs=1e-6
        )
    for status in selectors.STATUSES:
        agent_seconds = sum(
            count * slot.seconds for count, slot in zip(curve.counts[status], curve.slots, strict=True)
        )
        assert agent_seconds == pytest.approx(daily.totals.seconds[status], abs=1e-3)
    [support_curve] = curve.tags
    tagged = [row for row in daily.rows if row.agent_id in {agents[0].pk, agents[3].pk}]
    assert sum(
        count * slot.seconds for count, slot in zip(support_curve.available, curve.slots, strict=True)
    ) == (pytest.approx(sum(row.totals.seconds["available"] for row in tagged), abs=1e-3))
    # Nobody has time after now: the slots after it are empty.
    assert curve.slot_total(len(curve.slots) - 1) == 0
    assert daily.totals.total_seconds == pytest.approx(
        sum(row.totals.total_seconds for row in daily.rows), abs=1e-6
    )


def data_queries(captured) -> list[str]:
    """The queries that read data (not BEGIN, SAVEPOINT, RELEASE or PostgreSQL's SET LOCAL jit)."""
    control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK", "SET ")
    return [query["sql"] for query in captured.captured_queries if not query["sql"].startswith(control)]


def test_the_report_is_two_queries_whatever_the_number_of_agents(customer):
    _random_day(customer, 4, seed=3)
    start, stop = at("2025-03-29 00:00"), at("2025-04-01 00:00")
    later = datetime(2030, 1, 1, tzinfo=UTC)
    for call, queries in [
        (lambda: report(customer, start, stop), 2),
        (lambda: report(customer, start, stop, interval="total"), 2),
        (lambda: selectors.agent_timeline(customer=customer, day=date(2025, 3, 30), now=later), 2),
        (lambda: selectors.staffing_curve(customer=customer, day=date(2025, 3, 30), now=later), 3),
    ]:
        with CaptureQueriesContext(connection) as captured:
            call()
        assert len(data_queries(captured)) == queries


def test_ranges_are_checked():
    berlin = ZoneInfo("Europe/Berlin")
    start, stop = periods.clean_range("2025-01-01", "2025-04-03", berlin)  # 92 days
    assert (start, stop) == (at("2025-01-01 00:00", "Europe/Berlin"), at("2025-04-03 00:00", "Europe/Berlin"))
    assert periods.clean_range("2025-01-01 10:00:00.5", "2025-01-02 10:00:00", berlin)[0] == datetime(
        2025, 1, 1, 10, 0, 0, 500000, tzinfo=UTC
    )
    for raw_from, raw_to in [
        ("2025-01-01", "2025-04-04"),
        ("2025-01-02", "2025-01-01"),
        ("2025-01-01", "2025-01-01"),
        ("2025-01-01", None),
        ("yesterday", "2025-01-01"),
        ("2025-02-30", "2025-03-01"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            periods.clean_range(raw_from, raw_to, berlin)
        assert caught.value.reason == "INVALID_RANGE"
    periods.clean_range("2025-01-01", "2025-01-08", berlin, interval="hour")
    with pytest.raises(InvalidArgument):
        periods.clean_range("2025-01-01", "2025-01-08 00:00:01", berlin, interval="hour")


def test_a_customers_time_zone_is_an_iana_name_changed_by_its_admins(customer, admin_a, manager_a, admin_b):
    assert customer.time_zone == "UTC"
    assert customer_update(actor=admin_a, customer=customer, time_zone="America/New_York").time_zone == (
        "America/New_York"
    )
    for bad in ["Mars/Olympus", "", "../etc/passwd", "x" * 65, 5]:
        with pytest.raises(InvalidArgument) as caught:
            customer_update(actor=admin_a, customer=customer, time_zone=bad)
        assert caught.value.reason == "INVALID_TIME_ZONE"
    for outsider in [manager_a, admin_b]:
        with pytest.raises(PermissionDenied):
            customer_update(actor=outsider, customer=customer, time_zone="Europe/Berlin")
    # Admins change only the time zone; the name stays the operators'.
    with pytest.raises(DomainError):
        customer_update(actor=admin_a, customer=customer, name="Renamed")
    assert Customer.objects.get(pk=customer.pk).time_zone == "America/New_York"


def test_past_statuses_are_written_once_and_leave_the_agent_in_its_last_status(customer):
    agent = with_past(customer, at("2025-01-06 08:00"), [(at("2025-01-06 09:00"), "available", "")])
    assert (agent.status, agent.tm_status) == ("available", at("2025-01-06 09:00"))
    with pytest.raises(DomainError):
        agent_record_past_statuses(actor=SYSTEM, agent=agent, created_at=at("2025-01-01 00:00"), changes=[])


def test_seed_demo_records_a_past_week_that_fills_the_reports(db):
    call_command("seed_demo", stdout=io.StringIO())
    acme = Customer.objects.get(name="Acme Support")
    assert acme.time_zone == "America/New_York"
    zone = ZoneInfo(acme.time_zone)
    now = datetime.now(UTC)
    week = report(acme, now - timedelta(days=7), now, interval="day", now=now)
    assert len(week.rows) >= 24
    totals = week.totals
    assert all(totals.seconds[status] > 0 for status in selectors.STATUSES)
    assert totals.away_reasons.get("lunch", 0) > 24 * 30 * 60  # a lunch a working day
    assert 0.1 < totals.occupancy < 0.9
    # Every agent is in the status its last recorded change set.
    for agent in Agent.objects.filter(customer=acme, username__contains="agent"):
        last = AgentStatusChange.objects.filter(agent=agent).order_by("-tm_create", "-id").first()
        assert (agent.status, agent.tm_status) == (last.to_status, last.tm_create)
        assert last.tm_create <= now
    # Days start at midnight in New York.
    assert all(bucket.start.astimezone(zone).time() == datetime.min.time() for bucket in week.buckets[1:])


def test_operators_change_a_customers_time_zone_in_the_admin_site(operator, customer_a):
    url = f"/admin/agents/customer/{customer_a.pk}/change/"
    form = {"name": customer_a.name, "detail": "", "time_zone": "Mars/Olympus"}
    response = operator.post(url, form, secure=True)
    assert response.status_code == 200
    assert "time_zone must be an IANA time zone name" in response.content.decode() or (
        "Not a known time zone." in response.content.decode()
    )
    assert Customer.objects.get(pk=customer_a.pk).time_zone == "UTC"
    response = operator.post(url, {**form, "time_zone": "Asia/Kolkata"}, secure=True)
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer_a.pk).time_zone == "Asia/Kolkata"


def test_admins_change_the_time_zone_in_the_console_and_managers_may_not(client, admin_a, manager_a):
    client.force_login(manager_a)
    assert client.get("/reports/time-zone/", secure=True).status_code == 403
    client.force_login(admin_a)
    assert client.get("/reports/time-zone/", secure=True).status_code == 200
    response = client.post("/reports/time-zone/", {"time_zone": "Europe/Berlin"}, secure=True, follow=True)
    assert response.redirect_chain[-1][1] == 302
    assert "Reports now count days and hours in Europe/Berlin." in response.content.decode()
    assert Customer.objects.get(pk=admin_a.customer_id).time_zone == "Europe/Berlin"
    assert client.post("/reports/time-zone/", {"time_zone": "Nowhere/Land"}, secure=True).status_code == 200
    assert Customer.objects.get(pk=admin_a.customer_id).time_zone == "Europe/Berlin"


def test_the_console_pages_and_the_csv_agree_with_the_report(client, admin_a, customer):
    with_past(customer, at("2025-01-06 08:00"), [(at("2025-01-06 09:00"), "busy", "call")], username="zed")
    client.force_login(admin_a)
    query = "start=2025-01-06&end=2025-01-06"
    page = client.get(f"/reports/?{query}", secure=True).content.decode()
    assert "zed" in page
    assert "15:00:00" in page  # busy from 09:00 to midnight
    exported = client.get(f"/reports/export.csv?{query}", secure=True)
    assert exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().splitlines()
    assert lines[0].startswith("username,name,available_seconds")
    assert lines[1].startswith("zed,,0.0,0.0,54000.0,0.0,3600.0,")
    assert (
        client.get("/reports/?start=2025-01-01&end=2025-06-01", secure=True).status_code == 200
    )  # refused politely
    for path in ["/reports/timeline/?day=2025-01-06", "/reports/curve/?day=2025-01-06", "/reports/?start=x"]:
        assert client.get(path, secure=True).status_code == 200
