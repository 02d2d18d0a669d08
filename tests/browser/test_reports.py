"""The report pages in Chromium: the status report (sort, CSV with the same numbers), the
timeline (segment details on hover and focus, click through) and the staffing curve, at
1440 x 900 and at 390 x 844 (the page never scrolls sideways). Screenshots:
reports-<status|timeline|curve>-<desktop|phone>.png."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agents.management.commands.seed_demo import working_week
from agents.permissions import SYSTEM
from agents.services import agent_replace_tags, customer_update
from agents.services.history import agent_record_past_statuses
from tests.factories import make_agent, make_tag

pytestmark = pytest.mark.browser

ZONE = "Europe/Berlin"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def staffed(admin_a):
    """Eight agents of customer A with a past week of work (as seed_demo records it)."""
    customer = customer_update(actor=SYSTEM, customer=admin_a.customer, time_zone=ZONE)
    tags = [make_tag(customer.pk, name=name) for name in ("english", "billing", "vip")]
    rng = random.Random(15)
    now = datetime.now(UTC)
    agents = []
    for number in range(8):
        agent = make_agent(customer.pk, username=f"agent-{number:02d}", name=f"Agent {number}")
        agent_replace_tags(actor=SYSTEM, agent=agent, tag_ids=[tags[number % 3].pk])
        created, changes = working_week(rng, ZoneInfo(ZONE), now)
        agents.append(
            agent_record_past_statuses(actor=SYSTEM, agent=agent, created_at=created, changes=changes)
        )
    yesterday = now.astimezone(ZoneInfo(ZONE)).date() - timedelta(days=1)
    while yesterday.weekday() >= 5:  # a working day
        yesterday -= timedelta(days=1)
    return agents, yesterday


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def hms_to_seconds(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_status_report_sorts_and_exports_the_same_numbers(page, sign_in, screenshot, admin_a, staffed):
    _, day = staffed
    sign_in(admin_a.username)
    page.get_by_role("link", name="Reports").first.click()
    page.wait_for_url("**/reports/")
    page.goto(f"/reports/?start={day}&end={day}")
    table = page.locator("table.report-table")
    assert table.locator("tbody tr").count() == 8  # the admin's own day was today, not then
    page.get_by_role("link", name="Busy").click()
    page.wait_for_url("**sort=busy**")
    header = page.locator("th[aria-sort='descending']")
    assert "busy" in header.inner_text().lower()
    busy = [hms_to_seconds(text) for text in table.locator("tbody tr td:nth-child(4)").all_inner_texts()]
    assert busy == sorted(busy, reverse=True)
    assert busy[0] > 0
    screenshot(page, "reports-status-desktop")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    with open(download_info.value.path(), encoding="utf-8") as exported_file:
        rows = list(csv.DictReader(io.StringIO(exported_file.read())))
    assert len(rows) == 9  # 8 agents and the total
    first_on_page = table.locator("tbody tr").first.locator("th a").inner_text()
    exported = next(row for row in rows if row["username"] == first_on_page)
    assert round(float(exported["busy_seconds"])) == busy[0]
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    screenshot(page, "reports-status-phone")


def test_timeline_tells_each_segment_and_clicks_through(page, sign_in, screenshot, admin_a, staffed):
    agents, day = staffed
    sign_in(admin_a.username)
    page.goto(f"/reports/timeline/?day={day}")
    rows = page.locator(".timeline-row:not(.timeline-axis)")
    assert rows.count() == 8
    segment = rows.first.locator("a.seg").nth(1)
    segment.hover()
    detail = page.locator("[data-seg-detail]")
    assert "agent-00: Available from" in detail.inner_text() or " from " in detail.inner_text()
    assert "changed by" in detail.inner_text()
    label = segment.get_attribute("aria-label")
    assert " to " in label
    assert "changed by system" in label
    # Focus (keyboard) tells the same.
    rows.nth(1).locator("a.seg").first.focus()
    assert detail.inner_text().startswith("agent-01: ")
    screenshot(page, "reports-timeline-desktop")
    # The table equivalent lists the same intervals.
    page.get_by_text("The intervals as a table").click()
    assert page.locator("details.report-table-details tbody tr").count() == page.locator("a.seg").count()
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    screenshot(page, "reports-timeline-phone")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator(".timeline-row:not(.timeline-axis)").first.locator("a.seg").first.click()
    page.wait_for_url(f"**/agents/{agents[0].pk}/")


def test_staffing_curve_stacks_statuses_and_shows_tags(page, sign_in, screenshot, admin_a, staffed):
    _, day = staffed
    sign_in(admin_a.username)
    page.goto(f"/reports/curve/?day={day}")
    assert page.locator("svg.curve-svg g.slot").count() in (92, 96, 100)
    assert page.locator("svg.curve-svg rect.status-available").count() > 10
    assert page.locator(".coverage-row").count() == 3
    assert page.locator(".coverage-name b").all_inner_texts() == ["billing", "english", "vip"]
    screenshot(page, "reports-curve-desktop")
    page.get_by_text("The curve as a table").click()
    assert page.locator("details.report-table-details").first.locator("tbody tr").count() in (92, 96, 100)
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    screenshot(page, "reports-curve-phone")
