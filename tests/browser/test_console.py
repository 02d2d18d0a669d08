"""The supervisor's main journeys through the console, in a real browser."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time

import pytest
from playwright.sync_api import expect

from agents import services
from agents.models import Agent, AgentStatusChange
from agents.permissions import SYSTEM
from tests.browser.conftest import NAMES, scripts_ready
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_supervisor_creates_an_agent_and_manages_it(page, sign_in, screenshot, admin_a, floor):
    sign_in("alice-admin")
    expect(page).to_have_url(re.compile(r"/board/$"))

    # Create an agent.
    page.get_by_role("link", name="Agents", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Agents"))).to_be_visible()
    scripts_ready(page)
    page.keyboard.press("n")
    expect(page.get_by_role("heading", name="New agent")).to_be_visible()
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("dana-pass")
    page.get_by_label(re.compile(r"^Name")).fill("Dana Scully")
    page.get_by_label("english").check()
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_text("Agent dana created")).to_be_visible()
    dana = Agent.objects.get(username="dana")
    expect(page).to_have_url(re.compile(rf"/agents/{dana.id}/$"))
    scripts_ready(page)

    # Addresses: one invalid entry shows its error next to the field and nothing is saved.
    editor = page.locator("[data-address-editor]")
    rows = editor.locator("[data-address-row]")
    rows.nth(0).locator("[data-address-target]").fill("+1 (555) 987-6543")
    editor.get_by_role("button", name="+ Add address").click()
    rows.nth(1).locator("[data-address-type]").select_option("sip")
    rows.nth(1).locator("[data-address-target]").fill("not a sip address")
    rows.nth(1).locator("[data-address-target]").press("Tab")
    expect(rows.nth(1).locator("[data-address-hint]")).to_have_text(re.compile("must be user@domain"))
    editor.get_by_role("button", name="Save addresses").click()
    expect(page.get_by_text("Nothing was saved.", exact=False).first).to_be_visible()
    scripts_ready(page)
    bad_row = page.locator("[data-address-row].has-error")
    expect(bad_row).to_have_count(1)
    expect(bad_row.locator("[data-address-target]")).to_have_value("not a sip address")
    expect(bad_row.locator("[data-address-target]")).to_have_attribute("aria-invalid", "true")
    expect(bad_row.locator(".hint-error")).to_have_text("must be user@domain")
    assert not dana.addresses.exists()
    screenshot(page, "agent-address-error")

    bad_row.locator("[data-address-target]").fill("dana@sip.example.com")
    page.get_by_role("button", name="Save addresses").click()
    expect(page.get_by_text("Addresses saved.")).to_be_visible()
    assert [(a.type, a.target) for a in dana.addresses.order_by("position")] == [
        ("tel", "+15559876543"),
        ("sip", "dana@sip.example.com"),
    ]

    # Set the status with a reason; it shows in the history.
    page.locator("label.seg.status-available").click()
    page.get_by_label("Reason").fill("shift start")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_text("Status changed from offline to available.")).to_be_visible()
    scripts_ready(page)
    expect(page.locator(".agent-sub .pill")).to_have_text("available")
    expect(page.locator(".timeline-item").first).to_contain_text("shift start")
    expect(page.locator(".timeline-item").first).to_contain_text("by alice-admin")
    screenshot(page, "agent")

    # Direct hash: copy it, then regenerate behind a confirmation.
    old_hash = page.locator("[data-direct-hash]").inner_text()
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == f"sip:direct.{old_hash}@sip.voipbin.net"
    page.get_by_role("link", name="Regenerate…").click()
    dialog = page.locator("#regenerate-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    dana.refresh_from_db()
    assert dana.direct_hash == old_hash
    page.get_by_role("link", name="Regenerate…").click()
    dialog.get_by_role("button", name="Regenerate hash").click()
    expect(page.get_by_text("The previous one no longer works")).to_be_visible()
    dana.refresh_from_db()
    assert dana.direct_hash != old_hash
    expect(page.locator("[data-direct-hash]")).to_have_text(dana.direct_hash)

    # Sign out.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/board/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/board/"))


CHANGE_STATUS_THROUGH_THE_API = textwrap.dedent(
    """
    import json, sys, urllib.request

    base, username, password, agent_id, status = sys.argv[1:]

    def call(method, url, body):
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    token = call("POST", f"{base}/auth/login", {"username": username, "password": password})["token"]
    agent = call("PUT", f"{base}/v1.0/agents/{agent_id}/status?token={token}", {"status": status})
    assert agent["status"] == status, agent
    """
)


def test_board_shows_a_change_made_through_the_api_within_2_seconds(
    page, sign_in, screenshot, live_server, admin_a, agent_a, floor
):
    sign_in("alice-admin")
    polls = []
    page.on("request", lambda request: "/board/live/" in request.url and polls.append(request.url))
    page.goto("/board/")
    scripts_ready(page)
    # The board follows the event stream; it polls only while the stream is down.
    expect(page.locator("body")).to_have_attribute("data-stream", "live")
    expect(page.locator("[data-stream-state]")).to_have_text("Live")
    tile = page.locator('.tile[data-agent="pat-agent"]')
    expect(tile).to_have_attribute("data-status", "offline")
    billing = page.locator('.coverage-tag[data-tag="billing"]')
    expect(billing).to_have_class(re.compile("is-uncovered"))
    expect(page.locator('[data-status-count="available"] .count-n')).to_have_text("3")
    # Keyboard focus on a tile stays there while the tile moves to its new group.
    tile.locator(".tile-name").focus()

    subprocess.run(
        [
            sys.executable,
            "-c",
            CHANGE_STATUS_THROUGH_THE_API,
            live_server.url,
            "alice-admin",
            PASSWORD,
            str(agent_a.id),
            "available",
        ],
        check=True,
        timeout=30,
    )
    changed_at = time.monotonic()
    expect(tile).to_have_attribute("data-status", "available", timeout=2000)
    assert time.monotonic() - changed_at < 2
    expect(page.locator('[data-group="available"] .tile[data-agent="pat-agent"]')).to_have_count(1)
    expect(tile.locator(".tile-name")).to_be_focused()
    assert polls == [], polls  # pushed, not polled
    expect(page.locator('[data-status-count="available"] .count-n')).to_have_text("4")
    expect(billing).not_to_have_class(re.compile("is-uncovered"))
    assert AgentStatusChange.objects.filter(agent=agent_a, to_status="available").exists()

    # Filter and search narrow the tiles; "/" focuses the search.
    page.keyboard.press("/")
    expect(page.locator("[data-search]")).to_be_focused()
    page.keyboard.type("grace")
    expect(page.locator(".tile")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=grace"))
    page.locator("[data-search]").fill("")
    expect(page.locator(".tile")).to_have_count(11)
    page.keyboard.press("Escape")
    time.sleep(0.3)
    screenshot(page, "board")

    page.keyboard.press("w")
    expect(page.locator("body.wall")).to_have_count(1)
    page.set_viewport_size({"width": 1920, "height": 1080})
    expect(page.locator(".tile")).to_have_count(11)
    screenshot(page, "board-wall", full_page=False)


def test_bulk_set_status_with_a_reason(page, sign_in, screenshot, admin_a, floor):
    sign_in("alice-admin")
    page.goto("/agents/?sort=username")
    scripts_ready(page)
    for username in ("ada", "alan", "pat-agent"):
        page.locator(f'tr[data-agent="{username}"] [data-select-row]').check()
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.get_by_label("Action").select_option("set_status")
    page.locator("#bulk-status").select_option("busy")
    page.locator("#bulk-reason").fill("team meeting")
    screenshot(page, "agents-list")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("heading", name=re.compile("Set status: 3 done"))).to_be_visible()
    expect(page.locator('[data-result="ok"] li')).to_have_count(3)
    changes = AgentStatusChange.objects.filter(reason="team meeting", to_status="busy")
    assert sorted(changes.values_list("agent__username", flat=True)) == ["ada", "alan", "pat-agent"]


def test_csv_export_edit_preview_and_apply(page, sign_in, screenshot, admin_a, floor, tmp_path, task_worker):
    sign_in("alice-admin")
    page.goto("/agents/?tag=" + str(floor["english"].id))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = download_info.value.path().read_text()
    lines = exported.splitlines()
    assert lines[0] == "username,name,detail,ring_method,status,permission,tags,addresses"
    assert len(lines) == 1 + len(NAMES)  # the tag filter applies
    edited = tmp_path / "agents.csv"
    edited.write_text(
        exported.replace("Ada Lovelace", "Ada King").replace(
            "extension:2001", "extension:2001;tel:+4930123456"
        )
    )

    page.goto("/agents/import/")
    page.get_by_label("CSV file").set_input_files(str(edited))
    page.get_by_role("button", name="Preview import").click()
    preview = page.locator("[data-import-preview]")
    expect(preview).to_contain_text("nothing is saved until you apply")
    expect(preview.locator(".import-row-update")).to_have_count(2)
    expect(preview.locator(".import-row-unchanged")).to_have_count(len(NAMES) - 2)
    expect(preview).to_contain_text("name: 'Ada Lovelace' → 'Ada King'")
    assert Agent.objects.get(username="ada").name == "Ada Lovelace"
    screenshot(page, "import-preview")

    page.get_by_role("button", name="Apply import").click()
    expect(page).to_have_url(re.compile(r"/agents/import/[0-9a-f-]{36}/$"))
    # The background worker applies it; the page's progress poll then shows the outcome.
    expect(page.get_by_text("Import applied: 0 created, 2 updated")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-import-result] .import-row-update")).to_have_count(2)
    screenshot(page, "import-result")
    page.reload()
    expect(page.get_by_text("Import applied: 0 created, 2 updated")).to_be_visible()
    assert Agent.objects.get(username="ada").name == "Ada King"
    assert [a.target for a in Agent.objects.get(username="grace").addresses.order_by("position")] == [
        "2001",
        "+4930123456",
    ]


def test_import_progress_survives_a_reload_then_shows_the_outcome(
    page, sign_in, screenshot, admin_a, floor, run_tasks
):
    """No worker runs until the test says so: the page keeps polling its progress, a reload
    finds it again, and the outcome replaces it once the task is done."""
    sign_in("alice-admin")
    page.goto("/agents/import/")
    csv_file = {"name": "agents.csv", "mimeType": "text/csv", "buffer": b"username,name\nada,Ada Byron\n"}
    page.get_by_label("CSV file").set_input_files(files=[csv_file])
    page.get_by_role("button", name="Preview import").click()
    page.get_by_role("button", name="Apply import").click()
    progress = page.locator("[data-import-progress] progress")
    expect(progress).to_be_visible()
    expect(page.locator("[data-import-progress]")).to_contain_text("Waiting for the background worker")
    screenshot(page, "import-progress")
    page.reload()
    expect(progress).to_be_visible()

    run_tasks()

    outcome = page.get_by_text("Import applied: 0 created, 1 updated, 0 unchanged")
    expect(outcome).to_be_visible(timeout=10_000)
    expect(page.locator("[data-import-result]")).to_contain_text("name: 'Ada Lovelace' → 'Ada Byron'")
    expect(progress).to_have_count(0)


def test_tags_access_keys_and_the_plain_agents_page(page, sign_in, screenshot, admin_a, agent_a, floor):
    page.goto("/login/")
    screenshot(page, "sign-in", full_page=False)
    sign_in("alice-admin")

    page.goto("/tags/")
    expect(page.locator('tr[data-tag="english"] td.num').first).to_have_text("8")
    screenshot(page, "tags")

    page.goto("/accesskeys/")
    page.get_by_label(re.compile(r"^Name")).fill("CRM sync")
    page.get_by_role("button", name="Create key").click()
    new_key = page.locator("[data-new-key]")
    expect(new_key).to_have_text(re.compile(r"^vb_"))
    screenshot(page, "access-keys")
    prefix = new_key.inner_text()[:11]
    page.goto("/accesskeys/")  # the key was in the answer to the POST; a reload would post again
    expect(page.locator("[data-new-key]")).to_have_count(0)
    expect(page.locator(f'tr[data-key="{prefix}"]')).to_contain_text(prefix + "…")

    page.get_by_role("button", name="Sign out").click()
    sign_in("pat-agent")
    expect(page).to_have_url(re.compile(r"/me/$"))
    expect(page.get_by_role("link", name="Agents", exact=True)).to_have_count(0)
    page.locator("label.seg.status-available").click()
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_text("Status changed from offline to available.")).to_be_visible()
    screenshot(page, "my-status")
    page.goto("/agents/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_the_address_check_is_about_its_own_row(page, sign_in, admin_a, agent_a):
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=agent_a,
        addresses=[{"type": "extension", "target": "2001"}, {"type": "sip", "target": "pat@sip.example.com"}],
    )
    sign_in("alice-admin")
    page.goto(f"/agents/{agent_a.id}/")
    scripts_ready(page)
    rows = page.locator("[data-address-editor] [data-address-row]")
    first = rows.nth(0)

    first.locator("[data-address-target]").fill("20a1")
    first.locator("[data-address-target]").press("Tab")
    expect(first.locator("[data-address-hint]")).to_have_text(re.compile("digits"))  # the extension rule
    expect(first.locator("[data-address-target]")).to_have_attribute("aria-invalid", "true")
    expect(first).to_have_class(re.compile("has-error"))
    expect(rows.nth(1).locator("[data-address-hint]")).to_have_text("")

    first.locator("[data-address-target]").fill("2002")
    first.locator("[data-address-target]").press("Tab")
    expect(first.locator("[data-address-hint]")).to_have_text("Looks right")
    expect(first.locator("[data-address-target]")).to_have_attribute("aria-invalid", "false")
    expect(first).not_to_have_class(re.compile("has-error"))

    page.get_by_role("button", name="+ Add address").click()
    added = rows.nth(3)  # after the two addresses and the blank row
    added.locator("[data-address-target]").fill("+1 555 987 6543")
    added.locator("[data-address-target]").press("Tab")
    expect(added.locator("[data-address-hint]")).to_have_text("Will be saved as +15559876543")


def test_board_filters_follow_in_the_address_bar_and_the_wall_mode_link(page, sign_in, admin_a, floor):
    sign_in("alice-admin")
    page.goto("/board/")
    scripts_ready(page)
    wall_link = page.locator("[data-wall-toggle]")

    page.locator("[data-search]").fill("a")
    page.get_by_label("Status", exact=True).select_option("available")
    expect(page.locator(".tile")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"/board/\?q=a&status=available$"))
    expect(wall_link).to_have_attribute("href", "?q=a&status=available&wall=1")

    page.locator("[data-search]").fill("")
    page.get_by_label("Status", exact=True).select_option("")
    expect(page.locator(".tile")).to_have_count(11)
    expect(page).to_have_url(re.compile(r"/board/$"))
    expect(wall_link).to_have_attribute("href", "?wall=1")
