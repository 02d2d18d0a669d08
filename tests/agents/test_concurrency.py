"""Racing writers: exactly one wins, the other gets the documented error, never a 500.

Each race starts its threads together on a barrier and widens the window between a service's
check and its write (a short sleep), so that both writers really pass the check before either
writes: the database constraint or row lock must then decide. PostgreSQL only: SQLite
serialises whole transactions, so there is no race to test.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection

from agents import services
from agents.models import Address, Agent, AgentStatusChange, Permission
from agents.services import addresses as address_services
from agents.services import (
    agent_create,
    agent_delete,
    agent_replace_addresses,
    agent_set_permission,
    agent_set_status,
)
from agents.services import agents as agent_services
from agents.services import status as status_services
from agents.services import tags as agent_tag_services
from tags import services as tag_services
from tags.models import Tag
from tags.services import tag_create
from tests.factories import make_agent, make_customer_admin
from voipbin_admin.errors import AlreadyExists, DomainError, FailedPrecondition, NotFound

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROUNDS = 3
WINDOW_SECONDS = 0.15


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: racing writers wait on its row locks and unique indexes")


def race(*calls: Callable[[], object]) -> list[tuple[str, object]]:
    """Run the calls in threads started together; each result is ("ok", value) or ("error", exc)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object]] = [("missing", None)] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except Exception as exc:  # the test inspects whatever was raised
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racing writer hung"
    return results


def one_winner(results, error_class: type[DomainError], reason: str) -> DomainError:
    """Exactly one call succeeded and the other raised the documented domain error; returns it."""
    outcomes = sorted(results, key=lambda result: result[0])
    assert [outcome for outcome, _ in outcomes] == ["error", "ok"], results
    error = outcomes[0][1]
    assert isinstance(error, error_class), repr(error)
    assert error.reason == reason
    return error


def widen_after(monkeypatch, module, name: str) -> None:
    """Sleep after `module.name` runs, so the other writer passes the same check meanwhile."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(WINDOW_SECONDS)
        return result

    monkeypatch.setattr(module, name, slow)


def assert_some_loser_hit_the_database_constraint(errors: list[DomainError]) -> None:
    assert any(isinstance(error.__cause__, IntegrityError) for error in errors), (
        "no round reached the database constraint: the race was not real"
    )


def test_two_supervisors_creating_the_same_username_one_wins(monkeypatch):
    admin_a = make_customer_admin()
    admin_b = make_customer_admin()
    # The tag check runs between the username check and the insert.
    widen_after(monkeypatch, agent_services, "clean_tag_ids")
    losers = []

    for round_number in range(ROUNDS):
        username = f"racer{round_number}"
        results = race(
            lambda u=username: agent_create(
                actor=admin_a, customer_id=admin_a.customer_id, username=u, password="x"
            ),
            lambda u=username: agent_create(
                actor=admin_b, customer_id=admin_b.customer_id, username=u.upper(), password="x"
            ),
        )

        losers.append(one_winner(results, AlreadyExists, "AGENT_ALREADY_EXISTS"))
        assert Agent.objects.live().filter(username__iexact=username).count() == 1
        winner = Agent.objects.live().get(username__iexact=username)
        assert winner.status_changes.count() == 1
        assert winner.events.count() == 1

    assert_some_loser_hit_the_database_constraint(losers)


def test_two_creates_of_usernames_that_fold_alike_one_wins(monkeypatch):
    """`xi1` and `x\u01311` (dotless i) are one username: PostgreSQL's LOWER() told them apart
    while `iexact` (UPPER()) did not, so both creates won and every sign-in then failed."""
    admin_a = make_customer_admin()
    admin_b = make_customer_admin()
    widen_after(monkeypatch, agent_services, "clean_tag_ids")
    losers = []

    for round_number in range(ROUNDS):
        results = race(
            lambda n=round_number: agent_create(
                actor=admin_a, customer_id=admin_a.customer_id, username=f"xi{n}", password="x"
            ),
            lambda n=round_number: agent_create(
                actor=admin_b, customer_id=admin_b.customer_id, username=f"x\u0131{n}", password="x"
            ),
        )

        losers.append(one_winner(results, AlreadyExists, "AGENT_ALREADY_EXISTS"))
        assert Agent.objects.live().filter(username_key=f"xi{round_number}").count() == 1

    assert_some_loser_hit_the_database_constraint(losers)


def test_two_agents_taking_the_same_address_one_wins(monkeypatch):
    admin = make_customer_admin()
    first = make_agent(admin.customer_id)
    second = make_agent(admin.customer_id)
    # The database's unique index is the only check: each writer holds its inserted (not yet
    # committed) address a while, so the other's insert waits on it and then finds it taken.
    widen_after(monkeypatch, address_services, "_write_addresses")

    for round_number in range(ROUNDS):
        target = f"+1555000{round_number:04d}"
        keep_first = [{"type": "extension", "target": f"1{round_number}"}]
        keep_second = [{"type": "extension", "target": f"2{round_number}"}]
        agent_replace_addresses(actor=admin, agent=first, addresses=keep_first)
        agent_replace_addresses(actor=admin, agent=second, addresses=keep_second)
        wanted = {"type": "tel", "target": target}

        results = race(
            lambda w=wanted: agent_replace_addresses(actor=admin, agent=first, addresses=[w]),
            lambda w=wanted: agent_replace_addresses(actor=admin, agent=second, addresses=[w]),
        )

        error = one_winner(results, AlreadyExists, "ADDRESS_ALREADY_ASSIGNED")
        assert [detail.field for detail in error.details] == ["addresses[0].target"]
        holders = list(Address.objects.filter(target=target, tm_delete__isnull=True).values_list("agent_id"))
        assert len(holders) == 1
        loser = second if holders[0][0] == first.pk else first
        kept = keep_second if loser is second else keep_first
        assert list(Address.objects.filter(agent=loser, tm_delete__isnull=True).values_list("target")) == [
            (kept[0]["target"],)
        ], "the loser must keep its previous addresses"


def test_a_deleted_agent_never_keeps_live_addresses(monkeypatch):
    """Addresses sent for an agent that is being deleted must not block them for everyone."""
    admin = make_customer_admin()
    # The replacement validates its input while the deletion commits.
    widen_after(monkeypatch, address_services, "clean_address_list")

    for round_number in range(ROUNDS):
        agent = make_agent(admin.customer_id)
        addresses = [{"type": "extension", "target": f"9{round_number}"}]

        results = race(
            lambda a=agent: agent_delete(actor=admin, agent=a),
            lambda a=agent, w=addresses: agent_replace_addresses(actor=admin, agent=a, addresses=w),
        )

        assert results[0][0] == "ok", results
        if results[1][0] == "error":
            assert isinstance(results[1][1], NotFound), repr(results[1][1])
            assert results[1][1].reason == "AGENT_NOT_FOUND"
        assert not Address.objects.filter(agent=agent, tm_delete__isnull=True).exists()
        assert make_agent(admin.customer_id, addresses=addresses).addresses.count() == 1


@pytest.mark.parametrize(
    "remove_admin",
    [
        lambda actor, target: agent_set_permission(
            actor=actor, agent=target, permission=Permission.CUSTOMER_AGENT
        ),
        lambda actor, target: agent_delete(actor=actor, agent=target),
    ],
    ids=["demote", "delete"],
)
def test_two_admins_removing_each_other_leave_one_admin(monkeypatch, remove_admin):
    widen_after(monkeypatch, agent_services, "_check_not_last_admin")

    for _round in range(ROUNDS):
        first = make_customer_admin()
        second = make_agent(first.customer_id, permission=Permission.CUSTOMER_ADMIN)

        results = race(
            lambda one=first, other=second: remove_admin(one, other),
            lambda one=first, other=second: remove_admin(other, one),
        )

        one_winner(results, FailedPrecondition, "LAST_ADMIN")
        admins = [
            agent
            for agent in Agent.objects.live().for_customer(first.customer_id)
            if agent.permission & Permission.CUSTOMER_ADMIN
        ]
        assert len(admins) == 1


def test_two_supervisors_creating_the_same_tag_one_wins(monkeypatch):
    admin = make_customer_admin()
    widen_after(monkeypatch, tag_services, "_check_name_free")
    losers = []

    for round_number in range(ROUNDS):
        name = f"night-shift-{round_number}"
        results = race(
            lambda n=name: tag_create(actor=admin, customer_id=admin.customer_id, name=n),
            lambda n=name: tag_create(actor=admin, customer_id=admin.customer_id, name=n.upper()),
        )

        losers.append(one_winner(results, AlreadyExists, "TAG_ALREADY_EXISTS"))
        assert Tag.objects.live().filter(name__iexact=name).count() == 1

    assert_some_loser_hit_the_database_constraint(losers)


def test_racing_status_changes_keep_an_exact_history(monkeypatch):
    admin = make_customer_admin()
    # The status is read under the row lock; a slow writer holding it must not be overtaken.
    widen_after(monkeypatch, status_services, "_lock_live_agent")
    agent = make_agent(admin.customer_id)

    for _round in range(ROUNDS):
        results = race(
            lambda: agent_set_status(actor=admin, agent=agent, status="available"),
            lambda: agent_set_status(actor=agent, agent=agent, status="busy"),
        )

        assert [outcome for outcome, _ in results] == ["ok", "ok"], results

    history = list(AgentStatusChange.objects.filter(agent=agent).order_by("id"))
    for previous, change in itertools.pairwise(history):
        assert change.from_status == previous.to_status
        assert change.from_status != change.to_status
    assert Agent.objects.get(pk=agent.pk).status == history[-1].to_status


@pytest.mark.parametrize("operation", ["add", "remove"])
def test_two_bulk_tag_changes_on_one_agent_both_count(monkeypatch, operation):
    """Each reads the agent's tags and writes the whole list: read before the row lock, the
    second write dropped the first one's tag (issue #11, item 13)."""
    admin = make_customer_admin()
    agent = make_agent(admin.customer_id)
    first, second = (
        tag_create(actor=admin, customer_id=admin.customer_id, name=f"skill-{n}") for n in (1, 2)
    )
    # Between reading the current tags and writing the new list.
    widen_after(monkeypatch, agent_tag_services, "clean_tag_ids")
    change = services.agent_add_tags if operation == "add" else services.agent_remove_tags

    for _round in range(ROUNDS):
        start = [] if operation == "add" else [first.id, second.id]
        services.agent_replace_tags(actor=admin, agent=agent, tag_ids=start)

        results = race(
            lambda: change(actor=admin, agent=agent, tag_ids=[first.id]),
            lambda: change(actor=admin, agent=agent, tag_ids=[second.id]),
        )

        assert [outcome for outcome, _ in results] == ["ok", "ok"], results
        tags = set(agent.tag_links.values_list("tag_id", flat=True))
        assert tags == ({first.id, second.id} if operation == "add" else set())
