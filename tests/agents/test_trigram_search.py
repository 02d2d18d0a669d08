"""Which fragment of a `q` search each trigram index is asked for (`agents/trigram_search.py`):
the trigrams are pg_trgm's, a fragment is always a substring of q, a fragment replaces q only
where the statistics say its trigrams are much rarer, and the search finds the same agents
whichever fragment it asks for."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from agents import selectors, trigram_search
from agents.models import Agent
from agents.trigram_search import ColumnSample, fragment_trigrams, fragments, value_trigrams
from tests.factories import make_bulk_agents

pytestmark = pytest.mark.django_db


def _shared_prefix_sample(size: int = 1000) -> ColumnSample:
    """A histogram sample of names that all begin "AGENT 1000000-" (the benchmark's)."""
    rng = random.Random(3)
    return ColumnSample.of([], [], [f"AGENT 1000000-{rng.randrange(1_000_000)}" for _ in range(size)], 0.0)


def test_a_stored_values_trigrams_are_pg_trgms():
    assert value_trigrams("Ab-1") == {"  a", " ab", "ab ", "  1", " 1 "}
    assert value_trigrams("night  shift") == value_trigrams("NIGHT_SHIFT") == value_trigrams("night shift")


def test_a_fragment_is_padded_only_where_a_separator_bounds_it():
    assert fragment_trigrams("333") == {"333"}
    assert fragment_trigrams("-333") == {"  3", " 33", "333"}
    assert fragment_trigrams("333-") == {"333", "33 "}
    assert fragment_trigrams("ab") == set()


@pytest.mark.postgres_only
def test_the_trigrams_of_a_value_are_those_postgresql_shows(db):
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    values = ["Agent 1000000-333333", "night shift 4", "l1000-0000012", "pat.agent@example.com", "A  b--c_d"]
    with connection.cursor() as cursor:
        for value in values:
            cursor.execute("SELECT show_trgm(UPPER(%s))", [value])
            assert set(cursor.fetchone()[0]) == value_trigrams(value), value


def test_fragments_are_runs_of_whole_words_of_q():
    q = "Agent 1000-33"
    parts = fragments(q)
    assert all(part in q for part in parts)
    assert {"Agent", "Agent ", "1000", " 1000-", "-33", "33", q} <= set(parts)
    assert "gent" not in parts
    assert fragments("--") == []


def test_a_shared_prefix_is_left_out_of_the_index_lookup():
    fragment = _shared_prefix_sample().cheapest_fragment("Agent 1000000-333333")
    assert fragment in {"-333333", "0-333333"}, fragment


def test_q_itself_is_asked_for_when_no_fragment_is_clearly_cheaper():
    rng = random.Random(7)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def word(length):
        return "".join(rng.choice(letters) for _ in range(length))

    sample = ColumnSample.of([], [], [f"{word(6)} {word(8)}" for _ in range(1000)], 0.0)
    assert sample.cheapest_fragment("Maria Lopez") == "Maria Lopez"
    assert sample.cheapest_fragment("ab") == "ab"  # no trigram at all


def test_the_most_common_values_count_with_their_frequencies():
    # 90% of the rows hold "night shift": its trigrams are dense, the rare word's are not.
    rest = ["NIGHT QUOKKA", *(f"ZEBRA {n}" for n in range(999))]
    sample = ColumnSample.of(["NIGHT SHIFT"], [0.9], rest, 0.0)
    assert sample.share_holding({"nig"}) == pytest.approx(0.9 + 0.1 / 1000)
    assert sample.share_holding({"quo"}) == pytest.approx(0.1 / 1000)
    assert sample.cheapest_fragment("night quokka") in {"quokka", " quokka"}


def test_a_long_q_is_asked_for_whole(monkeypatch):
    monkeypatch.setattr(trigram_search, "_statistics", lambda: {"name": _shared_prefix_sample()})
    assert trigram_search.index_fragment("Agent 1000000-333333", "name") != "Agent 1000000-333333"
    long_q = "Agent 1000000-333333 " + "x" * trigram_search.MAX_PRICED_LENGTH
    assert trigram_search.index_fragment(long_q, "name") == long_q


def test_without_statistics_the_search_asks_for_q(monkeypatch):
    monkeypatch.setattr(trigram_search, "_statistics", lambda: {})
    assert trigram_search.index_fragment("Agent 1000000-333333", "name") == "Agent 1000000-333333"


# --- on PostgreSQL, with the table's real statistics ------------------------------------------------


def _agents_sharing_a_prefix(customer_id, count):
    make_bulk_agents(customer_id, count, prefix="shared", name="Shared Prefix")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_agent")
    trigram_search.forget_statistics()


@pytest.mark.postgres_only
def test_the_name_index_is_asked_for_the_rare_part_of_a_name(admin_a):
    if connection.vendor != "postgresql":
        pytest.skip("pg_stats and the trigram indexes are PostgreSQL's")
    _agents_sharing_a_prefix(admin_a.customer_id, 3000)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # 3,000 rows would be read whole
        plan = Agent.objects.filter(selectors.agent_search("shared prefix 2345")).explain()
    finally:
        trigram_search.forget_statistics()
    name_scan = plan.split("Bitmap Index Scan on agent_name_trgm_idx", 1)[1].split("->", 1)[0]
    assert "PREFIX 2345" not in name_scan, plan
    assert "2345%" in name_scan, plan
    # ... and the whole of q is still matched on the rows it gives, on the unindexed expression.
    assert "(COALESCE(name, ''::character varying))::text || ''::text)) ~~ '%SHARED PREFIX 2345%'" in plan, (
        plan
    )


@pytest.mark.postgres_only
def test_a_large_customers_search_finds_what_reading_its_rows_finds(admin_a, agent_a, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("pg_stats and the trigram indexes are PostgreSQL's")
    _agents_sharing_a_prefix(admin_a.customer_id, 3000)
    rng = random.Random(11)
    searches = ["shared prefix 2345", "PREFIX 1", "x 12", "-0234", "ed-00", "shift", "t s", "pat", "100%"]
    searches.append("e_0")
    for _ in range(30):
        name = f"Shared Prefix {rng.randrange(3000)}"
        start = rng.randrange(len(name) - 2)
        searches.append(name[start : rng.randrange(start + 3, len(name) + 1)].swapcase())

    def found(q, scan_limit):
        monkeypatch.setattr(selectors, "SEARCH_SCAN_LIMIT", scan_limit)
        return sorted(a.username for a in selectors.agent_list(customer_id=admin_a.customer_id, q=q))

    try:
        asked = {q: trigram_search.index_fragment(q, "name") for q in searches}
        for q in searches:
            assert found(q, 0) == found(q, 20000), q
    finally:
        trigram_search.forget_statistics()
    assert sum(fragment != q for q, fragment in asked.items()) >= 5, asked  # fragments were used
