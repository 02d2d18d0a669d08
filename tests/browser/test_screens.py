"""Every console page on a desktop (1440x900) and on a phone (390x844): the page never scrolls
sideways, every text field is wide enough to type in, axe-core finds no WCAG 2.1 A/AA violation,
and a screenshot of each is saved as test-artifacts/screenshots/<page>-<desktop|phone>.png.

The pages are the list SCREENS below: a new page is one more `Screen` (a path, or a function
that gets there when it is the answer to a form). One test per size visits each page once and
reports every problem of every page together.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from agents import services
from agents.permissions import SYSTEM
from tests.browser.conftest import SELECT_WIDTHS, SIZES, scripts_ready, sign_in_as
from tests.factories import PASSWORD, make_agent

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MIN_FIELD_WIDTH = 120

#: The text fields a person types into (hidden ones, e.g. in folded filters, are left out).
TEXT_FIELDS = (
    'input:is([type="text"], [type="search"], [type="password"], [type="email"], [type="number"],'
    ' [type="url"], [type="tel"], :not([type])), textarea'
)


@dataclass(frozen=True)
class Screen:
    name: str
    #: Who is signed in (a username), or None for nobody.
    user: str | None
    #: A path (formatted with the data of `screens_data`), or a function that opens the page.
    path: str | Callable[[Page, dict], None]


def _import_preview(page: Page, data: dict) -> None:
    page.goto("/agents/import/")
    csv_file = {
        "name": "agents.csv",
        "mimeType": "text/csv",
        "buffer": b"username,name,detail,status\nada,Ada King,night shift,busy\n"
        b"newbie,New Bie,,available\nbad user,,,sleeping\n",
    }
    page.get_by_label("CSV file").set_input_files(files=[csv_file])
    page.get_by_role("button", name="Preview import").click()
    expect(page.locator("[data-import-preview]")).to_be_visible()


def _import_detail(page: Page, data: dict) -> None:
    page.goto("/agents/import/")
    csv_file = {"name": "agents.csv", "mimeType": "text/csv", "buffer": b"username,name\nada,Ada Byron\n"}
    page.get_by_label("CSV file").set_input_files(files=[csv_file])
    page.get_by_role("button", name="Preview import").click()
    page.get_by_role("button", name="Apply import").click()
    expect(page.locator("[data-import-progress]")).to_be_visible()


def _import_result(page: Page, data: dict) -> None:
    _import_detail(page, data)
    data["run_tasks"]()  # the background worker's turn
    expect(page.get_by_role("heading", name=re.compile("^Import applied"))).to_be_visible(timeout=10_000)


def _select_on_agents_list(page: Page, usernames: list[str], action: str) -> None:
    page.goto("/agents/?sort=username")
    scripts_ready(page)
    for username in usernames:
        page.locator(f'tr[data-agent="{username}"] [data-select-row]').check()
    page.locator("#bulk-action").select_option(action)


def _bulk_confirm(page: Page, data: dict) -> None:
    _select_on_agents_list(page, ["ada", "alan", "alice-admin"], "delete")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("heading", name=re.compile("^Delete 3 agents"))).to_be_visible()


def _bulk_result(page: Page, data: dict) -> None:
    _select_on_agents_list(page, ["ada", "alan"], "add_tag")
    page.locator("#bulk-tag").select_option(label="billing")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("heading", name=re.compile("^Add tag: 2 done"))).to_be_visible()


SCREENS = [
    Screen("sign-in", None, "/login/"),
    Screen("404", None, "/no-such-page/"),
    Screen("board", "alice-admin", "/board/"),
    Screen("board-wall", "alice-admin", "/board/?wall=1"),
    Screen("agents", "alice-admin", "/agents/"),
    Screen("agent", "alice-admin", "/agents/{agent_id}/"),
    Screen("agent-new", "alice-admin", "/agents/new/"),
    Screen("agent-delete", "alice-admin", "/agents/{agent_id}/delete/"),
    Screen("agent-direct-hash", "alice-admin", "/agents/{agent_id}/direct-hash/"),
    Screen("tags", "alice-admin", "/tags/"),
    Screen("tag-edit", "alice-admin", "/tags/{tag_id}/"),
    Screen("tag-delete", "alice-admin", "/tags/{tag_id}/delete/"),
    Screen("access-keys", "alice-admin", "/accesskeys/"),
    Screen("access-key-revoke", "alice-admin", "/accesskeys/{key_id}/revoke/"),
    Screen("import", "alice-admin", "/agents/import/"),
    Screen("import-preview", "alice-admin", _import_preview),
    Screen("import-progress", "alice-admin", _import_detail),
    Screen("import-result", "alice-admin", _import_result),
    Screen("bulk-confirm", "alice-admin", _bulk_confirm),
    Screen("bulk-result", "alice-admin", _bulk_result),
    Screen("reports", "alice-admin", "/reports/"),
    Screen("reports-timeline", "alice-admin", "/reports/timeline/"),
    Screen("reports-curve", "alice-admin", "/reports/curve/"),
    Screen("reports-time-zone", "alice-admin", "/reports/time-zone/"),
    Screen("404-signed-in", "alice-admin", "/agents/00000000-0000-0000-0000-000000000000/"),
    Screen("me", "pat-agent", "/me/"),
    Screen("forbidden", "pat-agent", "/agents/"),
]


@pytest.fixture
def screens_data(admin_a, agent_a, floor, run_tasks):
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=agent_a,
        addresses=[
            {"type": "tel", "target": "+15559876543"},
            {"type": "extension", "target": "2099"},
            {"type": "sip", "target": "pat@sip.example.com"},
        ],
    )
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="away", reason="lunch")
    long_name = make_agent(admin_a.customer_id, username="donald-t", name="Donald Torvaldsen")
    services.agent_set_status(actor=SYSTEM, agent=long_name, status="available")
    key, _token = services.access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="CRM sync")
    return {"agent_id": agent_a.id, "tag_id": floor["english"].id, "key_id": key.id, "run_tasks": run_tasks}


def problems_of(page: Page, axe_source: str) -> list[str]:
    """What is wrong with the page as shown: sideways scrolling, narrow fields, axe violations."""
    found = []
    # Folded parts (a phone's agents filters, an address row's optional fields) are measured
    # too: opened for the checks, folded again after.
    page.evaluate(
        """() => document.querySelectorAll("details:not([open])").forEach((details) => {
            details.open = true;
            details.dataset.openedForCheck = "";
        })"""
    )
    # Against the screen's width, not innerWidth: a phone's browser widens its layout viewport
    # to a page that is too wide (and zooms out), so innerWidth would grow with the page.
    wide, screen = page.evaluate("document.scrollingElement.scrollWidth"), page.viewport_size["width"]
    if wide > screen:
        found.append(f"the page scrolls sideways: {wide} px wide on a {screen} px screen")
    narrow = page.evaluate(
        """([selector, min]) => Array.from(document.querySelectorAll(selector))
            .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden")
            .map((el) => [el.name || el.id, Math.round(el.getBoundingClientRect().width)])
            .filter(([, width]) => width < min)""",
        [TEXT_FIELDS, MIN_FIELD_WIDTH],
    )
    found += [f"text field {name!r} is {width} px wide" for name, width in narrow]
    cut = page.evaluate(
        """() => Array.from(document.querySelectorAll("select"))
            .filter((el) => el.getClientRects().length)
            .map((el) => {
                const [needed, width] = (SELECT_WIDTHS)(el);
                return [el.name || el.id, Math.round(width), Math.round(needed)];
            })
            .filter(([, width, needed]) => width < needed)""".replace("SELECT_WIDTHS", SELECT_WIDTHS)
    )
    found += [f"select {name!r} is {width} px wide, its choices need {needed}" for name, width, needed in cut]
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)  # evaluated by the browser itself: the page's CSP does not apply
    # A contrast axe cannot decide (text on an SVG or over a bar, an icon hidden from assistive
    # technology, overlapping boxes) is reported as a warning, not a failure: axe marks many such
    # cases on pages whose colours are fine, and each needs a person to look at it.
    violations, undecided = page.evaluate(
        """(tags) => axe
            .run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations", "incomplete"]})
            .then((r) => [
                r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" "))}`),
                r.incomplete
                    .filter((v) => v.id === "color-contrast")
                    .flatMap((v) => v.nodes.map((n) => n.target.join(" "))),
            ])""",
        AXE_TAGS,
    )
    if undecided:
        warnings.warn(
            f"{page.url}: axe could not decide the colour contrast of {len(undecided)} elements: "
            + ", ".join(undecided[:5]),
            stacklevel=2,
        )
    found += [f"axe {violation}" for violation in violations]
    page.evaluate(
        """() => document.querySelectorAll("details[data-opened-for-check]").forEach((details) => {
            details.open = false;
            delete details.dataset.openedForCheck;
        })"""
    )
    return found


def save_whole_page(page: Page, screenshot, name: str) -> None:
    """The whole page, taken with a viewport as tall as the page: Chromium's full-page capture
    drops the touch emulation of a phone (its hover and pointer media queries) meanwhile."""
    viewport = page.viewport_size
    height = page.evaluate("document.scrollingElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    screenshot(page, name, full_page=False)
    page.set_viewport_size(viewport)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_and_passes_axe(sized_page, screenshot, screens_data, size):
    axe_source = AXE.read_text()
    page = sized_page(size)
    context = page.context
    signed_in_as = None
    report = {}
    for screen in SCREENS:
        if screen.user != signed_in_as:
            context.clear_cookies()
            if screen.user:
                sign_in_as(page, screen.user)
            signed_in_as = screen.user
        try:
            if callable(screen.path):
                screen.path(page, screens_data)
            else:
                page.goto(screen.path.format(**screens_data))
            page.wait_for_load_state("load")
            scripts_ready(page)
            problems = problems_of(page, axe_source)
        except PlaywrightError as error:  # this page is reported; the others are still visited
            problems = [f"could not be checked: {error.message.splitlines()[0]}"]
        if problems:
            report[screen.name] = problems
        save_whole_page(page, screenshot, f"{screen.name}-{size}")
    assert report == {}, "\n".join(f"{name}: {p}" for name, ps in report.items() for p in ps)


def test_the_admin_agent_page_fits_1440_px_and_its_labels_are_words(page, admin_a, agent_a, super_admin):
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=agent_a,
        addresses=[{"type": "sip", "target": "pat.agent.with.a.long.name@sip.example.com"}],
    )
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("alice-admin")  # a customer admin, not an operator
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("it needs the project super admin permission")).to_be_visible()

    page.get_by_label("Username").fill("sam-superadmin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/agents/agent/{agent_a.id}/change/")
    width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    # The addresses inline fits too, without a scroll bar of its own.
    inline = page.locator(".inline-group table").evaluate(
        "(table) => [table.getBoundingClientRect().right, document.documentElement.clientWidth]"
    )
    assert inline[0] <= inline[1], inline
    labels = page.locator(".form-row label, .form-row .readonly-label, fieldset .flex-container > label")
    texts = [text.strip().rstrip(":") for text in labels.all_inner_texts()]
    for words in ("Status since", "Direct SIP URI", "Created", "Updated", "Last sign-in"):
        assert words in texts, texts
    assert not [text for text in texts if text.lower().startswith("tm ")], texts


def test_on_a_phone_the_top_bar_is_one_row_with_a_menu(sized_page, admin_a):
    page = sign_in_as(sized_page("phone"), "alice-admin")
    scripts_ready(page)
    assert page.locator(".topbar").evaluate("(el) => el.getBoundingClientRect().height") <= 64
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Tags")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/board/$"))  # its search and wall mode have hints
    expect(page.locator("kbd:visible")).to_have_count(0)  # no shortcut hint on a touch screen
    nav.get_by_role("link", name="Tags").click()
    expect(page).to_have_url(re.compile(r"/tags/$"))
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


def test_on_a_desktop_the_shortcut_hints_are_shown(sized_page, admin_a):
    """The other half of the touch test above: the same selector finds the hints here."""
    page = sign_in_as(sized_page("desktop"), "alice-admin")
    scripts_ready(page)
    expect(page).to_have_url(re.compile(r"/board/$"))
    expect(page.locator("kbd:visible")).not_to_have_count(0)


def test_on_a_phone_the_menu_and_filters_are_folded_before_console_js_runs(sized_page, admin_a):
    """No layout shift: the first paint is already the phone's (head.js), not the three-row
    navigation and open filters that console.js, deferred, used to fold."""
    page = sign_in_as(sized_page("phone"), "alice-admin")
    page.route("**/js/console.js", lambda route: route.abort())  # as if it had not run yet
    page.goto("/agents/")
    assert page.evaluate("document.documentElement.dataset.console") is None
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.locator(".filters-fold form")).to_be_hidden()
    assert page.locator(".topbar").evaluate("(el) => el.getBoundingClientRect().height") <= 64


def test_on_a_phone_the_first_agent_is_in_view_without_scrolling(sized_page, admin_a, floor):
    page = sign_in_as(sized_page("phone"), "alice-admin")
    page.goto("/agents/")
    scripts_ready(page)
    box = page.locator("tr[data-agent]").first.bounding_box()
    assert box is not None
    assert box["y"] >= 0, box
    assert box["y"] + box["height"] <= 844, box


def test_on_a_phone_the_move_buttons_do_not_cover_the_target(sized_page, screens_data):
    page = sign_in_as(sized_page("phone"), "alice-admin")
    page.goto(f"/agents/{screens_data['agent_id']}/")
    scripts_ready(page)
    rows = page.locator("[data-address-row]:has([data-address-target])")
    expect(rows).not_to_have_count(0)
    for index in range(rows.count()):
        tools = rows.nth(index).locator(".row-tools").bounding_box()
        target = rows.nth(index).locator("[data-address-target]").bounding_box()
        assert tools is not None
        assert target is not None
        apart = (
            tools["x"] + tools["width"] <= target["x"]
            or target["x"] + target["width"] <= tools["x"]
            or tools["y"] + tools["height"] <= target["y"]
            or target["y"] + target["height"] <= tools["y"]
        )
        assert apart, (index, tools, target)
        assert target["width"] >= MIN_FIELD_WIDTH, (index, target)
