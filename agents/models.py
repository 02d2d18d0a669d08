"""The agent domain: customers (tenants), agents, their addresses, credentials and history
(their vocabularies are `agents/choices.py`).

Every row keeps its creation time; rows that can be deleted are soft deleted by setting
`tm_delete`, and the uniqueness rules of the contract hold among *live* rows only, enforced
by partial unique constraints in the database so that concurrent writers cannot break them.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone

from agents.choices import (  # the vocabularies stay importable from agents.models
    AddressType,
    AgentEventType,
    AgentImportState,
    AgentStatus,
    Permission,
    RingMethod,
)
from agents.usernames import USERNAME_MAX_LENGTH, fold_username


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    detail = models.TextField(blank=True, default="")
    # IANA name (zoneinfo); reports and history count days and hours in it.
    time_zone = models.CharField(max_length=64, default="UTC", db_default="UTC")
    tm_create = models.DateTimeField(default=timezone.now, editable=False)
    tm_update = models.DateTimeField(null=True, blank=True, editable=False)
    tm_delete = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentQuerySet(models.QuerySet):
    def live(self) -> AgentQuerySet:
        return self.filter(tm_delete__isnull=True)

    def for_customer(self, customer_id) -> AgentQuerySet:
        return self.filter(customer_id=customer_id)

    def with_representation(self) -> AgentQuerySet:
        """Annotate `tag_ids_json` and `addresses_json`: the representation in one query."""
        from agents.query_expressions import AgentAddressesJSON, AgentTagIdsJSON

        return self.annotate(tag_ids_json=AgentTagIdsJSON(), addresses_json=AgentAddressesJSON())

    def with_related(self) -> AgentQuerySet:
        """Prefetch addresses and tag links, for pages that show them (two more queries)."""
        from tags.models import AgentTag

        return self.prefetch_related(
            Prefetch("addresses", queryset=Address.objects.order_by("position")),
            Prefetch("tag_links", queryset=AgentTag.objects.order_by("id").only("agent_id", "tag_id")),
        )

    def newest_first(self) -> AgentQuerySet:
        return self.order_by("-tm_create", "-id")


_AgentManagerBase = BaseUserManager.from_queryset(AgentQuerySet)


class AgentManager(_AgentManagerBase):  # type: ignore[valid-type,misc]
    def get_by_natural_key(self, username):
        # Sign-in takes no customer, so a username names one live agent across all customers.
        if isinstance(username, str) and "\x00" in username:
            # No username holds NUL, and PostgreSQL would refuse the query.
            raise self.model.DoesNotExist
        return self.live().get(username_key=fold_username(username))


class Agent(AbstractBaseUser):
    """A call-center agent; also the user that signs in to the console and the admin site."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="agents")
    username = models.CharField(max_length=USERNAME_MAX_LENGTH)
    # The username as compared everywhere (agents/usernames.py); kept in step by save().
    username_key = models.CharField(max_length=USERNAME_MAX_LENGTH, editable=False)
    name = models.CharField(max_length=255, blank=True, default="")
    detail = models.TextField(blank=True, default="")
    ring_method = models.CharField(max_length=16, choices=RingMethod.choices, default=RingMethod.RINGALL)
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default=AgentStatus.OFFLINE)
    # When the agent entered its current status (for "time in status" on the board).
    tm_status = models.DateTimeField(default=timezone.now, editable=False)
    permission = models.PositiveIntegerField(default=0)
    # NULL (not "") when unset: deleted agents free their hash and the unique index skips NULLs.
    direct_hash = models.CharField(max_length=12, null=True, blank=True, editable=False)  # noqa: DJ001
    tm_create = models.DateTimeField(default=timezone.now, editable=False)
    tm_update = models.DateTimeField(null=True, blank=True, editable=False)
    tm_delete = models.DateTimeField(null=True, blank=True, editable=False)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[AgentManager] = AgentManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["username_key"],
                condition=Q(tm_delete__isnull=True),
                name="agent_username_live_unique",
            ),
            models.UniqueConstraint(
                fields=["direct_hash"],
                condition=Q(direct_hash__isnull=False),
                name="agent_direct_hash_unique",
            ),
            models.CheckConstraint(
                condition=Q(permission__lte=Permission.ALL_BITS),
                name="agent_permission_known_bits",
            ),
        ]
        indexes = [
            # The list endpoint and its cursor: newest first with the id as tie-breaker.
            models.Index(
                fields=["customer", "-tm_create", "-id"],
                condition=Q(tm_delete__isnull=True),
                name="agent_live_list_idx",
            ),
            models.Index(
                fields=["customer", "status", "-tm_create", "-id"],
                condition=Q(tm_delete__isnull=True),
                name="agent_live_status_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def save(self, *args, **kwargs):
        self.username_key = fold_username(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)

    # --- what Django's auth and admin ask of a user model -------------------------------------

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """A deleted agent can no longer sign in anywhere."""
        return self.tm_delete is None

    @property
    def is_staff(self) -> bool:
        """Only project super admins may use the Django admin site."""
        return self.is_active and self.is_project_super_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list, obj=None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label) -> bool:
        return self.is_staff

    # --- permission bits ------------------------------------------------------------------------

    @property
    def is_project_super_admin(self) -> bool:
        return bool(self.permission & Permission.PROJECT_SUPER_ADMIN)

    @property
    def is_customer_admin(self) -> bool:
        return bool(self.permission & Permission.CUSTOMER_ADMIN)

    @property
    def is_supervisor(self) -> bool:
        return bool(self.permission & (Permission.SUPERVISOR_BITS | Permission.PROJECT_SUPER_ADMIN))

    @property
    def direct_sip_uri(self) -> str:
        from django.conf import settings

        if not self.direct_hash:
            return ""
        return f"sip:direct.{self.direct_hash}@{settings.SIP_DOMAIN}"


class Address(models.Model):
    """A contact address where the agent's calls ring, in ring order (`position`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Denormalised from the agent so the database can enforce per-customer uniqueness.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="addresses")
    position = models.PositiveSmallIntegerField()
    type = models.CharField(max_length=16, choices=AddressType.choices)
    target = models.CharField(max_length=255)
    target_name = models.CharField(max_length=255, blank=True, default="")
    name = models.CharField(max_length=255, blank=True, default="")
    detail = models.CharField(max_length=255, blank=True, default="")
    tm_create = models.DateTimeField(default=timezone.now, editable=False)
    # Set when the agent is deleted: the address is freed but kept with the agent's record.
    tm_delete = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["agent", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "type", "target"],
                condition=Q(tm_delete__isnull=True),
                name="address_live_unique_per_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "position"], name="address_agent_position_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.target}"


class AgentStatusChange(models.Model):
    """One change of an agent's status: who made it, when, from what, to what and why."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by status_change_agent_time_idx (agent first), which serves the history too.
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="status_changes", db_index=False)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, choices=AgentStatus.choices)
    reason = models.CharField(max_length=255, blank=True, default="")
    changed_by_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_access_key = models.ForeignKey(
        "AccessKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tm_create = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-tm_create", "-id"]
        indexes = [
            # One index for both reads: an agent's history newest first (scanned backwards, with
            # the id as tie-breaker) and the reports' intervals, which read each agent's changes
            # oldest first (window functions; on PostgreSQL from the index alone).
            models.Index(
                # The status columns are key columns (SQLite has no INCLUDE), so that PostgreSQL
                # can answer the reports with index-only scans.
                fields=["agent", "tm_create", "id", "to_status", "from_status", "reason"],
                name="status_change_agent_time_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.from_status or '-'} -> {self.to_status}"

    @property
    def changed_by_label(self) -> str:
        agent, access_key = self.changed_by_agent, self.changed_by_access_key
        if agent is not None:
            return agent.username
        if access_key is not None:
            return f"access key {access_key.name or access_key.token_prefix}"
        return "system"


class AgentEvent(models.Model):
    """An event about an agent, written in the same transaction as the change it describes."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by agent_event_customer_idx (customer first).
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=AgentEventType.choices)
    data = models.JSONField()
    tm_create = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "id"], name="agent_event_customer_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.agent_id}"


class LoginToken(models.Model):
    """A login token; only its SHA-256 is stored, so a database leak yields no usable token."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="login_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    tm_create = models.DateTimeField(default=timezone.now)
    tm_expire = models.DateTimeField()
    tm_revoke = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["agent"], condition=Q(tm_revoke__isnull=True), name="login_token_live_idx")
        ]

    def __str__(self) -> str:
        return f"token of {self.agent_id}"


class AccessKeyQuerySet(models.QuerySet):
    def live(self) -> AccessKeyQuerySet:
        return self.filter(tm_delete__isnull=True)

    def for_customer(self, customer_id) -> AccessKeyQuerySet:
        return self.filter(customer_id=customer_id)

    def newest_first(self) -> AccessKeyQuerySet:
        return self.order_by("-tm_create", "-id")


class AccessKey(models.Model):
    """A customer's API key: acts with the customer's admin rights until it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="access_keys")
    name = models.CharField(max_length=255, blank=True, default="")
    detail = models.TextField(blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=11, editable=False)
    tm_expire = models.DateTimeField()
    tm_create = models.DateTimeField(default=timezone.now, editable=False)
    tm_update = models.DateTimeField(null=True, blank=True, editable=False)
    tm_delete = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AccessKeyQuerySet.as_manager()

    # An access key acts as an admin of its customer.
    permission = Permission.CUSTOMER_ADMIN
    is_project_super_admin = False
    is_customer_admin = True
    is_supervisor = True

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "-tm_create", "-id"],
                condition=Q(tm_delete__isnull=True),
                name="access_key_live_list_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or 'access key'} ({self.token_prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.tm_expire <= timezone.now()


class AgentImport(models.Model):
    """A CSV import of a customer's agents, applied by the background worker, and its outcome.

    `content` is the uploaded file; it holds passwords, so the worker empties it as soon as the
    import is applied or refused. `rows_done` of `total_rows` is the progress
    (agents/services/csv_import.py says what it counts); `rows` is each row's outcome and
    `errors` what was wrong with the file or the run as a whole.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False)
    started_by_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_access_key = models.ForeignKey(
        AccessKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=AgentImportState.choices, default=AgentImportState.QUEUED)
    content = models.TextField(blank=True, default="")
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    tm_create = models.DateTimeField(default=timezone.now)
    tm_start = models.DateTimeField(null=True, blank=True)
    tm_finish = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "-tm_create"], name="agent_import_customer_idx")]

    def __str__(self) -> str:
        return f"import {self.id} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (AgentImportState.DONE, AgentImportState.FAILED)
