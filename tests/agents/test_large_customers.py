"""Large customers (issue 16): the reads that must cost the same for a thousand agents or a
million. Plans on PostgreSQL (the search and the username filter use their indexes), the board's
version (a bounded probe of the newest events, which still sees a change committed late), the
board's groups (first tiles, counts of everyone), and query guards of the console's lists (no
count over a customer's rows). Speed itself is measured by `manage.py benchmark --large`."""

from __future__ import annotations

import re
import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents import selectors, services
from agents.models import Agent, AgentEvent
from agents.permissions import SYSTEM
from tags.models import AgentTag
from tests.factories import make_bulk_agents, make_tag

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"console:{name}", args=args)


def _bulk_agents(customer_id, count, prefix="big"):
    return make_bulk_agents(customer_id, count, prefix=prefix)


# --- plans (PostgreSQL) --------------------------------------------------------------------------


def _plan(queryset, *settings: str) -> str:
    with connection.cursor() as cursor:
        # A small test table would be scanned whatever its indexes; the question is whether an
        # index fits the query at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for setting in settings:
            cursor.execute(setting)
        try:
            return queryset.explain()
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")


@pytest.mark.postgres_only
def test_q_is_answered_from_the_trigram_indexes(admin_a, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes are PostgreSQL's")
    monkeypatch.setattr(selectors, "SEARCH_SCAN_LIMIT", 1000)  # 2,000 agents: a large customer
    _bulk_agents(admin_a.customer_id, 2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_agent")
    for q in ("Big Agent 12345", "BIG-01234", "night shift"):
        # The condition alone: its shape is the indexes' expression.
        plan = _plan(Agent.objects.filter(selectors.agent_search(q)))
        for index in ("agent_name_trgm_idx", "agent_username_trgm_idx", "agent_detail_trgm_idx"):
            assert f"Bitmap Index Scan on {index}" in plan, plan
        # The list query of a customer with 20,000 agents: the indexes win over its rows.
    # The list query of one customer, as a large customer's plan has it (the customer's own
    # indexes would walk a million rows there; here 2,000 are cheaper, so they are dropped in
    # the test's transaction).
    with connection.cursor() as cursor:
        for index in (
            "agent_live_list_idx",
            "agent_live_status_idx",
            "agents_agent_customer_id_3d741fab",
            "agent_username_live_unique",
        ):
            cursor.execute(f"DROP INDEX {index}")
    for q in ("Big Agent 12345", "BIG-01234", "night shift"):
        agents = selectors.agent_list(customer_id=admin_a.customer_id, q=q)[:100]
        plan = _plan(agents)
        for index in ("agent_name_trgm_idx", "agent_username_trgm_idx", "agent_detail_trgm_idx"):
            assert f"Bitmap Index Scan on {index}" in plan, plan
        assert "Seq Scan" not in plan, plan
    assert [
        a.username for a in selectors.agent_list(customer_id=admin_a.customer_id, q="big agent 1234")
    ] == ["big-01234"]


@pytest.mark.postgres_only
def test_the_username_filter_is_a_lookup_of_the_folded_key_index(admin_a):
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _bulk_agents(admin_a.customer_id, 2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_agent")
    agents = selectors.agent_list(customer_id=admin_a.customer_id, username="BIG-01234")[:100]

    plan = _plan(agents)

    assert "agent_username_live_unique" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert [agent.username for agent in agents] == ["big-01234"]


@pytest.mark.postgres_only
def test_the_admin_search_is_answered_from_indexes(admin_a, agent_a):
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _bulk_agents(admin_a.customer_id, 2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_agent")
        cursor.execute("ANALYZE agents_address")
    agents = Agent.objects.filter(selectors.agent_admin_search("big-01234"))

    plan = _plan(agents)

    for index in ("agent_username_live_unique", "agent_username_trgm_idx", "agent_name_trgm_idx"):
        assert index in plan, plan
    assert "address_target_trgm_idx" in plan, plan
    assert [agent.username for agent in agents] == ["big-01234"]


@pytest.mark.postgres_only
def test_a_small_customers_q_reads_its_own_rows(admin_a):
    """The trigram indexes cover every customer: a small one's rows are fewer than their
    matches, so its search must not match them."""
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _bulk_agents(admin_a.customer_id, 2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_agent")
    agents = selectors.agent_list(customer_id=admin_a.customer_id, q="Big Agent 12345")[:100]
    plan = _plan(agents)
    assert "trgm" not in plan, plan


@pytest.mark.parametrize("scan_limit", [20000, 0])  # a small customer, a large one
def test_the_searches_find_what_they_should(admin_a, agent_a, monkeypatch, scan_limit):
    monkeypatch.setattr(selectors, "SEARCH_SCAN_LIMIT", scan_limit)
    _bulk_agents(admin_a.customer_id, 30)
    services.agent_update(actor=SYSTEM, agent=agent_a, detail="Speaks GERMAN")
    services.agent_replace_addresses(
        actor=SYSTEM,
        agent=Agent.objects.get(pk=agent_a.pk),
        addresses=[{"type": "extension", "target": "4711"}],
    )

    def q(text):
        return sorted(a.username for a in selectors.agent_list(customer_id=admin_a.customer_id, q=text))

    def admin(text):
        return sorted(a.username for a in Agent.objects.filter(selectors.agent_admin_search(text)))

    assert q("big agent 2") == ["big-00002", *[f"big-{i:05d}" for i in range(20, 30)]]
    assert q("german") == ["pat-agent"]
    assert q("100%") == []  # LIKE's wildcards are text here
    assert q("big_0") == []
    assert q("nul\x00") == []
    assert admin("471") == ["pat-agent"]
    assert admin("PAT-AGENT") == ["pat-agent"]
    assert admin("big 00029") == ["big-00029"]  # every word, anywhere
    assert admin("nul\x00") == []


# --- the board's version ------------------------------------------------------------------------


def test_the_board_version_reads_no_agent_row(admin_a, agent_a):
    _bulk_agents(admin_a.customer_id, 50)
    with CaptureQueriesContext(connection) as captured:
        selectors.agent_board_version(customer_id=admin_a.customer_id)
    assert len(captured) == 2
    assert not any('"agents_agent"' in query["sql"] for query in captured.captured_queries)


def test_the_board_version_sees_a_change_committed_after_a_newer_one(admin_a, agent_a, manager_a):
    """Event ids are taken before commit: a change can become visible after one with a higher
    id. A version of the newest id alone would miss it."""
    services.agent_set_status(actor=SYSTEM, agent=agent_a, status="busy")
    services.agent_set_status(actor=SYSTEM, agent=Agent.objects.get(pk=manager_a.pk), status="away")
    events = list(AgentEvent.objects.filter(customer_id=admin_a.customer_id).order_by("-id")[:2])
    newest, late = events[0], events[1]
    kept = {field.attname: getattr(late, field.attname) for field in AgentEvent._meta.concrete_fields}
    late.delete()  # as if not committed yet
    before = selectors.agent_board_version(customer_id=admin_a.customer_id)

    AgentEvent.objects.create(**kept)  # committed now, with its older id

    assert kept["id"] < newest.id
    assert selectors.agent_board_version(customer_id=admin_a.customer_id) != before


def test_the_board_poll_costs_the_same_queries_at_any_size(client, admin_a, django_assert_max_num_queries):
    client.force_login(admin_a)
    _bulk_agents(admin_a.customer_id, 10, prefix="few")
    body = client.get(url("board_live")).content.decode()
    version = body.split('name="v" value="', 1)[1].split('"', 1)[0]
    with CaptureQueriesContext(connection) as small:
        assert client.get(url("board_live"), {"v": version}).status_code == 204
    _bulk_agents(admin_a.customer_id, 1000)  # bulk: no events, so the version stays
    with django_assert_max_num_queries(len(small)):
        assert client.get(url("board_live"), {"v": version}).status_code == 204


# --- the board's groups -------------------------------------------------------------------------


def test_a_board_shows_each_groups_first_tiles_and_counts_everyone(admin_a, monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_GROUP_TILES", 3)
    agents = _bulk_agents(admin_a.customer_id, 20)  # 4 of each status, plus alice-admin offline
    tag = make_tag(admin_a.customer_id, name="night")
    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag=tag) for agent in agents[:7])

    board = selectors.agent_board(customer_id=admin_a.customer_id)

    assert board.counts == {"available": 4, "away": 4, "busy": 4, "offline": 5, "ringing": 4}
    assert board.matching == board.counts
    by_status = {}
    for agent in board.agents:
        by_status.setdefault(agent.status, []).append(agent.name)
    assert all(len(names) == 3 and names == sorted(names) for names in by_status.values())
    assert len(board.unshown) == 21 - 15
    assert board.outside == {}
    shown = {str(agent.id) for agent in board.agents}
    assert not shown & set(board.unshown)
    everyone = {
        str(agent.id): agent.status for agent in Agent.objects.filter(customer_id=admin_a.customer_id)
    }
    assert {**board.unshown, **{str(a.id): a.status for a in board.agents}} == everyone
    assert sorted(board.agents[0].tag_ids) == (
        [tag.id] if board.agents[0].id in {a.id for a in agents[:7]} else []
    )

    filtered = selectors.agent_board(customer_id=admin_a.customer_id, tag_ids=[tag.id])

    assert filtered.counts == board.counts
    assert sum(filtered.matching.values()) == 7
    assert len(filtered.agents) + len(filtered.unshown) == 7
    assert len(filtered.outside) == 21 - 7


def test_a_small_board_carries_no_statuses(client, admin_a, agent_a):
    client.force_login(admin_a)
    body = client.get(url("board")).content.decode()
    assert 'id="board-statuses"' not in body
    assert re.findall(r'data-more="(\d+)"', body) == ["0"] * 5


def test_a_large_board_carries_the_statuses_of_agents_without_a_tile(client, admin_a, monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_GROUP_TILES", 2)
    _bulk_agents(admin_a.customer_id, 20)
    client.force_login(admin_a)
    body = client.get(url("board"), {"wall": "1"}).content.decode()

    assert body.count('class="tile ') == 10
    assert sorted(int(n) for n in re.findall(r'data-more="(\d+)"', body)) == [2, 2, 2, 2, 3]
    assert '<span class="group-n">5</span>' in body  # offline: 4 + alice-admin
    statuses = body.split('id="board-statuses" type="application/json">', 1)[1].split("</script>", 1)[0]
    assert statuses.count('"offline"') == 3


# --- the console's lists ------------------------------------------------------------------------


def _counts(queries) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize(("page", "params"), [("agent_list", {"per_page": "25"}), ("tag_list", {})])
def test_the_console_lists_count_no_further_than_their_limit(client, admin_a, page, params):
    client.force_login(admin_a)
    tag = make_tag(admin_a.customer_id, name="night")
    agents = _bulk_agents(admin_a.customer_id, 30)
    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag=tag) for agent in agents)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(page), params).status_code == 200
    counts = _counts(captured.captured_queries)
    assert counts
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_a_first_page_with_no_next_page_counts_its_own_rows(client, admin_a):
    """A search that fits on one page (a supervisor looking someone up) runs no count (once
    the customer's size is known: `test_a_customers_size_is_counted_once_for_its_searches`)."""
    client.force_login(admin_a)
    _bulk_agents(admin_a.customer_id, 30)
    client.get(url("agent_list"), {"q": "big agent 2"})
    with CaptureQueriesContext(connection) as captured:
        body = client.get(url("agent_list"), {"q": "big agent 2"}).content.decode()
    assert _counts(captured.captured_queries) == []
    assert len(re.findall(r'<tr data-agent="', body)) == 11  # 2 and 20 to 29
    assert '<span class="head-count">11</span>' in body
    assert "Showing 11 of 11" in body


def test_the_tags_page_shows_a_capped_count(client, admin_a, monkeypatch):
    from tags import selectors as tag_selectors

    monkeypatch.setattr(tag_selectors, "TAG_COUNT_LIMIT", 5)
    client.force_login(admin_a)
    tag = make_tag(admin_a.customer_id, name="night")
    small = make_tag(admin_a.customer_id, name="small")
    agents = _bulk_agents(admin_a.customer_id, 12)
    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag=tag) for agent in agents)
    AgentTag.objects.bulk_create(AgentTag(agent=agent, tag=small) for agent in agents[:3])
    body = client.get(url("tag_list")).content.decode()
    night = body.split('data-tag="night"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r'<td[^>]*class="num"[^>]*>5\+</td>', night), night
    small_row = body.split('data-tag="small"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r'<td[^>]*class="num"[^>]*>3</td>', small_row), small_row
    Agent.objects.filter(pk__in=[agents[0].pk, agents[1].pk]).update(tm_delete=timezone.now())
    small_row = (
        client.get(url("tag_list")).content.decode().split('data-tag="small"', 1)[1].split("</tr>", 1)[0]
    )
    assert re.search(r'<td[^>]*class="num"[^>]*>1</td>', small_row), small_row  # deleted ones are not counted


def test_a_customers_size_is_counted_once_for_its_searches(admin_a, admin_b):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL chooses between the indexes and a scan")
    _bulk_agents(admin_a.customer_id, 5)

    def size_counts(customer_id) -> int:
        with CaptureQueriesContext(connection) as captured:
            list(selectors.agent_list(customer_id=customer_id, q="big"))
        size_limit = f"LIMIT {selectors.SEARCH_SCAN_LIMIT + 1}"
        return len([sql for sql in _counts(captured.captured_queries) if size_limit in sql])

    assert size_counts(admin_a.customer_id) == 1
    assert size_counts(admin_a.customer_id) == 0
    assert size_counts(admin_b.customer_id) == 1  # each customer has its own


def test_a_search_still_answers_while_the_cache_is_down(client, admin_a, settings, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    _bulk_agents(admin_a.customer_id, 30)
    client.force_login(admin_a)

    response = client.get(url("agent_list"), {"q": "big agent 2"})

    assert response.status_code == 200
    assert len(re.findall(r'<tr data-agent="', response.content.decode())) == 11
    if connection.vendor == "postgresql":  # only PostgreSQL asks the cache for the size
        assert "the cache is unreachable" in caplog.text


@pytest.mark.parametrize("depth", [0, 40, 80])
def test_a_deep_console_page_runs_the_same_queries_as_the_first(client, admin_a, depth):
    client.force_login(admin_a)
    agents = list(Agent.objects.filter(customer_id=admin_a.customer_id))
    agents += _bulk_agents(admin_a.customer_id, 100)
    client.get(url("agent_list"))
    with CaptureQueriesContext(connection) as first:
        client.get(url("agent_list"), {"per_page": "25"})
    ordered = list(Agent.objects.filter(customer_id=admin_a.customer_id).order_by("-tm_create", "-id"))
    token = selectors.console_page_token(ordered[depth], ordering="-created")
    with CaptureQueriesContext(connection) as deep:
        body = client.get(url("agent_list"), {"per_page": "25", "after": token}).content.decode()
    assert len(deep) == len(first)
    assert re.findall(r'<tr data-agent="([^"]+)"', body) == [
        a.username for a in ordered[depth + 1 : depth + 26]
    ]
