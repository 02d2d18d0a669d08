"""The event stream's rights re-check (agents/stream/rights.py): every open connection of a
process is re-checked with the same few queries, whatever their number, by the rules of a
single check. tests/test_event_stream.py closes real connections with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.credentials import hash_secret
from agents.models import AccessKey, LoginToken
from agents.permissions import SYSTEM
from agents.services import agent_delete, agent_set_password, login_token_revoke
from agents.stream.rights import Caller, current_actors
from tests.api_support import access_key_for, token_for
from tests.factories import PASSWORD, make_agent, make_customer_admin

pytestmark = pytest.mark.django_db


def session_caller(agent) -> Caller:
    """A console session of the agent, as the stream records it at its handshake."""
    client = Client()
    response = client.post(reverse("console:login"), {"username": agent.username, "password": PASSWORD})
    assert response.status_code == 302
    agent.refresh_from_db()
    return Caller(
        session_key=client.cookies["sessionid"].value,
        session_agent_id=agent.pk,
        session_auth_hash=agent.get_session_auth_hash(),
    )


def callers_of(count: int) -> tuple[list[Caller], list]:
    """`count` callers of each kind (login token, access key, console session), and whom each
    stands for."""
    callers, expected = [], []
    for _ in range(count):
        admin = make_customer_admin()
        agent = make_agent(admin.customer_id)
        callers += [Caller(credential=token_for(agent)), session_caller(admin)]
        expected += [agent, admin]
        key = access_key_for(admin.customer_id)
        callers.append(Caller(credential=key))
        expected.append(AccessKey.objects.get(customer_id=admin.customer_id))
    return callers, expected


@pytest.mark.parametrize("count", [1, 5])
def test_every_connection_is_rechecked_with_the_same_four_queries(count):
    callers, expected = callers_of(count)

    with CaptureQueriesContext(connection) as queries:
        actors = current_actors(callers)

    assert actors == expected
    # Login tokens, access keys, sessions, the sessions' agents.
    assert len(queries) == 4, [query["sql"] for query in queries.captured_queries]


def test_a_recheck_finds_what_is_no_longer_valid_and_keeps_the_rest():
    (revoked, signed_out, expired_key, *standing), expected = callers_of(2)
    customer_id = expected[0].customer_id
    login_token_revoke(plaintext=revoked.credential)
    Session.objects.filter(pk=signed_out.session_key).delete()
    AccessKey.objects.filter(token_hash=hash_secret(expired_key.credential)).update(tm_expire=timezone.now())
    expired_agent = make_agent(customer_id)
    expired_token = Caller(credential=token_for(expired_agent))
    LoginToken.objects.filter(agent=expired_agent).update(tm_expire=timezone.now() - timedelta(seconds=1))
    deleted_agent = make_agent(customer_id)
    deleted_token = Caller(credential=token_for(deleted_agent))
    agent_delete(actor=SYSTEM, agent=deleted_agent)
    moved_agent = make_agent(customer_id)
    moved_password = session_caller(moved_agent)
    agent_set_password(actor=SYSTEM, agent=moved_agent, password="n3w-Passw0rd-here")

    actors = current_actors(
        [revoked, signed_out, expired_key, *standing, expired_token, deleted_token, moved_password]
    )

    assert actors == [None, None, None, *expected[3:], None, None, None]
