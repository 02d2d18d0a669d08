"""Status history and reports (contract section 12: extensions of VoIPbin's API)."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from agents import permissions
from agents.api.report_serializers import StatusChangePageSerializer, StatusReportSerializer
from agents.api.views.common import AGENT_ID, visible_agent
from agents.models import AgentStatusChange, Customer
from agents.reports import periods, selectors
from agents.reports.selectors import StatusReport
from voipbin_admin.api.pagination import page_token_after, parse_page_size, parse_page_token
from voipbin_admin.api.schema import AUTHENTICATED_ERRORS, PAGE_PARAMETERS, error_responses
from voipbin_admin.api.views import ApiView
from voipbin_admin.errors import InvalidArgument
from voipbin_admin.timestamps import format_timestamp

EXTENSION = {"x-voipbin-extension": True}
EXTENSION_NOTE = "**Extension**: not in VoIPbin's API (contract section 12). "
REPORTS = ["reports (extension)"]
MAX_AGENT_FILTER_IDS = 100

_ID_LIST = {
    "type": "array",
    "items": {"type": "string", "format": "uuid"},
    "minItems": 1,
    "maxItems": MAX_AGENT_FILTER_IDS,
}
_RANGE_TEXT = (
    "a date `YYYY-MM-DD` (midnight in the customer's time zone) "
    "or a UTC timestamp `2022-10-22 16:16:16.874761`"
)


def _change_id(text: str) -> int:
    """The status change id of a history page token (ValueError for anything else)."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ValueError(text)
    return int(text)


def _history_moment(raw: str | None, name: str, customer: Customer) -> datetime | None:
    if raw is None or raw == "":
        return None
    moment = periods.parse_moment(raw, periods.customer_zone(customer.time_zone))
    if moment is None:
        raise InvalidArgument(
            "INVALID_RANGE",
            f"{name} must be a timestamp YYYY-MM-DD HH:MM:SS.ffffff (UTC) or a date YYYY-MM-DD.",
        )
    return moment


def status_change_representation(change: AgentStatusChange) -> dict:
    if change.changed_by_agent is not None:
        changed_by = {
            "type": "agent",
            "id": str(change.changed_by_agent.pk),
            "name": change.changed_by_agent.username,
        }
    elif change.changed_by_access_key is not None:
        key = change.changed_by_access_key
        changed_by = {"type": "access_key", "id": str(key.pk), "name": key.name or key.token_prefix}
    else:
        changed_by = {"type": "system", "id": "", "name": ""}
    return {
        "id": str(change.pk),
        "agent_id": str(change.agent_id),
        "from_status": change.from_status,
        "to_status": change.to_status,
        "reason": change.reason,
        "changed_by": changed_by,
        "tm_create": format_timestamp(change.tm_create),
    }


class AgentStatusHistoryView(ApiView):
    @extend_schema(
        operation_id="agents_status_history",
        tags=REPORTS,
        summary="An agent's status changes, newest first (extension; supervisors, or the agent itself)",
        description=EXTENSION_NOTE
        + "Every change of the agent's status: who made it, when, from what, to what "
        'and why. The first entry of an agent\'s life has `from_status` `""` and reason `created`. '
        "`from` is inclusive, `to` exclusive.",
        parameters=[
            AGENT_ID,
            *PAGE_PARAMETERS,
            OpenApiParameter(
                "from", OpenApiTypes.STR, description=f"Only changes at or after this: {_RANGE_TEXT}."
            ),
            OpenApiParameter("to", OpenApiTypes.STR, description=f"Only changes before this: {_RANGE_TEXT}."),
        ],
        responses={200: StatusChangePageSerializer, **error_responses(400, *AUTHENTICATED_ERRORS, 404)},
        extensions=EXTENSION,
    )
    def get(self, request, agent_id):
        agent = visible_agent(self.request, agent_id)
        params = request.query_params
        size = parse_page_size(params.get("page_size"))
        before = parse_page_token(params.get("page_token"), parse_id=_change_id)
        customer = Customer.objects.get(pk=agent.customer_id)
        changes = selectors.agent_status_history_page(
            agent=agent,
            size=size,
            before=before,
            start=_history_moment(params.get("from"), "from", customer),
            stop=_history_moment(params.get("to"), "to", customer),
        )
        items = [status_change_representation(change) for change in changes]
        return Response({"result": items, "next_page_token": page_token_after(items[-1]) if items else ""})


def _id_list(raw: str | None, reason: str, name: str) -> list | None:
    if raw is None:
        return None
    parts = [part.strip() for part in raw.split(",")]
    if not raw.strip() or any(not part for part in parts) or len(parts) > MAX_AGENT_FILTER_IDS:
        raise InvalidArgument(reason, f"{name} must be 1 to {MAX_AGENT_FILTER_IDS} comma-separated ids.")
    from agents.selectors import parse_uuid

    return list(dict.fromkeys(parse_uuid(part, reason=reason) for part in parts))


def report_representation(report: StatusReport) -> dict:
    """The answer of `GET /v1.0/reports/agent_status` (contract section 12)."""
    return {
        "from": format_timestamp(report.start),
        "to": format_timestamp(report.stop),
        "time_zone": str(report.zone.key),
        "interval": report.interval,
        "result": [
            {
                "agent_id": str(row.agent_id),
                "username": row.username,
                "name": row.name,
                "totals": row.totals.as_dict(),
                "buckets": [
                    {
                        "start": format_timestamp(bucket.start),
                        "end": format_timestamp(bucket.end),
                        **figures.as_dict(),
                    }
                    for bucket, figures in zip(report.buckets, row.buckets, strict=True)
                ],
            }
            for row in report.rows
        ],
    }


class AgentStatusReportView(ApiView):
    @extend_schema(
        operation_id="reports_agent_status",
        tags=REPORTS,
        summary="Time in each status per agent, by day or hour (extension; supervisors)",
        description=EXTENSION_NOTE
        + "For the caller's customer, per agent: seconds in each status, signed-in seconds (not "
        "`offline`), occupancy (busy / signed in), the number of status changes and the `away` time per "
        "reason, in total and per bucket. Buckets start at midnight (`day`) or on the hour (`hour`) in "
        "the customer's time zone, so a daylight-saving day has 23 or 25 hours; the first and last "
        "bucket are clipped to the range. An agent counts for the time it existed inside the range; the "
        "interval still open runs to the earlier of `to` and now. Agents without time in the range are "
        "left out. A range that is missing, malformed, empty or longer than 92 days (7 for `hour`) is "
        "400 `INVALID_RANGE`.",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.STR, required=True, description=f"Start (inclusive): {_RANGE_TEXT}."
            ),
            OpenApiParameter(
                "to", OpenApiTypes.STR, required=True, description=f"End (exclusive): {_RANGE_TEXT}."
            ),
            OpenApiParameter(
                "interval",
                OpenApiTypes.STR,
                enum=list(periods.INTERVALS),
                description="`day` (default) or `hour`.",
            ),
            OpenApiParameter(
                "agent_ids",
                _ID_LIST,
                style="form",
                explode=False,
                description="Only these agents (comma-separated).",
            ),
            OpenApiParameter(
                "tag_ids",
                _ID_LIST,
                style="form",
                explode=False,
                description="Only agents having any of these tags (comma-separated).",
            ),
        ],
        responses={200: StatusReportSerializer, **error_responses(400, *AUTHENTICATED_ERRORS)},
        extensions=EXTENSION,
    )
    def get(self, request):
        permissions.require_supervisor_of(self.actor, self.actor.customer_id)
        customer = Customer.objects.get(pk=self.actor.customer_id)
        params = request.query_params
        interval = periods.clean_interval(params.get("interval"))
        start, stop = periods.clean_range(
            params.get("from"), params.get("to"), periods.customer_zone(customer.time_zone), interval=interval
        )
        report = selectors.agent_status_report(
            customer=customer,
            start=start,
            stop=stop,
            interval=interval,
            agent_ids=_id_list(params.get("agent_ids"), "INVALID_AGENT_IDS", "agent_ids"),
            tag_ids=_id_list(params.get("tag_ids"), "INVALID_TAG_IDS", "tag_ids"),
        )
        return Response(report_representation(report))
