"""After every form of the console, its success message is where the eye is: inside the
viewport, on a desktop and on a phone. (The agent page's and one's own page's forms go back to
their section, `#status`, `#addresses`, ...; their message is shown in that section.) A form
whose answer is its outcome (a new access key, a bulk action's summary, an applied import) has
that outcome in view instead. The reports' time-zone form answers with the report, its message
on top."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import SIZES, scripts_ready, sign_in_as
from tests.factories import PASSWORD, make_tag

pytestmark = pytest.mark.browser

IN_VIEWPORT = """(el) => {
    const box = el.getBoundingClientRect();
    return [Math.round(box.top), Math.round(box.bottom), window.innerHeight];
}"""


def assert_in_view(locator: Locator, what: str) -> None:
    expect(locator).to_be_visible()
    top, bottom, height = locator.evaluate(IN_VIEWPORT)
    where = f"{what!r} is at {top}..{bottom} px of a {height} px viewport"
    assert top >= 0, where
    assert bottom <= height, where


def assert_message_in_view(page: Page, text: str) -> None:
    assert_in_view(page.locator(".message", has_text=text), text)


@pytest.mark.parametrize("size", list(SIZES))
def test_each_forms_success_message_is_in_the_viewport(sized_page, admin_a, agent_a, size):
    tag = make_tag(admin_a.customer_id, name="billing")
    page = sized_page(size)
    sign_in_as(page, "alice-admin")
    page.goto(f"/agents/{agent_a.id}/")
    scripts_ready(page)

    page.locator("label.seg.status-available").click()
    page.get_by_role("button", name="Set status").click()
    assert_message_in_view(page, "Status changed from offline to available.")

    first_row = page.locator("[data-address-row]").first
    first_row.locator("[data-address-type]").select_option("extension")
    first_row.locator("[data-address-target]").fill("2001")
    page.get_by_role("button", name="Save addresses").click()
    assert_message_in_view(page, "Addresses saved.")

    page.locator("#profile").get_by_label(re.compile("^Name")).fill("Pat Agent")
    page.get_by_role("button", name="Save profile").click()
    assert_message_in_view(page, "Profile saved.")

    page.locator("#tags").get_by_label("billing").check()
    page.get_by_role("button", name="Save tags").click()
    assert_message_in_view(page, "Tags saved.")

    page.locator("#permission").get_by_label(re.compile("manager", re.IGNORECASE)).check()
    page.get_by_role("button", name="Save permission").click()
    assert_message_in_view(page, "Permission saved.")

    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("Repeat it").fill(PASSWORD)
    page.get_by_role("button", name="Reset password").click()
    assert_message_in_view(page, "Password of pat-agent reset")

    page.goto("/tags/")
    page.get_by_label(re.compile("^Name")).fill("german")
    page.get_by_role("button", name="Create tag").click()
    assert_message_in_view(page, "Tag german created.")

    page.goto(f"/tags/{tag.id}/")
    page.get_by_label(re.compile("^Name")).fill("invoices")
    page.get_by_role("button", name="Save").click()
    assert_message_in_view(page, "Tag invoices saved.")

    page.goto("/reports/time-zone/")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name=re.compile("Save")).click()
    assert_message_in_view(page, "Reports now count days and hours in Europe/Berlin.")

    page.context.clear_cookies()
    sign_in_as(page, "pat-agent")  # a manager now; its own page is the same for everyone
    page.goto("/me/")
    scripts_ready(page)
    page.locator("label.seg.status-busy").click()
    page.get_by_role("button", name="Set status").click()
    assert_message_in_view(page, "Status changed from available to busy.")
    page.locator("[data-address-row]").first.locator("[data-address-target]").fill("2002")  # extension
    page.get_by_role("button", name="Save addresses").click()
    assert_message_in_view(page, "Addresses saved.")


def test_apply_with_nothing_selected_says_why_nothing_happened(page, sign_in, admin_a, agent_a):
    sign_in("alice-admin")
    page.goto("/agents/")
    scripts_ready(page)
    page.get_by_role("button", name="Apply to selected").click()
    note = page.locator("[data-bulk-empty]")
    expect(note).to_be_visible()
    expect(note).to_have_text(re.compile("select at least one agent"))
    expect(page).to_have_url(re.compile(r"/agents/$"))  # nothing was posted
    page.locator(f'tr[data-agent="{agent_a.username}"] [data-select-row]').check()
    expect(note).to_be_hidden()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_other_forms_outcomes_are_in_the_viewport(sized_page, admin_a, agent_a, run_tasks, size):
    tag = make_tag(admin_a.customer_id, name="billing")
    page = sign_in_as(sized_page(size), "alice-admin")

    page.goto(f"/agents/{agent_a.id}/")
    scripts_ready(page)
    page.get_by_role("link", name="Regenerate…").click()  # opens its dialog
    page.get_by_role("button", name="Regenerate hash").click()
    assert_message_in_view(page, "New direct SIP URI")

    page.goto("/accesskeys/")
    page.get_by_label(re.compile("^Name")).fill("CRM sync")
    page.get_by_role("button", name="Create key").click()
    assert_in_view(page.locator(".new-key"), "the new access key")
    page.goto("/accesskeys/")
    page.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke key").click()
    assert_message_in_view(page, "Access key CRM sync revoked.")

    page.goto("/agents/new/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create agent").click()
    assert_message_in_view(page, "Agent dana created.")
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete agent").click()
    assert_message_in_view(page, "Agent dana deleted")

    page.goto(f"/tags/{tag.id}/delete/")
    page.get_by_role("button", name="Delete tag").click()
    assert_message_in_view(page, "Tag billing deleted")

    page.goto("/agents/?sort=username")
    scripts_ready(page)
    page.locator(f'tr[data-agent="{agent_a.username}"] [data-select-row]').check()
    page.locator("#bulk-action").select_option("set_status")
    page.locator("#bulk-status").select_option("busy")
    page.get_by_role("button", name="Apply to selected").click()
    assert_in_view(page.get_by_role("heading", name=re.compile("^Set status: 1 done")), "the bulk summary")

    page.goto("/agents/import/")
    csv_file = {
        "name": "agents.csv",
        "mimeType": "text/csv",
        "buffer": b"username,name\npat-agent,Pat Byron\n",
    }
    page.get_by_label("CSV file").set_input_files(files=[csv_file])
    page.get_by_role("button", name="Preview import").click()
    page.get_by_role("button", name="Apply import").click()
    expect(page.locator("[data-import-progress]")).to_be_visible()
    run_tasks()
    outcome = page.get_by_role("heading", name=re.compile("^Import applied: 0 created, 1 updated"))
    assert_in_view(outcome, "the import's outcome")
