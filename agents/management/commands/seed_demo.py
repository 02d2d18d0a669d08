"""Realistic demo data: a few customers, dozens of agents, tags, addresses and history."""

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import Agent, AgentStatus, Permission, RingMethod
from agents.permissions import SYSTEM
from agents.services import (
    access_key_create,
    agent_create,
    agent_set_permission,
    agent_set_status,
    customer_create_with_admin,
)
from tags.models import Tag
from tags.services import tag_create

DEMO_PASSWORD = "demo-password"
CUSTOMERS = [
    ("Acme Support", "acme", "+1415555", "acme.example.com"),
    ("Globex Sales", "globex", "+4420794", "globex.example.co.uk"),
    ("Initech Helpdesk", "initech", "+4930123", "initech.example.de"),
]
TAGS = ["english", "spanish", "german", "billing", "technical", "vip", "sales", "night-shift"]
FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Radia",
    "Tim",
    "Katherine",
    "Edsger",
    "Frances",
    "John",
    "Hedy",
    "Donald",
    "Sophie",
    "Guido",
    "Anita",
    "Vint",
]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie"]
REASONS = ["lunch", "meeting", "shift start", "training", "back from break", ""]


class Command(BaseCommand):
    help = "Load demo customers, agents, tags, addresses and status history. Safe to run twice."

    def handle(self, *args, **options):
        if Agent.objects.filter(username="acme-admin").exists():
            self.stdout.write("Demo data is already loaded.")
        else:
            with transaction.atomic():
                self._load()
        self.stdout.write("")
        self.stdout.write("Sign in at http://127.0.0.1:8000/ with one of:")
        self.stdout.write(
            f"  acme-admin / {DEMO_PASSWORD}     (admin of Acme Support, also project super admin)"
        )
        self.stdout.write(f"  acme-manager / {DEMO_PASSWORD}   (manager of Acme Support)")
        self.stdout.write(f"  acme-agent01 / {DEMO_PASSWORD}   (a plain agent of Acme Support)")
        self.stdout.write(f"  globex-admin / {DEMO_PASSWORD}   (admin of Globex Sales)")
        self.stdout.write("The Django admin site is at http://127.0.0.1:8000/admin/ (acme-admin).")

    def _load(self):
        rng = random.Random(42)
        for index, (customer_name, slug, tel_prefix, sip_domain) in enumerate(CUSTOMERS):
            admin = customer_create_with_admin(
                name=customer_name, username=f"{slug}-admin", password=DEMO_PASSWORD
            )
            if index == 0:
                admin = agent_set_permission(
                    actor=SYSTEM,
                    agent=admin,
                    permission=Permission.CUSTOMER_ADMIN | Permission.PROJECT_SUPER_ADMIN,
                )
            customer_id = admin.customer_id
            tags = [tag_create(actor=admin, customer_id=customer_id, name=name) for name in TAGS]
            agent_create(
                actor=admin,
                customer_id=customer_id,
                username=f"{slug}-manager",
                password=DEMO_PASSWORD,
                name=f"{customer_name} floor manager",
                permission=Permission.CUSTOMER_MANAGER,
                tag_ids=[tags[0].id],
            )
            for number in range(1, 25):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                agent = agent_create(
                    actor=admin,
                    customer_id=customer_id,
                    username=f"{slug}-agent{number:02d}",
                    password=DEMO_PASSWORD,
                    name=f"{first} {last}",
                    detail=rng.choice(["Tier 1", "Tier 2", "Team lead", ""]),
                    ring_method=rng.choice(RingMethod.values),
                    permission=Permission.CUSTOMER_AGENT,
                    tag_ids=[tag.id for tag in rng.sample(tags, rng.randint(1, 3))],
                    addresses=[
                        {"type": "tel", "target": f"{tel_prefix}{number:04d}", "name": "mobile"},
                        {"type": "extension", "target": f"{100 + number}", "name": "desk"},
                        {"type": "sip", "target": f"{slug}-agent{number:02d}@{sip_domain}"},
                    ][: rng.randint(1, 3)],
                )
                for _ in range(rng.randint(0, 4)):
                    agent = agent_set_status(
                        actor=admin,
                        agent=agent,
                        status=rng.choice(AgentStatus.values),
                        reason=rng.choice(REASONS),
                    )
            access_key_create(actor=admin, customer_id=customer_id, name="Demo integration")
        self.stdout.write(
            f"Loaded {len(CUSTOMERS)} customers, {Agent.objects.count()} agents, {Tag.objects.count()} tags."
        )
