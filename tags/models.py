"""Tags: the skills that decide which queues may route calls to an agent."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class TagQuerySet(models.QuerySet):
    def live(self) -> TagQuerySet:
        return self.filter(tm_delete__isnull=True)

    def for_customer(self, customer_id) -> TagQuerySet:
        return self.filter(customer_id=customer_id)

    def newest_first(self) -> TagQuerySet:
        return self.order_by("-tm_create", "-id")


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey("agents.Customer", on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=255)
    detail = models.TextField(blank=True, default="")
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="AgentTag", related_name="tags", blank=True
    )
    tm_create = models.DateTimeField(default=timezone.now, editable=False)
    tm_update = models.DateTimeField(null=True, blank=True, editable=False)
    tm_delete = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TagQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "customer",
                Lower("name"),
                condition=Q(tm_delete__isnull=True),
                name="tag_name_live_unique_per_customer",
            )
        ]
        indexes = [
            models.Index(
                fields=["customer", "-tm_create", "-id"],
                condition=Q(tm_delete__isnull=True),
                name="tag_live_list_idx",
            )
        ]

    def __str__(self) -> str:
        return self.name


class AgentTag(models.Model):
    """An agent has a tag. Kept in the order the tags were given (the id grows)."""

    id = models.BigAutoField(primary_key=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="agent_links")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "tag"], name="agent_tag_unique"),
        ]
        indexes = [models.Index(fields=["tag", "agent"], name="agent_tag_by_tag_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} has {self.tag_id}"
