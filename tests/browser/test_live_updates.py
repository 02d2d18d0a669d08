"""The console's pages follow the event stream (static/js/live.js): the board, the agents list,
an agent's page and one's own page change as agents change, without polling; the board falls
back to polling while the stream is down, says so, and resumes."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from agents import services
from agents.permissions import SYSTEM
from tests.browser.conftest import scripts_ready
from tests.factories import make_agent


def _set_status(agent, status: str) -> None:
    """A change made by another door (here the services, in the server's own process)."""
    agent.refresh_from_db()
    services.agent_set_status(actor=SYSTEM, agent=agent, status=status)


def _stream_is_live(page) -> None:
    scripts_ready(page)
    expect(page.locator("body")).to_have_attribute("data-stream", "live")


def test_a_filtered_board_keeps_counts_and_tiles_right(page, sign_in, admin_a, agent_a, floor):
    sign_in("alice-admin")
    polls = []
    page.on("request", lambda request: "/board/live/" in request.url and polls.append(request.url))
    page.goto("/board/?status=offline")
    _stream_is_live(page)
    offline = page.locator('[data-status-count="offline"] .count-n')
    busy = page.locator('[data-status-count="busy"] .count-n')
    before, busy_before = int(offline.inner_text()), int(busy.inner_text())
    expect(page.locator('.tile[data-agent="pat-agent"]')).to_have_count(1)

    _set_status(agent_a, "busy")  # leaves the filter: its tile goes, the counts follow

    expect(page.locator('.tile[data-agent="pat-agent"]')).to_have_count(0)
    expect(offline).to_have_text(str(before - 1))
    expect(busy).to_have_text(str(busy_before + 1))
    assert polls == [], polls

    _set_status(agent_a, "offline")  # matches the filter again: the server renders its tile

    expect(page.locator('.tile[data-agent="pat-agent"]')).to_have_count(1)
    expect(offline).to_have_text(str(before))


def test_a_new_agent_appears_on_the_board(page, sign_in, admin_a, floor):
    sign_in("alice-admin")
    page.goto("/board/")
    _stream_is_live(page)
    make_agent(admin_a.customer_id, username="newcomer", name="New Comer")
    expect(page.locator('.tile[data-agent="newcomer"]')).to_have_count(1)


def test_the_board_says_reconnecting_polls_and_resumes_when_the_stream_drops(
    page, sign_in, admin_a, agent_a, floor
):
    sockets = []
    down = []  # while true, the "network" refuses the stream

    def through_playwright(ws):
        if down:
            ws.close(code=1006)
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/v1\.0/ws$"), through_playwright)
    sign_in("alice-admin")
    polls = []
    page.on("request", lambda request: "/board/live/" in request.url and polls.append(request.url))
    page.goto("/board/")
    _stream_is_live(page)
    opened = len(sockets)  # signing in landed on the board once already

    down.append(True)
    sockets[-1].close(code=1011, reason="test")  # the stream drops, and stays down a while

    expect(page.locator("[data-stream-state]")).to_have_text("Reconnecting…")
    _set_status(agent_a, "away")
    # While it is down, the board polls: the change comes that way.
    expect(page.locator('.tile[data-agent="pat-agent"]')).to_have_attribute("data-status", "away")
    assert polls

    down.clear()
    expect(page.locator("body")).to_have_attribute("data-stream", "live", timeout=15000)
    assert len(sockets) == opened + 1  # it came back by itself
    page.wait_for_timeout(1200)  # a poll already on its way may still land
    polled = len(polls)

    _set_status(agent_a, "busy")  # and by the stream again
    expect(page.locator('.tile[data-agent="pat-agent"]')).to_have_attribute("data-status", "busy")
    assert len(polls) == polled


def test_the_agents_list_and_an_agents_pages_show_status_changes_live(page, sign_in, admin_a, agent_a, floor):
    sign_in("alice-admin")
    page.goto("/agents/")
    _stream_is_live(page)
    pill = page.locator('tr[data-agent="pat-agent"] [data-live-status]')
    expect(pill).to_have_text("offline")
    _set_status(agent_a, "available")
    expect(pill).to_have_text("available")
    expect(pill).to_have_class(re.compile("status-available"))

    page.goto(f"/agents/{agent_a.id}/")
    _stream_is_live(page)
    pill = page.locator(".agent-sub [data-live-status]")
    expect(pill).to_have_text("available")
    _set_status(agent_a, "away")
    expect(pill).to_have_text("away")


def test_an_agent_sees_its_own_status_change_live(page, sign_in, agent_a):
    sign_in("pat-agent")
    page.goto("/me/")
    _stream_is_live(page)
    pill = page.locator(".agent-sub [data-live-status]")
    expect(pill).to_have_text("offline")
    _set_status(agent_a, "ringing")  # a dialer rang its phone
    expect(pill).to_have_text("ringing")
