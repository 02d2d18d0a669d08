"""Contract section 12 through the API: an agent's status history and the status report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.models import AccessKey, Agent, AgentStatusChange
from agents.permissions import SYSTEM
from agents.services import agent_set_status, customer_update
from agents.services.history import agent_record_past_statuses
from tests.api_support import UNAUTHENTICATED_CALLERS, error_of
from tests.factories import make_agent
from voipbin_admin.timestamps import format_timestamp

pytestmark = pytest.mark.django_db

FIGURE_KEYS = {"seconds", "signed_in_seconds", "occupancy", "changes", "away_reasons"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def worker(customer_a):
    """An agent of A with a past: created on 2025-01-06 at 08:00 UTC, then a working morning."""
    agent = make_agent(customer_a.pk, username="wendy-worker")
    return agent_record_past_statuses(
        actor=SYSTEM,
        agent=agent,
        created_at=at("2025-01-06 08:00"),
        changes=[
            (at("2025-01-06 09:00"), "available", "shift"),
            (at("2025-01-06 10:00"), "busy", "call"),
            (at("2025-01-06 10:30"), "away", "Lunch"),
            (at("2025-01-06 11:00"), "available", ""),
            (at("2025-01-06 12:00"), "offline", "done"),
        ],
    )


def history(api, agent, token, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return api.get(f"/v1.0/agents/{agent.pk}/status_history?{query}", token=token)


# --- GET /v1.0/agents/{id}/status_history ------------------------------------------------------


def test_history_is_the_agents_changes_newest_first(api, callers, worker):
    response = history(api, worker, callers["admin"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"result", "next_page_token"}
    items = body["result"]
    assert [(item["from_status"], item["to_status"], item["reason"]) for item in items] == [
        ("available", "offline", "done"),
        ("away", "available", ""),
        ("busy", "away", "Lunch"),
        ("available", "busy", "call"),
        ("offline", "available", "shift"),
        ("", "offline", "created"),
    ]
    assert list(items[0]) == [
        "id",
        "agent_id",
        "from_status",
        "to_status",
        "reason",
        "changed_by",
        "tm_create",
    ]
    assert items[0]["agent_id"] == str(worker.pk)
    assert items[0]["tm_create"] == "2025-01-06 12:00:00.000000"
    assert items[0]["changed_by"] == {"type": "system", "id": "", "name": ""}


def test_history_names_who_made_each_change(api, callers, admin_a, agent_a, customer_a):
    key = AccessKey.objects.get(customer=customer_a, name="test key", tm_expire__gt=datetime.now(UTC))
    agent_set_status(actor=admin_a, agent=agent_a, status="available")
    agent_set_status(actor=agent_a, agent=Agent.objects.get(pk=agent_a.pk), status="busy")
    agent_set_status(actor=key, agent=Agent.objects.get(pk=agent_a.pk), status="away", reason="Break")
    items = history(api, agent_a, callers["agent"]).json()["result"]  # the agent itself may read it
    assert [item["changed_by"] for item in items[:3]] == [
        {"type": "access_key", "id": str(key.pk), "name": "test key"},
        {"type": "agent", "id": str(agent_a.pk), "name": "pat-agent"},
        {"type": "agent", "id": str(admin_a.pk), "name": "alice-admin"},
    ]


def test_history_pages_skip_and_repeat_nothing_even_when_changes_share_a_time(api, callers, worker):
    same = AgentStatusChange.objects.filter(agent=worker).order_by("id")[1:4]
    AgentStatusChange.objects.filter(pk__in=[change.pk for change in same]).update(
        tm_create=at("2025-01-06 10:00")
    )
    everything = [item["id"] for item in history(api, worker, callers["admin"]).json()["result"]]
    seen, token = [], ""
    for _ in range(10):
        body = history(api, worker, callers["admin"], page_size=2, page_token=token).json()
        if not body["result"]:
            assert body["next_page_token"] == ""
            break
        assert len(body["result"]) <= 2
        seen += [item["id"] for item in body["result"]]
        token = body["next_page_token"]
    assert seen == everything
    assert len(set(seen)) == 6
    # A bare timestamp: the changes strictly before it.
    older = history(api, worker, callers["admin"], page_token="2025-01-06 10:30:00.000000").json()["result"]
    assert {item["tm_create"] for item in older} <= {
        "2025-01-06 10:00:00.000000",
        "2025-01-06 08:00:00.000000",
    }
    assert len(older) == 4


def test_history_from_is_inclusive_and_to_exclusive(api, callers, worker):
    items = history(
        api,
        worker,
        callers["admin"],
        **{"from": "2025-01-06%2010:00:00.000000", "to": "2025-01-06%2011:00:00"},
    ).json()["result"]
    assert [item["tm_create"] for item in items] == [
        "2025-01-06 10:30:00.000000",
        "2025-01-06 10:00:00.000000",
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": "yesterday"}, "INVALID_RANGE"),
        ({"to": "2025-13-01"}, "INVALID_RANGE"),
        ({"page_token": "nonsense!"}, "INVALID_PAGE_TOKEN"),
        ({"page_size": "0"}, "INVALID_PAGE_SIZE"),
    ],
)
def test_history_refuses_bad_parameters(api, callers, worker, params, reason):
    assert error_of(history(api, worker, callers["admin"], **params)) == (400, "INVALID_ARGUMENT", reason)


def test_history_is_for_supervisors_and_the_agent_itself(api, callers, worker, agent_a):
    for caller in ["admin", "manager", "access_key"]:
        assert history(api, worker, callers[caller]).status_code == 200, caller
    assert history(api, agent_a, callers["agent"]).status_code == 200
    assert error_of(history(api, worker, callers["agent"]))[0] == 403
    # Another customer's agent is answered as a missing one.
    assert error_of(history(api, worker, callers["other_customer"])) == (404, "NOT_FOUND", "AGENT_NOT_FOUND")
    for caller, expected in UNAUTHENTICATED_CALLERS.items():
        assert error_of(history(api, worker, callers[caller])) == expected
    assert (
        error_of(api.get("/v1.0/agents/not-a-uuid/status_history", token=callers["admin"]))[2] == "INVALID_ID"
    )


# --- GET /v1.0/reports/agent_status --------------------------------------------------------------


def report(api, token, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return api.get(f"/v1.0/reports/agent_status?{query}", token=token)


def test_the_report_answers_the_contracts_shape_and_numbers(api, callers, worker):
    response = report(api, callers["admin"], **{"from": "2025-01-06", "to": "2025-01-08"})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["from", "to", "time_zone", "interval", "result"]
    assert (body["from"], body["to"], body["time_zone"], body["interval"]) == (
        "2025-01-06 00:00:00.000000",
        "2025-01-08 00:00:00.000000",
        "UTC",
        "day",
    )
    [row] = body["result"]  # the admins and the others have no time in 2025
    assert list(row) == ["agent_id", "username", "name", "totals", "buckets"]
    assert (row["agent_id"], row["username"]) == (str(worker.pk), "wendy-worker")
    assert set(row["totals"]) == FIGURE_KEYS
    assert row["totals"]["seconds"] == {
        "available": 7200.0,
        "away": 1800.0,
        "busy": 1800.0,
        "offline": (1 + 12 + 24) * 3600.0,
        "ringing": 0.0,
    }
    assert row["totals"]["signed_in_seconds"] == 3 * 3600
    assert row["totals"]["occupancy"] == pytest.approx(1 / 6, abs=1e-6)
    assert row["totals"]["changes"] == 5
    assert row["totals"]["away_reasons"] == [{"reason": "Lunch", "seconds": 1800.0}]
    first, second = row["buckets"]
    assert list(first)[:2] == ["start", "end"]
    assert (first["start"], first["end"]) == ("2025-01-06 00:00:00.000000", "2025-01-07 00:00:00.000000")
    assert sum(first["seconds"].values()) == 16 * 3600
    assert second["seconds"]["offline"] == 24 * 3600
    assert second["changes"] == 0


def test_dates_are_midnights_in_the_customers_time_zone_and_hours_follow_it(api, callers, worker, customer_a):
    customer_update(actor=SYSTEM, customer=customer_a, time_zone="America/New_York")
    body = report(
        api, callers["admin"], **{"from": "2025-01-06", "to": "2025-01-07", "interval": "hour"}
    ).json()
    assert (body["from"], body["to"], body["time_zone"]) == (
        "2025-01-06 05:00:00.000000",
        "2025-01-07 05:00:00.000000",
        "America/New_York",
    )
    [row] = body["result"]
    assert len(row["buckets"]) == 24
    assert row["buckets"][3]["start"] == "2025-01-06 08:00:00.000000"  # 03:00 in New York
    assert row["buckets"][3]["seconds"]["offline"] == 3600
    assert sum(sum(bucket["seconds"].values()) for bucket in row["buckets"]) == 21 * 3600  # from 08:00 UTC


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "INVALID_RANGE"),
        ({"from": "2025-01-06"}, "INVALID_RANGE"),
        ({"from": "2025-01-06", "to": "2025-01-06"}, "INVALID_RANGE"),
        ({"from": "2025-01-07", "to": "2025-01-06"}, "INVALID_RANGE"),
        ({"from": "2025-01-01", "to": "2025-04-04"}, "INVALID_RANGE"),  # 93 days
        ({"from": "2025-01-01", "to": "2025-01-09", "interval": "hour"}, "INVALID_RANGE"),
        ({"from": "soon", "to": "2025-01-09"}, "INVALID_RANGE"),
        ({"from": "2025-01-01", "to": "2025-01-02", "interval": "week"}, "INVALID_INTERVAL"),
        ({"from": "2025-01-01", "to": "2025-01-02", "agent_ids": ""}, "INVALID_AGENT_IDS"),
        ({"from": "2025-01-01", "to": "2025-01-02", "agent_ids": "x"}, "INVALID_AGENT_IDS"),
        ({"from": "2025-01-01", "to": "2025-01-02", "tag_ids": ","}, "INVALID_TAG_IDS"),
    ],
)
def test_the_report_refuses_bad_ranges_and_filters(api, callers, params, reason):
    assert error_of(report(api, callers["admin"], **params)) == (400, "INVALID_ARGUMENT", reason)


def test_92_days_is_allowed(api, callers, worker):
    assert report(api, callers["admin"], **{"from": "2025-01-01", "to": "2025-04-03"}).status_code == 200


def test_the_report_is_for_the_callers_customer_only(api, callers, worker, admin_b):
    make_agent(admin_b.customer_id, username="bert-b")
    params = {"from": "2024-01-01", "to": "2024-04-01"}
    for caller in ["admin", "manager", "access_key"]:
        assert report(api, callers[caller], **params).status_code == 200, caller
    assert error_of(report(api, callers["agent"], **params))[0] == 403
    for caller, expected in UNAUTHENTICATED_CALLERS.items():
        assert error_of(report(api, callers[caller], **params)) == expected
    now = datetime.now(UTC)
    today = {
        "from": format_timestamp(now - timedelta(hours=1)).replace(" ", "%20"),
        "to": (now + timedelta(days=1)).date().isoformat(),
    }
    mine = {row["username"] for row in report(api, callers["admin"], **today).json()["result"]}
    theirs = {row["username"] for row in report(api, callers["other_customer"], **today).json()["result"]}
    assert "pat-agent" in mine
    assert "bert-b" not in mine
    assert theirs == {"bob-admin", "bert-b"}
    # B asking for A's agents by id gets nothing of them.
    asked = report(
        api, callers["other_customer"], agent_ids=str(worker.pk), **{"from": "2025-01-06", "to": "2025-01-07"}
    )
    assert asked.status_code == 200
    assert asked.json()["result"] == []


def test_the_report_filters_by_agents(api, callers, worker, agent_a):
    params = {"from": "2020-01-01", "to": "2020-01-02"}
    assert report(api, callers["admin"], agent_ids=str(worker.pk), **params).json()["result"] == []
    params = {"from": "2025-01-06", "to": "2025-01-07"}
    result = report(api, callers["admin"], agent_ids=f"{worker.pk},{agent_a.pk}", **params).json()["result"]
    assert [row["username"] for row in result] == ["wendy-worker"]
