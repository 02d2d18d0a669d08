"""Browser tests: the real console in headless Chromium (Debian's), driven by Playwright.

Each test gets a fresh browser context on pytest-django's `live_server`. Screenshots of the
main pages go to test-artifacts/screenshots/ (gitignored); the run's summary says where.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (fixtures, assertions) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_saved: list[Path] = []


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


@pytest.fixture(scope="session", autouse=True)
def _live_server_over_plain_http(request, django_db_setup):
    """Start the session's live server without the redirect to https.

    The security middleware reads SECURE_SSL_REDIRECT once, when the server builds its handler,
    so the override is in place just while it starts (after the test database exists, which
    the server must see) and the setting is back to normal for every other test.
    """
    from django.test.utils import override_settings

    with override_settings(SECURE_SSL_REDIRECT=False):
        request.getfixturevalue("live_server")


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
    def sign_in_as(username: str):
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return sign_in_as
