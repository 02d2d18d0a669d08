"""The reports' reads, for every door: the status report, the timeline, the staffing curve, and
one agent's history by page (contract section 12).

The sums come from the database (`queries.py`); what is done here is naming them: per agent
and bucket, the seconds per status, the time signed in, the occupancy, the changes and the
`away` reasons (top 10 and "other").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from agents.models import Agent, AgentStatus, AgentStatusChange, Customer
from agents.reports import queries
from agents.reports.periods import Bucket, buckets, customer_zone, day_bounds
from tags.models import Tag

STATUSES: tuple[str, ...] = (
    AgentStatus.AVAILABLE,
    AgentStatus.RINGING,
    AgentStatus.BUSY,
    AgentStatus.AWAY,
    AgentStatus.OFFLINE,
)
TOP_REASONS = 10
OTHER_REASONS = "other"


@dataclass
class Figures:
    """Time in each status (seconds), changes, and `away` time per reason."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0.0))
    changes: int = 0
    away_reasons: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def signed_in_seconds(self) -> float:
        return self.total_seconds - self.seconds[AgentStatus.OFFLINE]

    @property
    def occupancy(self) -> float:
        signed_in = self.signed_in_seconds
        return self.seconds[AgentStatus.BUSY] / signed_in if signed_in > 0 else 0.0

    def add(self, other: Figures) -> None:
        for status, seconds in other.seconds.items():
            self.seconds[status] += seconds
        self.changes += other.changes
        for reason, seconds in other.away_reasons.items():
            self.away_reasons[reason] = self.away_reasons.get(reason, 0.0) + seconds

    def divided(self, count: int) -> Figures:
        """The average of `count` agents' figures (these are their sum)."""
        if count == 0:
            return Figures()
        return Figures(
            seconds={status: seconds / count for status, seconds in self.seconds.items()},
            changes=self.changes,  # read with `changes_per_agent`
            away_reasons={reason: seconds / count for reason, seconds in self.away_reasons.items()},
        )

    def top_away_reasons(self) -> list[tuple[str, float]]:
        """The 10 reasons with the most time (ties by reason text), then "other" for the rest."""
        ranked = sorted(self.away_reasons.items(), key=lambda item: (-item[1], item[0]))
        top = ranked[:TOP_REASONS]
        rest = sum(seconds for _, seconds in ranked[TOP_REASONS:])
        return [*top, (OTHER_REASONS, rest)] if len(ranked) > TOP_REASONS else top

    def as_dict(self) -> dict:
        """The contract's `<figures>` (section 12)."""
        return {
            "seconds": {status: _rounded(self.seconds[status]) for status in sorted(STATUSES)},
            "signed_in_seconds": _rounded(self.signed_in_seconds),
            "occupancy": round(self.occupancy, 6),
            "changes": self.changes,
            "away_reasons": [
                {"reason": reason, "seconds": _rounded(seconds)}
                for reason, seconds in self.top_away_reasons()
            ],
        }


def _rounded(seconds: float) -> float:
    return round(seconds, 6)


@dataclass
class AgentFigures:
    agent_id: UUID
    username: str
    name: str
    deleted: bool
    totals: Figures
    buckets: list[Figures]


@dataclass
class StatusReport:
    start: datetime
    stop: datetime
    zone: ZoneInfo
    interval: str
    buckets: list[Bucket]
    rows: list[AgentFigures]
    totals: Figures

    @property
    def averages(self) -> Figures:
        return self.totals.divided(len(self.rows))

    @property
    def changes_per_agent(self) -> float:
        return self.totals.changes / len(self.rows) if self.rows else 0.0


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _agents_by_id(ids: Sequence[UUID]) -> dict[UUID, Agent]:
    agents = Agent.objects.filter(pk__in=ids).only("id", "username", "name", "tm_delete")
    return {agent.pk: agent for agent in agents}


def agent_status_report(
    *,
    customer: Customer,
    start: datetime,
    stop: datetime,
    interval: str = "day",
    agent_ids: Sequence[UUID] | None = None,
    tag_ids: Sequence[UUID] | None = None,
    now: datetime | None = None,
) -> StatusReport:
    """Per agent of the customer (optionally only `agent_ids`, and only those with any of
    `tag_ids`), the figures of [start, stop) per bucket (`day`, `hour`, or `total`: one bucket)
    and in total, ordered by username. The interval still open runs to the earlier of `stop` and
    now. Agents without time in the range are left out. Two queries."""
    zone = customer_zone(customer.time_zone)
    clipped = min(stop, now or timezone.now())
    report_buckets = [Bucket(start, stop)] if interval == "total" else buckets(start, stop, zone, interval)
    per_agent: dict[UUID, list[Figures]] = {}
    if clipped > start:
        rows = queries.status_seconds(
            customer_id=customer.pk,
            agent_ids=agent_ids,
            tag_ids=tag_ids,
            start=start,
            stop=clipped,
            buckets=report_buckets,
        )
        for agent_id, index, status, away_reason, seconds, changes in rows:
            agent_uuid = _uuid(agent_id)
            if agent_uuid not in per_agent:
                per_agent[agent_uuid] = [Figures() for _ in report_buckets]
            figures = per_agent[agent_uuid][index]
            seconds = float(seconds or 0)
            figures.seconds[status] += seconds
            figures.changes += int(changes or 0)
            if status == AgentStatus.AWAY:
                figures.away_reasons[away_reason] = figures.away_reasons.get(away_reason, 0.0) + seconds
    agents = _agents_by_id(list(per_agent))
    report_rows = []
    totals = Figures()
    for agent_id, agent_buckets in per_agent.items():
        agent_totals = Figures()
        for figures in agent_buckets:
            agent_totals.add(figures)
        if agent_totals.total_seconds <= 0 and agent_totals.changes == 0:
            continue
        agent = agents[agent_id]
        report_rows.append(
            AgentFigures(
                agent_id, agent.username, agent.name, agent.tm_delete is not None, agent_totals, agent_buckets
            )
        )
        totals.add(agent_totals)
    report_rows.sort(key=lambda row: (row.username.casefold(), row.username, str(row.agent_id)))
    return StatusReport(start, stop, zone, interval, report_buckets, report_rows, totals)


@dataclass(frozen=True)
class Segment:
    status: str
    start: datetime
    end: datetime
    reason: str
    changed_at: datetime
    from_status: str
    changed_by_type: str
    changed_by_id: UUID | None
    changed_by_name: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class TimelineRow:
    agent_id: UUID
    username: str
    name: str
    deleted: bool
    segments: list[Segment]


@dataclass
class Timeline:
    day: date
    start: datetime
    stop: datetime
    zone: ZoneInfo
    rows: list[TimelineRow]


def _segment(row: tuple) -> Segment:
    _, status, start, end, reason, changed_at, from_status, by_agent, by_username, by_key, key_name = row
    if by_agent is not None:
        kind, by_id, by_name = "agent", _uuid(by_agent), by_username or ""
    elif by_key is not None:
        kind, by_id, by_name = "access_key", _uuid(by_key), key_name or ""
    else:
        kind, by_id, by_name = "system", None, ""
    return Segment(status, start, end, reason, changed_at, from_status, kind, by_id, by_name)


def agent_timeline(
    *,
    customer: Customer,
    day: date,
    agent_ids: Sequence[UUID] | None = None,
    tag_ids: Sequence[UUID] | None = None,
    now: datetime | None = None,
) -> Timeline:
    """Every status interval of the customer's agents across one local day (to now for today),
    one row per agent ordered by username. Two queries."""
    zone = customer_zone(customer.time_zone)
    start, stop = day_bounds(day, zone)
    clipped = min(stop, now or timezone.now())
    segments: dict[UUID, list[Segment]] = defaultdict(list)
    if clipped > start:
        for row in queries.timeline_intervals(
            customer_id=customer.pk, agent_ids=agent_ids, tag_ids=tag_ids, start=start, stop=clipped
        ):
            segments[_uuid(row[0])].append(_segment(row))
    agents = _agents_by_id(list(segments))
    rows = [
        TimelineRow(
            agent_id,
            agents[agent_id].username,
            agents[agent_id].name,
            agents[agent_id].tm_delete is not None,
            items,
        )
        for agent_id, items in segments.items()
    ]
    rows.sort(key=lambda row: (row.username.casefold(), row.username, str(row.agent_id)))
    return Timeline(day, start, stop, zone, rows)


@dataclass
class TagCurve:
    tag_id: UUID
    name: str
    available: list[float]


@dataclass
class StaffingCurve:
    """Per 15-minute slot of one local day, the average number of agents in each status (agent
    seconds in the slot / the slot's seconds), and per tag the average number available."""

    day: date
    start: datetime
    stop: datetime
    zone: ZoneInfo
    slots: list[Bucket]
    counts: dict[str, list[float]]
    tags: list[TagCurve]

    def slot_total(self, index: int) -> float:
        return sum(self.counts[status][index] for status in STATUSES)


def staffing_curve(
    *, customer: Customer, day: date, tag_ids: Sequence[UUID] | None = None, now: datetime | None = None
) -> StaffingCurve:
    """The staffing curve of one local day (92, 96 or 100 slots), to now for today. Three queries."""
    zone = customer_zone(customer.time_zone)
    start, stop = day_bounds(day, zone)
    clipped = min(stop, now or timezone.now())
    slots = buckets(start, stop, zone, "slot")
    counts = {status: [0.0] * len(slots) for status in STATUSES}
    available_by_tag: dict[UUID, list[float]] = {}
    if clipped > start:
        by_status, by_tag = queries.status_seconds_by_bucket(
            customer_id=customer.pk, tag_ids=tag_ids, start=start, stop=clipped, buckets=slots
        )
        for index, status, seconds in by_status:
            counts[status][index] += float(seconds or 0) / slots[index].seconds
        for index, tag_id, seconds in by_tag:
            available_by_tag.setdefault(_uuid(tag_id), [0.0] * len(slots))[index] += (
                float(seconds or 0) / slots[index].seconds
            )
    tags = Tag.objects.filter(customer_id=customer.pk, tm_delete__isnull=True).order_by("name")
    if tag_ids is not None:
        tags = tags.filter(pk__in=tag_ids)
    tag_curves = [
        TagCurve(tag.pk, tag.name, available_by_tag.get(tag.pk, [0.0] * len(slots))) for tag in tags
    ]
    return StaffingCurve(day, start, stop, zone, slots, counts, tag_curves)


def agent_status_history_page(
    *,
    agent: Agent,
    size: int,
    before: tuple[datetime, int | None] | None = None,
    start: datetime | None = None,
    stop: datetime | None = None,
) -> list[AgentStatusChange]:
    """One page of an agent's status changes, newest first by (tm_create, id), optionally only
    those in [start, stop) and strictly before the `before` position (one keyset query on the
    history index)."""
    changes: QuerySet[AgentStatusChange] = AgentStatusChange.objects.filter(agent_id=agent.pk)
    if start is not None:
        changes = changes.filter(tm_create__gte=start)
    if stop is not None:
        changes = changes.filter(tm_create__lt=stop)
    if before is not None:
        tm_create, change_id = before
        if change_id is None:
            changes = changes.filter(tm_create__lt=tm_create)
        else:
            changes = changes.filter(
                Q(tm_create__lt=tm_create) | Q(id__lt=change_id), tm_create__lte=tm_create
            )
    return list(
        changes.select_related("changed_by_agent", "changed_by_access_key").order_by("-tm_create", "-id")[
            :size
        ]
    )


def recent_days(*, customer: Customer, count: int = 7, now: datetime | None = None) -> list[date]:
    """Today and the days before it in the customer's zone (for the pages' day pickers)."""
    today = (now or timezone.now()).astimezone(customer_zone(customer.time_zone)).date()
    return [today - timedelta(days=offset) for offset in range(count)]
