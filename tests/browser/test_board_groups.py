"""A large board shows each status group's first tiles and counts the rest (agents.selectors.
BOARD_GROUP_TILES); the event stream still moves the counts, the groups' sizes and the tag
coverage for an agent without a tile (static/js/live.js), without fetching the board."""

from __future__ import annotations

from playwright.sync_api import expect

from agents import selectors, services
from agents.models import Agent
from agents.permissions import SYSTEM
from tests.browser.conftest import scripts_ready
from tests.factories import make_agent, make_tag


def _set_status(agent, status: str) -> None:
    # A fresh read: the event carries the agent's tags as stored.
    services.agent_set_status(actor=SYSTEM, agent=Agent.objects.get(pk=agent.pk), status=status)


def test_an_agent_without_a_tile_still_moves_the_counts(page, sign_in, admin_a, floor, monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_GROUP_TILES", 1)
    tag = make_tag(admin_a.customer_id, name="overflow")
    # By name: "A first" has the offline group's one tile (no other agent's name starts
    # before it), "Z last" none.
    make_agent(admin_a.customer_id, username="first", name="A first")
    hidden = make_agent(admin_a.customer_id, username="zed", name="Z last")
    services.agent_replace_tags(actor=SYSTEM, agent=hidden, tag_ids=[tag.id])
    make_agent(admin_a.customer_id, username="yan", name="Y other")
    sign_in("alice-admin")
    polls = []
    page.on("request", lambda request: "/board/live/" in request.url and polls.append(request.url))
    page.goto("/board/")
    scripts_ready(page)
    expect(page.locator("body")).to_have_attribute("data-stream", "live")

    offline_group = page.locator('[data-group="offline"]')
    available_group = page.locator('[data-group="available"]')
    offline_count = page.locator('[data-status-count="offline"] .count-n')
    available_count = page.locator('[data-status-count="available"] .count-n')
    offline, available = int(offline_count.inner_text()), int(available_count.inner_text())
    expect(offline_group.locator(".tile")).to_have_count(1)
    expect(offline_group.locator(".group-n")).to_have_text(str(offline))
    expect(offline_group.locator("[data-more-n]")).to_have_text(str(offline - 1))
    expect(page.locator('.tile[data-agent="zed"]')).to_have_count(0)
    coverage = page.locator('[data-tag="overflow"] .coverage-n b')
    expect(coverage).to_have_text("0")

    _set_status(hidden, "available")  # no tile anywhere: counts, sizes and coverage follow

    expect(available_count).to_have_text(str(available + 1))
    expect(offline_count).to_have_text(str(offline - 1))
    expect(offline_group.locator(".group-n")).to_have_text(str(offline - 1))
    expect(offline_group.locator("[data-more-n]")).to_have_text(str(offline - 2))
    expect(available_group).to_be_visible()
    expect(available_group.locator(".group-n")).to_have_text(str(available + 1))
    expect(coverage).to_have_text("1")
    expect(page.locator('.tile[data-agent="zed"]')).to_have_count(0)

    _set_status(hidden, "away")  # and again, from where the first event left it

    expect(available_count).to_have_text(str(available))
    expect(page.locator('[data-status-count="away"] .count-n')).not_to_have_text("0")
    expect(available_group.locator(".group-n")).to_have_text(str(available))
    expect(coverage).to_have_text("0")
    assert polls == [], polls
