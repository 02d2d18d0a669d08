"""No log line the server writes holds a credential (`?token=`, `?accesskey=`, a Bearer value).

These tests drive Django's loggers as configured by settings.LOGGING (the records also go to
caplog); tests/test_servers.py reads the logs of real gunicorn and runserver processes.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager

import pytest
from django.urls import reverse
from django.utils.log import log_message

from agents.api.views import auth as agent_api_views
from agents.permissions import SYSTEM
from agents.services import access_key_create
from voipbin_admin.log_redaction import redact

ACCESS_KEY = "vb_" + "K" * 32
LOGIN_TOKEN = "abcDEF123-login-token_value"
SECRETS = (ACCESS_KEY, LOGIN_TOKEN, "K" * 32)


@contextmanager
def server_log_output():
    """What Django's configured handlers write (the root's console and runserver's
    django.server), read from their streams; pytest's own handlers are left alone."""
    handlers = [
        handler
        for logger in (logging.getLogger(), logging.getLogger("django.server"))
        for handler in logger.handlers
        if type(handler) is logging.StreamHandler
    ]
    assert len(handlers) == 2, "settings.LOGGING configures the console and django.server handlers"
    output = io.StringIO()
    previous = [handler.setStream(output) for handler in handlers]
    try:
        yield output
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


def assert_no_secret(text: str) -> None:
    assert not [secret for secret in SECRETS if secret in text], text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "GET /v1.0/me?accesskey=vb_abc&token=xyz HTTP/1.1",
            "GET /v1.0/me?accesskey=[redacted]&token=[redacted] HTTP/1.1",
        ),
        ("GET /v1.0/agents?page_size=5&token=xyz", "GET /v1.0/agents?page_size=5&token=[redacted]"),
        ("GET /v1.0/me?%74oken=xyz&TOKEN=abc", "GET /v1.0/me?%74oken=[redacted]&TOKEN=[redacted]"),
        ('"http://x/docs?accesskey=vb_abc#top"', '"http://x/docs?accesskey=[redacted]#top"'),
        (
            "Cookie: csrftoken=keep; token=xyz; accesskey=vb_1",
            "Cookie: csrftoken=keep; token=[redacted]; accesskey=[redacted]",
        ),
        ("Authorization: Bearer vb_abc.def", "Authorization: Bearer [redacted]"),
        (f"no such key {ACCESS_KEY}.", "no such key vb_[redacted]."),
        ("GET /v1.0/agents?q=token&status=busy", "GET /v1.0/agents?q=token&status=busy"),
    ],
)
def test_redact_rewrites_credential_values_only(line, expected):
    assert redact(line) == expected


def test_runservers_request_lines_are_redacted(caplog):
    request_line = f"GET /v1.0/me?accesskey={ACCESS_KEY}&token={LOGIN_TOKEN} HTTP/1.1"
    with server_log_output() as output:
        # What django.core.servers.basehttp.WSGIRequestHandler.log_message does for each request.
        log_message(
            logging.getLogger("django.server"), '"%s" %s %s', request_line, "200", "17", status_code=200
        )

    assert "GET /v1.0/me?accesskey=[redacted]&token=[redacted] HTTP/1.1" in output.getvalue()
    assert_no_secret(output.getvalue())


def test_an_api_500_is_logged_without_the_credential(client, admin_a, monkeypatch, caplog):
    _key, plaintext = access_key_create(actor=SYSTEM, customer_id=admin_a.customer_id)

    def fail(key):
        raise RuntimeError(f"cannot show {plaintext}, also sent as token={LOGIN_TOKEN}")

    monkeypatch.setattr(agent_api_views, "access_key_as_agent", fail)
    with server_log_output() as output, caplog.at_level(logging.INFO):
        response = client.get(f"/v1.0/me?accesskey={plaintext}&x=1", HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert response.status_code == 500
    assert [r for r in caplog.records if r.name == "voipbin_admin.api.exceptions" and r.exc_info]
    written = output.getvalue()
    assert "RuntimeError: cannot show vb_[redacted], also sent as token=[redacted]" in written
    assert plaintext not in written
    assert_no_secret(written)
    assert plaintext not in caplog.text  # later handlers get the redacted record too


def test_a_console_500_is_logged_without_the_credential(client, admin_a, monkeypatch, caplog):
    from agents.views import access_keys as console_views

    def fail(**kwargs):
        raise RuntimeError(f"while answering ?token={LOGIN_TOKEN}&accesskey={ACCESS_KEY}")

    monkeypatch.setattr(console_views.selectors, "access_key_list", fail)
    client.force_login(admin_a)
    client.raise_request_exception = False
    with server_log_output() as output, caplog.at_level(logging.INFO):
        response = client.get(reverse("console:accesskey_list") + f"?token={LOGIN_TOKEN}")

    assert response.status_code == 500
    assert [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    written = output.getvalue()
    assert "Internal Server Error: /accesskeys/" in written
    assert "RuntimeError: while answering ?token=[redacted]&accesskey=[redacted]" in written
    assert_no_secret(written)
    assert_no_secret(caplog.text)
