"""Every console page and the main admin pages, loaded in Chromium under the site's
Content-Security-Policy, report no violation: nothing they need (scripts, styles, images,
htmx's requests) is blocked.

Violations are collected twice: by a `securitypolicyviolation` listener installed before any
page script runs, and from the console messages Chromium prints for them. A canary (an image
from another origin, which the policy blocks) shows that the listener does report one.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from agents import services
from agents.models import AccessKey, AgentStatusChange, Permission
from tests.factories import make_agent, make_tag

pytestmark = pytest.mark.browser

LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation it reports collected in `page.csp_messages`."""
    page.add_init_script(LISTENER)
    messages: list[str] = []
    page.on(
        "console",
        lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.csp_messages = messages
    return page


def visit(page, path: str) -> None:
    """Load `path`, check it came with the policy, let its scripts run, and fail on any violation."""
    response = page.goto(path)
    assert response is not None
    assert response.headers.get("content-security-policy"), f"{path} sends no Content-Security-Policy"
    page.wait_for_load_state("networkidle")
    assert_no_violation(page, path)


def assert_no_violation(page, where: str) -> None:
    reported = page.evaluate("window.__cspViolations || []")
    assert reported == [], f"{where}: {reported}"
    assert page.csp_messages == [], f"{where}: {page.csp_messages}"


def test_the_listener_reports_a_violation(watched, sign_in, admin_a):
    sign_in("alice-admin")
    watched.evaluate("document.body.append(Object.assign(new Image(), {src: 'https://cdn.example/x.png'}))")
    watched.wait_for_function("window.__cspViolations.length > 0")
    assert watched.evaluate("window.__cspViolations")[0].startswith("img-src https://cdn.example/x.png")
    for _ in range(50):
        if watched.csp_messages:
            break
        watched.wait_for_timeout(100)
    assert "https://cdn.example/x.png" in watched.csp_messages[0]


def test_console_pages_report_no_violation(watched, sign_in, admin_a, agent_a):
    tag = make_tag(admin_a.customer_id, name="english")
    services.agent_replace_addresses(
        actor=admin_a, agent=agent_a, addresses=[{"type": "extension", "target": "2001"}]
    )
    services.agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[tag.id])
    key, _ = services.access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="crm")

    visit(watched, "/login/")
    sign_in("alice-admin")
    assert_no_violation(watched, "after signing in")
    for path in [
        "/board/",
        "/board/?wall=1",
        "/agents/",
        "/agents/?q=pat",
        "/agents/new/",
        "/agents/import/",
        f"/agents/{agent_a.id}/",
        f"/agents/{agent_a.id}/delete/",
        f"/agents/{agent_a.id}/direct-hash/",
        "/tags/",
        f"/tags/{tag.id}/",
        f"/tags/{tag.id}/delete/",
        "/accesskeys/",
        f"/accesskeys/{key.id}/revoke/",
        "/me/",
        "/no-such-page/",
    ]:
        visit(watched, path)

    # What the pages' scripts do after loading: the board's poll, the address editor's live
    # check (a fragment put into the page), the keyboard help dialog, a bulk action.
    visit(watched, "/board/")
    services.agent_set_status(actor=admin_a, agent=agent_a, status="busy", reason="call")
    expect(watched.locator('[data-agent="pat-agent"]')).to_have_attribute("data-status", "busy")
    assert_no_violation(watched, "board polling")
    visit(watched, f"/agents/{agent_a.id}/")
    target = watched.locator("[data-address-editor] [data-address-target]").first
    target.fill("not a number")
    target.press("Tab")
    watched.wait_for_load_state("networkidle")
    watched.keyboard.press("?")
    expect(watched.locator("#shortcuts-dialog")).to_be_visible()
    assert_no_violation(watched, "address check and shortcuts")
    visit(watched, "/agents/")
    watched.locator(f'input[name="agent_ids"][value="{agent_a.id}"]').check()
    watched.locator("#bulk-action").select_option("set_status")
    watched.wait_for_load_state("networkidle")
    assert_no_violation(watched, "bulk bar")

    # A new access key: the answer to the POST.
    visit(watched, "/accesskeys/")
    watched.get_by_label(re.compile(r"^Name")).fill("CI")
    watched.get_by_role("button", name="Create key").click()
    expect(watched.locator("[data-new-key]")).to_have_text(re.compile(r"^vb_"))
    watched.get_by_role("button", name="Copy").click()
    assert_no_violation(watched, "new access key")

    # A plain agent's page and the page it gets elsewhere.
    watched.get_by_role("button", name="Sign out").click()
    sign_in("pat-agent")
    for path in ["/me/", "/agents/"]:
        visit(watched, path)


def test_admin_pages_report_no_violation(watched, admin_a, agent_a, password, live_server):
    operator = make_agent(
        admin_a.customer_id,
        username="sam-superadmin",
        permission=Permission.PROJECT_SUPER_ADMIN | Permission.CUSTOMER_ADMIN,
    )
    services.agent_set_status(actor=operator, agent=agent_a, status="away", reason="lunch")
    key, _ = services.access_key_create(actor=operator, customer_id=admin_a.customer_id, name="crm")
    tag = make_tag(admin_a.customer_id, name="english")
    history = AgentStatusChange.objects.filter(agent=agent_a).first()

    visit(watched, "/admin/login/")
    watched.get_by_label("Username").fill("sam-superadmin")
    watched.get_by_label("Password").fill(password)
    watched.get_by_role("button", name="Log in").click()
    watched.wait_for_url(re.compile(r"/admin/$"))
    assert_no_violation(watched, "admin sign-in")
    for path in [
        "/admin/",
        "/admin/agents/",
        "/admin/agents/customer/",
        f"/admin/agents/customer/{admin_a.customer_id}/change/",
        "/admin/agents/customer/add/",
        "/admin/agents/agent/",
        "/admin/agents/agent/?q=pat",
        f"/admin/agents/agent/{agent_a.id}/change/",
        f"/admin/agents/agent/{agent_a.id}/history/",
        f"/admin/agents/agent/{agent_a.id}/password/",
        f"/admin/agents/agent/{agent_a.id}/delete/",
        "/admin/agents/agent/add/",
        "/admin/agents/accesskey/",
        f"/admin/agents/accesskey/{key.id}/change/",
        "/admin/agents/agentstatuschange/",
        f"/admin/agents/agentstatuschange/{history.id}/change/",
        "/admin/agents/agentevent/",
        "/admin/tags/tag/",
        f"/admin/tags/tag/{tag.id}/change/",
    ]:
        visit(watched, path)

    # Pages with scripts at work: the addresses inline (add a row), an action's intermediate
    # page, and the page that shows a new access key.
    visit(watched, f"/admin/agents/agent/{agent_a.id}/change/")
    add_row = watched.locator(".add-row a").first
    if add_row.count():
        add_row.click()
    assert_no_violation(watched, "addresses inline")
    visit(watched, "/admin/agents/agent/")
    watched.locator(f'input[name="_selected_action"][value="{agent_a.id}"]').check()
    watched.locator('select[name="action"]').select_option("soft_delete")
    watched.get_by_role("button", name="Run").click()
    expect(watched.get_by_role("button", name="Yes, delete them")).to_be_visible()
    assert_no_violation(watched, "action page")
    visit(watched, "/admin/agents/accesskey/add/")
    watched.locator(".field-customer .select2-selection").click()  # the customer autocomplete
    watched.locator(".select2-search__field").fill("Customer")
    watched.locator(".select2-results__option", has_text="Customer A").click()
    watched.locator("#id_name").fill("ci")
    watched.locator('input[name="_save"]').click()
    expect(watched.locator("[data-new-key]")).to_have_text(re.compile(r"^vb_"))
    assert AccessKey.objects.filter(name="ci").exists()
    assert_no_violation(watched, "new access key page")
