"""Which part of a `q` search the trigram indexes are asked for (README, "Large customers").

A GIN trigram index answers `UPPER(col) LIKE '%q%'` by intersecting the posting lists of q's
trigrams, and it reads every one of them whole. A trigram that most rows share (the `age` of
"Agent", the `000` of a long number) costs a read of a million entries at a million agents,
however rare the other trigrams are. So each column's index is asked for the fragment of q
whose trigrams cost least to read and leave fewest rows to recheck, and the whole of q is then
matched on the rows that come back (on an expression no index has: `selectors.agent_search`).
Every fragment is a substring of q, so every row that contains q contains it: the choice
changes what the search costs, never what it finds.

What a trigram costs comes from PostgreSQL's own statistics of the index's expression
(`pg_stats`: its most common values with their frequencies, and a histogram sample of the
rest, 1,000 values each since migration 0008), which autovacuum keeps up to date. They are
read once per process every `STATISTICS_SECONDS`. With no statistics (a table never analysed),
the search asks for the whole of q, as Django writes it.

The trigrams are pg_trgm's: lower-cased words of letters and digits, a stored value's words
padded with two spaces before and one after, a `LIKE` fragment's only where it does not touch
the wildcard.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from django.db import connection

#: The trigram index of each searched column (migration 0007).
SEARCH_INDEXES = {
    "name": "agent_name_trgm_idx",
    "username": "agent_username_trgm_idx",
    "detail": "agent_detail_trgm_idx",
}
#: How long a process keeps the statistics it read.
STATISTICS_SECONDS = 600.0
#: What rechecking a row costs, in posting-list entries read (measured at a million agents:
#: about 2 µs a row read from the table and matched, about 7 ns an entry).
RECHECK_COST = 300.0
#: A fragment replaces q only when it is estimated at least this many times cheaper.
WORTHWHILE = 2.0
#: Words of q looked at (fragments are runs of whole words; their number grows with the square
#: of this).
MAX_WORDS = 6
#: A longer q is asked for whole: it is rare enough, and pricing its fragments would cost more
#: than it saves (a 7,700-character q took 108 ms to price when 12 words were looked at).
MAX_PRICED_LENGTH = 100
#: The part of each sampled value whose trigrams are counted (pg_stats keeps values of up to
#: 1 kB; 1,000 sampled values of 1,000 characters took 0.59 s to read whole, 0.08 s cut).
SAMPLED_LENGTH = 100

_WORD = re.compile(r"[^\W_]+")


def value_trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of a stored value (`show_trgm`)."""
    trigrams: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f"  {word} "
        trigrams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return trigrams


def fragment_trigrams(fragment: str) -> set[str]:
    """pg_trgm's trigrams of `LIKE '%fragment%'`: a word is padded on a side where a separator
    of the fragment bounds it, not where it touches the wildcard."""
    text = fragment.lower()
    trigrams: set[str] = set()
    for word in _WORD.finditer(text):
        left = "  " if word.start() > 0 else ""
        right = " " if word.end() < len(text) else ""
        padded = f"{left}{word.group()}{right}"
        trigrams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return trigrams


def fragments(q: str) -> list[str]:
    """The fragments of q a search may ask an index for: each run of whole words, with or
    without the separator on either side."""
    words = list(_WORD.finditer(q))[:MAX_WORDS]
    found: list[str] = []
    for first in range(len(words)):
        starts = {words[first].start(), max(words[first].start() - 1, 0)}
        for last in range(first, len(words)):
            ends = {words[last].end(), min(words[last].end() + 1, len(q))}
            found.extend(q[start:end] for start in starts for end in ends)
    return list(dict.fromkeys(found))


@dataclass
class ColumnSample:
    """A column's statistics as trigram bitmaps: which sampled values hold each trigram."""

    common_frequencies: list[float]
    common_rows: dict[str, int] = field(default_factory=dict)  # trigram -> bitmap of common values
    sample_rows: dict[str, int] = field(default_factory=dict)  # trigram -> bitmap of the sample
    sample_size: int = 0
    sample_share: float = 0.0  # the rows the sample stands for
    shares: dict[str, float] = field(default_factory=dict)  # each sampled trigram's share of the rows

    @classmethod
    def of(cls, common: list[str], frequencies: list[float], sample: list[str], null_share: float):
        column = cls(
            common_frequencies=frequencies,
            sample_size=len(sample),
            sample_share=max(0.0, 1.0 - null_share - sum(frequencies)) if sample else 0.0,
        )
        for bitmaps, values in ((column.common_rows, common), (column.sample_rows, sample)):
            for position, value in enumerate(values):
                for trigram in value_trigrams(value[:SAMPLED_LENGTH]):
                    bitmaps[trigram] = bitmaps.get(trigram, 0) | (1 << position)
        for trigram in column.common_rows.keys() | column.sample_rows.keys():
            column.shares[trigram] = column.share_holding({trigram})
        return column

    def share_holding(self, trigrams: set[str]) -> float:
        """The estimated share of rows that hold all of `trigrams`."""
        common = (1 << len(self.common_frequencies)) - 1
        sample = (1 << self.sample_size) - 1
        for trigram in trigrams:
            common &= self.common_rows.get(trigram, 0)
            sample &= self.sample_rows.get(trigram, 0)
        share = 0.0
        while common:
            lowest = common & -common
            share += self.common_frequencies[lowest.bit_length() - 1]
            common ^= lowest
        if self.sample_size:
            share += self.sample_share * sample.bit_count() / self.sample_size
        return share

    def cost(self, trigrams: set[str]) -> float:
        """Entries read (each trigram's posting list) plus the rows to recheck, as shares of
        the table. A fragment without trigrams would read the whole index."""
        if not trigrams:
            return float("inf")
        entries = sum(self.shares.get(trigram, 0.0) for trigram in trigrams)
        # Half a sampled row more than the sample shows: a fragment no sampled value holds may
        # still match rows, and one that a single value holds matches more than that suggests.
        sampled = len(self.common_frequencies) + self.sample_size
        rechecked = self.share_holding(trigrams) + 0.5 / max(sampled, 1)
        return entries + RECHECK_COST * rechecked

    def cheapest_fragment(self, q: str) -> str:
        """The cheapest fragment of q (the longest of equally cheap ones), if it is at least
        `WORTHWHILE` times cheaper than q; else q."""
        priced = sorted((self.cost(fragment_trigrams(part)), -len(part), part) for part in fragments(q))
        if priced and priced[0][0] * WORTHWHILE < self.cost(fragment_trigrams(q)):
            return priced[0][2]
        return q


def index_fragment(q: str, column: str) -> str:
    """The part of q that the column's trigram index is asked for: q itself unless a fragment
    is clearly cheaper by the column's statistics."""
    if len(q) > MAX_PRICED_LENGTH:
        return q
    sample = _statistics().get(column)
    return q if sample is None else sample.cheapest_fragment(q)


_cache_lock = threading.Lock()
_cache: tuple[float, str, dict[str, ColumnSample]] | None = None


def _statistics() -> dict[str, ColumnSample]:
    """The searched columns' samples, read at most once per `STATISTICS_SECONDS` (per
    database: the test suite's databases differ by name), by one thread while the others
    wait for it."""
    global _cache
    database = connection.settings_dict["NAME"]
    with _cache_lock:
        if not (_cache and _cache[1] == database and time.monotonic() < _cache[0]):
            _cache = (time.monotonic() + STATISTICS_SECONDS, database, _read_statistics())
        return _cache[2]


def forget_statistics() -> None:
    """Read the statistics again at the next search (after an ANALYZE, in tests)."""
    global _cache
    with _cache_lock:
        _cache = None


_STATISTICS_SQL = """
SELECT tablename, coalesce(most_common_vals::text::text[], '{}'),
       coalesce(most_common_freqs, '{}'), coalesce(histogram_bounds::text::text[], '{}'), null_frac
FROM pg_stats
WHERE schemaname = current_schema() AND tablename = ANY(%s)
"""


def _read_statistics() -> dict[str, ColumnSample]:
    if connection.vendor != "postgresql":
        return {}
    columns = {index: column for column, index in SEARCH_INDEXES.items()}
    with connection.cursor() as cursor:
        cursor.execute(_STATISTICS_SQL, [list(columns)])
        rows = cursor.fetchall()
    return {
        columns[index]: ColumnSample.of(list(common), list(frequencies), list(sample), null_share)
        for index, common, frequencies, sample, null_share in rows
    }
