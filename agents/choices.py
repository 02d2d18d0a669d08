"""The fixed vocabularies of the agent domain: the permission bits, statuses, ring methods,
address types, event types and import states (what the models store and every door shows)."""

from __future__ import annotations

import enum

from django.db import models


class Permission(enum.IntFlag):
    """The agent permission bitmask of the contract: one member per bit.

    Every door that shows or offers bits takes them from here (`label`, `bits_of`,
    `labels_of`, `ranked`, `BITS_TEXT`). The column stays a plain integer: a member is an int.
    """

    PROJECT_SUPER_ADMIN = 1
    CUSTOMER_AGENT = 16
    CUSTOMER_ADMIN = 32
    CUSTOMER_MANAGER = 64
    # Plain ints, not members: `~` of a flag member complements within the known bits only,
    # so `value & ~ALL_BITS` would miss 128.
    ALL_BITS = enum.nonmember(PROJECT_SUPER_ADMIN | CUSTOMER_AGENT | CUSTOMER_ADMIN | CUSTOMER_MANAGER)
    SUPERVISOR_BITS = enum.nonmember(CUSTOMER_ADMIN | CUSTOMER_MANAGER)

    @property
    def label(self) -> str:
        """The bit in words ("project super admin", "agent", "admin", "manager")."""
        return _PERMISSION_LABELS[self]

    @classmethod
    def bits_of(cls, value: int) -> list[Permission]:
        """The known bits set in `value`, lowest first."""
        return [bit for bit in cls if value & bit]

    @classmethod
    def ranked(cls) -> list[Permission]:
        """Every bit, most powerful first."""
        return [cls.PROJECT_SUPER_ADMIN, cls.CUSTOMER_ADMIN, cls.CUSTOMER_MANAGER, cls.CUSTOMER_AGENT]

    @classmethod
    def labels_of(cls, value: int) -> list[str]:
        """The words for the bits set in `value`, most powerful first."""
        # Plain ints: `value & bit` on the flag builds a flag object, 18x slower, and this runs
        # once per row of the agents list (about 0.6 ms of a 50-row page, measured).
        value = int(value)
        return [label for bit, label in _RANKED_LABELS if value & bit]


_PERMISSION_LABELS = {
    Permission.PROJECT_SUPER_ADMIN: "project super admin",
    Permission.CUSTOMER_AGENT: "agent",
    Permission.CUSTOMER_ADMIN: "admin",
    Permission.CUSTOMER_MANAGER: "manager",
}
_BIT_VALUES = [str(bit.value) for bit in Permission]
_RANKED_LABELS = [(int(bit), _PERMISSION_LABELS[bit]) for bit in Permission.ranked()]
#: "the bits 1, 16, 32 and 64", for messages.
PERMISSION_BITS_TEXT = f"the bits {', '.join(_BIT_VALUES[:-1])} and {_BIT_VALUES[-1]}"


class AgentStatus(models.TextChoices):
    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"
    RINGING = "ringing"


class RingMethod(models.TextChoices):
    RINGALL = "ringall"
    LINEAR = "linear"


class AddressType(models.TextChoices):
    TEL = "tel"
    EXTENSION = "extension"
    SIP = "sip"


class AgentEventType(models.TextChoices):
    CREATED = "agent_created"
    UPDATED = "agent_updated"
    STATUS_UPDATED = "agent_status_updated"
    DELETED = "agent_deleted"


class AgentImportState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # every row applied
    FAILED = "failed"  # nothing applied: a row or the file was refused, or the run broke off
