"""Browser tests: the real console in headless Chromium (Debian's), driven by Playwright.

Each test gets a fresh browser context on `live_server`: here the ASGI application (HTTP and
the event stream's WebSocket, as runserver and production serve them) under uvicorn in a thread
of the test process, on the test database. Screenshots of the main pages go to
test-artifacts/screenshots/ (gitignored); the run's summary says where.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from agents import services
from agents.permissions import SYSTEM
from tests.factories import PASSWORD, make_agent, make_tag

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (fixtures, assertions) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_saved: list[Path] = []

#: The two screens every console page is checked on (tests/browser/test_screens.py).
SIZES = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}

#: The width a select needs to show its widest choice whole (a copy of it at its own intrinsic
#: width: Chromium draws the arrow beside the padding), and the width it has, in px.
SELECT_WIDTHS = """(el) => {
    const probe = el.cloneNode(true);
    probe.removeAttribute("id");
    Object.assign(probe.style, {width: "auto", minWidth: "0", maxWidth: "none", position: "absolute"});
    el.parentNode.appendChild(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    return [needed, el.getBoundingClientRect().width];
}"""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _saved:
        terminalreporter.write_sep("-", "console screenshots")
        terminalreporter.write_line(f"{len(_saved)} screenshots in {SCREENSHOTS}")
        for path in _saved:
            terminalreporter.write_line(f"  {path.name}")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class AsgiLiveServer:
    """pytest-django's `live_server`, served by uvicorn: Django's HTTP (static files from the
    finders) and the event stream's routes, as `voipbin_admin.asgi` routes them.

    pytest-django's own `_live_server_helper` enables `_live_server_modified_settings` around
    each test that uses it, and makes those tests transactional (the server's thread has its
    own database connections, so it sees committed data only).
    """

    def __init__(self) -> None:
        import uvicorn
        from channels.routing import ProtocolTypeRouter, URLRouter
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application
        from django.test.utils import modify_settings, override_settings

        from agents.stream.routing import websocket_urlpatterns

        # The security middleware reads SECURE_SSL_REDIRECT once, when the handler is built.
        with override_settings(SECURE_SSL_REDIRECT=False):
            application = ProtocolTypeRouter(
                {
                    "http": ASGIStaticFilesHandler(get_asgi_application()),
                    "websocket": URLRouter(websocket_urlpatterns),
                }
            )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})
        config = uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI live server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def live_server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = AsgiLiveServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _console_settings(settings):
    # The live server speaks plain http, and serves static files from the finders.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def page(browser, live_server):
    from django.core.cache import cache

    cache.clear()  # failed logins counted by earlier tests must not throttle these sign-ins
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 900}, accept_downloads=True
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(5000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """`screenshot(page, "board")` saves test-artifacts/screenshots/board.png."""

    def save(page, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        _saved.append(path)
        return path

    return save


@pytest.fixture
def sign_in(page, password):
    return lambda username: sign_in_as(page, username, password)


def sign_in_as(page: Page, username: str, password: str = PASSWORD) -> Page:
    """Sign in through the console's sign-in page, as a person does."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def sized_page(browser, live_server):
    """`sized_page("phone")`: a page in a fresh context of one of SIZES, closed after the test."""
    from django.core.cache import cache

    cache.clear()  # failed logins counted by earlier tests must not throttle these sign-ins
    contexts = []

    def open_page(size: str) -> Page:
        context = browser.new_context(base_url=live_server.url, **SIZES[size])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5000)
        return page

    yield open_page
    for context in contexts:
        context.close()


NAMES = [
    ("ada", "Ada Lovelace", "available"),
    ("grace", "Grace Hopper", "busy"),
    ("alan", "Alan Turing", "away"),
    ("radia", "Radia Perlman", "available"),
    ("ken", "Ken Thompson", "ringing"),
    ("barbara", "Barbara Liskov", "offline"),
    ("linus", "Linus Torvalds", "busy"),
    ("margaret", "Margaret Hamilton", "available"),
]


def scripts_ready(page: Page) -> None:
    """Wait for console.js to have run: it wires up the page in one go, then marks <html> with
    data-console="ready" (head.js marks it "js" before the first paint)."""
    page.wait_for_function("document.documentElement.dataset.console === 'ready'")


@pytest.fixture
def floor(admin_a, agent_a, manager_a):
    """A small call floor: tags, agents in every status, one tag nobody available has."""
    english = make_tag(admin_a.customer_id, name="english")
    billing = make_tag(admin_a.customer_id, name="billing")
    make_tag(admin_a.customer_id, name="german")
    services.agent_update(actor=SYSTEM, agent=agent_a, name="Pat Agent")
    services.agent_replace_tags(actor=SYSTEM, agent=agent_a, tag_ids=[billing.id])
    for index, (username, name, status) in enumerate(NAMES):
        agent = make_agent(admin_a.customer_id, username=username, name=name, tag_ids=[english.id])
        services.agent_replace_addresses(
            actor=SYSTEM, agent=agent, addresses=[{"type": "extension", "target": str(2000 + index)}]
        )
        services.agent_set_status(actor=SYSTEM, agent=agent, status=status, reason="shift start")
    return {"english": english, "billing": billing}
