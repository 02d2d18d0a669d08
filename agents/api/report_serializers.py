"""The schema of contract section 12 (status history and reports, extensions of VoIPbin's API)."""

from __future__ import annotations

from rest_framework import serializers

from agents.models import AgentStatus
from agents.reports.selectors import STATUSES
from voipbin_admin.api.schema import TimestampField


class ChangedBySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["agent", "access_key", "system"])
    id = serializers.CharField(
        allow_blank=True, help_text="The agent's or access key's id; empty for the system."
    )
    name = serializers.CharField(
        allow_blank=True,
        help_text="The agent's username, the access key's name (or prefix); empty for the system.",
    )


class StatusChangeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The change's id (a decimal number).")
    agent_id = serializers.UUIDField()
    from_status = serializers.ChoiceField(
        choices=AgentStatus.choices,
        allow_blank=True,
        help_text="Empty for the first entry (reason `created`).",
    )
    to_status = serializers.ChoiceField(choices=AgentStatus.choices)
    reason = serializers.CharField(allow_blank=True)
    changed_by = ChangedBySerializer()
    tm_create = TimestampField()


class StatusChangePageSerializer(serializers.Serializer):
    result = StatusChangeSerializer(many=True)
    next_page_token = serializers.CharField(allow_blank=True, help_text="Empty when `result` is empty.")


class StatusSecondsSerializer(serializers.Serializer):
    # Declared one by one so that each status is a required property of the schema.
    available = serializers.FloatField(min_value=0)
    away = serializers.FloatField(min_value=0)
    busy = serializers.FloatField(min_value=0)
    offline = serializers.FloatField(min_value=0)
    ringing = serializers.FloatField(min_value=0)


assert set(StatusSecondsSerializer().fields) == set(STATUSES)


class AwayReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="The exact reason text; `other` for the rest.")
    seconds = serializers.FloatField(min_value=0)


class FiguresSerializer(serializers.Serializer):
    seconds = StatusSecondsSerializer(help_text="Seconds in each status (fractions allowed).")
    signed_in_seconds = serializers.FloatField(min_value=0, help_text="Seconds not `offline`.")
    occupancy = serializers.FloatField(
        min_value=0, max_value=1, help_text="busy / signed in; 0 when not signed in."
    )
    changes = serializers.IntegerField(
        min_value=0, help_text="Status changes inside (the creation entry not counted)."
    )
    away_reasons = AwayReasonSerializer(
        many=True, help_text="`away` seconds per reason, most first: the top 10, then `other` for the rest."
    )


class BucketSerializer(FiguresSerializer):
    start = TimestampField()
    end = TimestampField()

    def get_fields(self):
        fields = super().get_fields()
        return {"start": fields.pop("start"), "end": fields.pop("end"), **fields}


class AgentReportSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField()
    username = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    totals = FiguresSerializer()
    buckets = BucketSerializer(many=True)


class StatusReportSerializer(serializers.Serializer):
    # `from` is a Python keyword: the field is declared under another name and renamed.
    from_ = TimestampField()
    to = TimestampField()
    time_zone = serializers.CharField(
        help_text="The customer's IANA time zone, in which days and hours start."
    )
    interval = serializers.ChoiceField(choices=["day", "hour"])
    result = AgentReportSerializer(many=True, help_text="Ordered by username.")

    def get_fields(self):
        fields = super().get_fields()
        return {"from": fields.pop("from_"), **fields}
