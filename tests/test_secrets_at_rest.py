"""A new access key exists in plain text only in the answer to the POST that created it.

The console and the admin site both show a new key once. Whatever carries it there must not
keep it: not the session (the console used to park it there until the next GET, for 14 days if
that GET never came), not Django's messages (a cookie, or the session when the cookie is full),
not a cookie, not any row of any table. So after each creation the test captures the plaintext
the service returned, then searches every session row (decoded), a dump of every table, every
cookie and header of the answer, and the next page.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.urls import reverse

from agents import services
from agents.models import AccessKey


@pytest.fixture
def created_plaintexts(monkeypatch) -> list[str]:
    """The plaintext of every access key the service creates during the test."""
    created: list[str] = []
    create = services.access_key_create

    def access_key_create_and_record(**kwargs):
        access_key, plaintext = create(**kwargs)
        created.append(plaintext)
        return access_key, plaintext

    monkeypatch.setattr(services, "access_key_create", access_key_create_and_record)
    return created


def cookie_texts(response) -> list[str]:
    """Each cookie the answer sets, as sent and, for Django's messages cookie, decoded."""
    texts = []
    for name, morsel in response.cookies.items():
        texts.append(morsel.value)
        if name == CookieStorage.cookie_name and morsel.value:
            decoded = CookieStorage(response.wsgi_request)._decode(morsel.value) or []
            texts.extend(str(message) for message in decoded)
    return texts


def stored_texts() -> list[str]:
    """Every session (raw and decoded) and a dump of every table of every installed app."""
    texts = []
    for session in Session.objects.all():
        texts.append(session.session_data)
        texts.append(repr(session.get_decoded()))
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    texts.append(dump.getvalue())
    return texts


def assert_only_in_the_answer(response, plaintext: str) -> None:
    assert plaintext in response.content.decode()
    assert "no-store" in response.get("Cache-Control", "")
    assert not [text for text in cookie_texts(response) if plaintext in text], "a cookie holds the key"
    assert not [value for value in response.headers.values() if plaintext in value], "a header holds it"
    assert not [text for text in stored_texts() if plaintext in text], "the key is stored in plain text"
    access_key = AccessKey.objects.get(token_prefix=plaintext[:11])
    assert access_key.token_hash == services.hash_secret(plaintext)


def test_the_console_shows_a_new_key_in_the_answer_to_its_post_and_keeps_it_nowhere(
    client, admin_a, created_plaintexts
):
    client.force_login(admin_a)
    url = reverse("console:accesskey_list")

    response = client.post(url, {"name": "crm", "detail": "", "expire_days": "30"})

    assert response.status_code == 200
    [plaintext] = created_plaintexts
    assert_only_in_the_answer(response, plaintext)
    assert plaintext not in client.get(url).content.decode()


def test_the_admin_site_shows_a_new_key_in_the_answer_to_its_post_and_keeps_it_nowhere(
    operator, customer_a, created_plaintexts
):
    url = reverse("admin:agents_accesskey_add")

    response = operator.post(url, {"customer": str(customer_a.pk), "name": "ci", "detail": "", "expire": ""})

    assert response.status_code == 200
    [plaintext] = created_plaintexts
    assert_only_in_the_answer(response, plaintext)
    for page in (reverse("admin:agents_accesskey_changelist"), reverse("admin:index")):
        assert plaintext not in operator.get(page).content.decode()
