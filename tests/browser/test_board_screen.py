"""The board as people look at it: keyboard focus stays on the tile it was on while the board
changes, names are not cut while there is room, and the wall screen shows 100 agents on a
1920x1080 screen without scrolling."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

from agents import services
from agents.models import AgentStatus
from agents.permissions import SYSTEM
from tests.browser.conftest import SELECT_WIDTHS, scripts_ready
from tests.factories import make_agent, make_tag

pytestmark = pytest.mark.browser

FOCUSED_TILE = "document.activeElement.closest('.tile')?.dataset.agent ?? document.activeElement.tagName"

#: Tile names that are cut (an ellipsis or a clamped line): [name, shown width, needed width].
CUT_NAMES = """() => Array.from(document.querySelectorAll(".tile-name"))
    .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
    .map((el) => [el.textContent, el.clientWidth, el.scrollWidth])"""


def _stream_is_live(page) -> None:
    scripts_ready(page)
    expect(page.locator("body")).to_have_attribute("data-stream", "live")


def test_focus_stays_on_a_tile_while_the_board_changes(page, sign_in, admin_a, agent_a, floor):
    sign_in("alice-admin")
    page.goto("/board/")
    _stream_is_live(page)
    ada = page.locator('.tile[data-agent="ada"]')
    ada.locator(".tile-name").focus()
    assert page.evaluate(FOCUSED_TILE) == "ada"

    # Another agent changes: applied in place from the event stream.
    agent_a.refresh_from_db()
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="busy")
    expect(page.locator('.tile[data-agent="pat-agent"]')).to_have_attribute("data-status", "busy")
    assert page.evaluate(FOCUSED_TILE) == "ada"

    # The focused agent itself changes status: its tile moves to another group, focus with it.
    ada_agent = admin_a.customer.agents.get(username="ada")
    services.agent_set_status(actor=SYSTEM, agent=ada_agent, status="away")
    expect(page.locator('[data-group="away"] .tile[data-agent="ada"]')).to_have_count(1)
    assert page.evaluate(FOCUSED_TILE) == "ada"

    # A change the page cannot apply itself (a rename): the board's live part is fetched and
    # swapped; the focus is put back on the same agent's tile.
    services.agent_update(actor=SYSTEM, agent=agent_a, name="Pat Renamed")
    expect(page.locator('.tile[data-agent="pat-agent"] .tile-name')).to_have_text("Pat Renamed")
    assert page.evaluate(FOCUSED_TILE) == "ada"


def test_tile_names_are_not_cut_while_there_is_room(page, sign_in, admin_a, floor):
    make_agent(admin_a.customer_id, username="donald-t", name="Donald Torvaldsen")
    make_agent(admin_a.customer_id, username="long-name", name="Maximiliane Anastasia Wolkenstein-Trostburg")
    sign_in("alice-admin")
    page.goto("/board/")
    scripts_ready(page)
    expect(page.locator('.tile[data-agent="donald-t"]')).to_have_count(1)
    assert page.evaluate(CUT_NAMES) == []
    # The status filter has room for its longest choice ("Available" was cut to "Availabl").
    needed, width = page.get_by_label("Status", exact=True).evaluate(SELECT_WIDTHS)
    assert needed <= width, (needed, width)


FIRST = ["Donald", "Margaret", "Ada", "Grace", "Alan", "Radia", "Barbara", "Linus", "Ken", "Frances"]
LAST = ["Torvaldsen", "Hamilton", "Lovelace", "Hopper", "Turing", "Perlman", "Liskov", "Thompson", "Allen"]
LAST += ["Ng"]


def test_the_wall_shows_100_agents_on_a_1920x1080_screen(page, sign_in, screenshot, admin_a):
    statuses = itertools.cycle(
        [AgentStatus.AVAILABLE, AgentStatus.BUSY, AgentStatus.AWAY, AgentStatus.OFFLINE, AgentStatus.RINGING]
    )
    tags = [make_tag(admin_a.customer_id, name=name).id for name in ("english", "german", "billing", "sales")]
    for index, (first, last) in enumerate(itertools.islice(itertools.product(FIRST, LAST), 99)):
        agent = make_agent(
            admin_a.customer_id, username=f"wall-{index}", name=f"{first} {last}", tag_ids=[tags[index % 4]]
        )
        services.agent_set_status(actor=SYSTEM, agent=agent, status=next(statuses))
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in("alice-admin")  # the 100th agent
    page.goto("/board/?wall=1")
    scripts_ready(page)
    expect(page.locator(".tile")).to_have_count(100)
    expect(page.locator("#board-filters")).to_be_hidden()  # no filter bar on the wall
    size = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight]")
    assert size[0] <= 1920, size
    assert size[1] <= 1080, size
    assert page.evaluate(CUT_NAMES) == []
    screenshot(page, "board-wall-100-agents-1920x1080", full_page=False)
