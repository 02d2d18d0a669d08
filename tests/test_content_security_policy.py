"""Every page of the console and the admin site sends a Content-Security-Policy that allows
scripts and styles only from this server, never inline, and the pages need nothing else.

The header comes from Django's ContentSecurityPolicyMiddleware (settings.SECURE_CSP); the API
docs page has its own, looser policy for Redoc's styles, still without inline scripts.
tests/browser/test_content_security_policy.py loads the same pages in Chromium and checks
that the browser reports no violation.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse

from agents import services
from agents.models import AccessKey, AgentStatusChange
from tests.factories import make_tag


def policy_of(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} sends no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class InlineCode(HTMLParser):
    """Inline scripts (a <script> without src that is not JSON data), `on...` handler
    attributes, `style` attributes and <style> elements of a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.found.append(f"inline <script> {attributes}")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [
            f"<{tag} {name}=...>" for name in attributes if name.startswith("on") or name == "style"
        ]


def assert_strict_policy(response) -> None:
    path = response.request["PATH_INFO"]
    policy = policy_of(response)
    scripts = policy.get("script-src", policy["default-src"])
    styles = policy.get("style-src", policy["default-src"])
    assert "'unsafe-inline'" not in scripts, path
    assert "'unsafe-eval'" not in scripts, path
    assert "'unsafe-inline'" not in styles, path
    assert policy["object-src"] == ["'none'"], path
    assert policy["frame-ancestors"] == ["'none'"], path
    if response.get("Content-Type", "").startswith("text/html"):
        parser = InlineCode()
        parser.feed(response.content.decode())
        assert parser.found == [], f"{path}: {parser.found}"


@pytest.fixture
def console_objects(admin_a, agent_a):
    tag = make_tag(admin_a.customer_id, name="english")
    services.agent_replace_addresses(
        actor=admin_a, agent=agent_a, addresses=[{"type": "extension", "target": "2001"}]
    )
    services.agent_replace_tags(actor=admin_a, agent=agent_a, tag_ids=[tag.id])
    access_key, _ = services.access_key_create(actor=admin_a, customer_id=admin_a.customer_id, name="crm")
    return {"agent": agent_a, "tag": tag, "access_key": access_key}


def console(name: str, *args) -> str:
    return reverse(f"console:{name}", args=args)


def test_every_console_page_sends_the_policy(client, admin_a, agent_a, console_objects):
    agent, tag, key = console_objects["agent"], console_objects["tag"], console_objects["access_key"]
    anonymous_pages = [console("login"), "/no-such-page/"]
    supervisor_pages = [
        console("home"),
        console("board"),
        console("board") + "?wall=1",
        console("agent_list"),
        console("agent_list") + "?status=&q=pat",
        console("agent_create"),
        console("agent_bulk_result"),
        console("agent_import"),
        console("agent_detail", agent.id),
        console("agent_delete", agent.id),
        console("agent_direct_hash", agent.id),
        console("address_check") + "?type=tel&target=%2B1555",
        console("me"),
        console("tag_list"),
        console("tag_edit", tag.id),
        console("tag_delete", tag.id),
        console("accesskey_list"),
        console("accesskey_revoke", key.id),
        "/no-such-page/",
    ]
    for path in anonymous_pages:
        assert_strict_policy(client.get(path))
    client.force_login(admin_a)
    for path in supervisor_pages:
        assert_strict_policy(client.get(path))
    assert_strict_policy(client.get(console("board_live"), headers={"HX-Request": "true"}))
    assert_strict_policy(client.post(console("accesskey_list"), {"name": "new", "expire_days": "30"}))
    client.force_login(agent_a)
    forbidden = client.get(console("agent_list"))
    assert forbidden.status_code == 403
    assert_strict_policy(forbidden)


def test_every_admin_page_sends_the_policy(client, operator, customer_a, agent_a, console_objects):
    assert_strict_policy(client.get(reverse("admin:login")))
    services.agent_set_status(actor=agent_a, agent=agent_a, status="away", reason="lunch")
    objects = {
        "customer": customer_a,
        "agent": agent_a,
        "accesskey": console_objects["access_key"],
        "tag": console_objects["tag"],
        "agentstatuschange": AgentStatusChange.objects.filter(agent=agent_a).first(),
        "agentevent": agent_a.events.first(),
    }
    pages = [reverse("admin:index"), reverse("admin:app_list", args=["agents"])]
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        pages.append(reverse(f"{prefix}_changelist") + "?q=pat")
        if model_admin.has_add_permission(operator.get("/").wsgi_request):
            pages.append(reverse(f"{prefix}_add"))
        obj = objects.get(model._meta.model_name) or model.objects.first()
        if obj is not None:
            pages.append(reverse(f"{prefix}_change", args=[obj.pk]))
            pages.append(reverse(f"{prefix}_history", args=[obj.pk]))
    pages += [
        reverse("admin:agents_agent_delete", args=[agent_a.pk]),
        reverse("admin:agents_agent_password", args=[agent_a.pk]),
        reverse("admin:password_change"),
    ]
    for path in pages:
        response = operator.get(path)
        assert response.status_code in (200, 302), path
        assert_strict_policy(response)

    action_page = operator.post(
        reverse("admin:agents_agent_changelist"), {"action": "soft_delete", "_selected_action": [agent_a.pk]}
    )
    assert action_page.status_code == 200
    assert_strict_policy(action_page)
    created = operator.post(
        reverse("admin:agents_accesskey_add"), {"customer": str(customer_a.pk), "name": "ci", "expire": ""}
    )
    assert created.status_code == 200
    assert_strict_policy(created)
    assert AccessKey.objects.filter(name="ci").exists()


def test_the_api_docs_page_allows_redocs_styles_but_no_inline_script(client, db):
    response = client.get(reverse("api-docs"))

    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # Redoc styles with style attributes
    assert policy["img-src"] == ["'self'", "data:"]  # not the logo Redoc would fetch from a CDN
    assert policy["worker-src"] == ["'self'", "blob:"]
