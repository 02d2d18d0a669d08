"""Realistic demo data: a few customers, dozens of agents, tags, addresses and history.

Each agent gets a past week of work (`agent_record_past_statuses`): shifts in its customer's
time zone, calls as ringing/busy bursts, breaks, lunch and meetings with reasons, up to now, so
that the reports are full on the first start and the agent's status is where its day is.
"""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from agents.models import Agent, Permission, RingMethod
from agents.permissions import SYSTEM
from agents.services import (
    access_key_create,
    agent_create,
    agent_set_permission,
    customer_create_with_admin,
    customer_update,
)
from agents.services.history import agent_record_past_statuses
from tags.models import Tag
from tags.services import tag_create

DEMO_PASSWORD = "demo-password"
CUSTOMERS = [
    ("Acme Support", "acme", "+1415555", "acme.example.com", "America/New_York"),
    ("Globex Sales", "globex", "+4420794", "globex.example.co.uk", "Europe/London"),
    ("Initech Helpdesk", "initech", "+4930123", "initech.example.de", "Europe/Berlin"),
]
PAST_DAYS = 7
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
SHORT_BREAKS = ["coffee break", "coffee break", "restroom", "after-call work"]
LONG_AWAY = ["team meeting", "training", "coaching", "IT problem"]


def working_week(rng: random.Random, zone: ZoneInfo, now: datetime) -> tuple[datetime, list]:
    """An agent's past `PAST_DAYS` days and today up to now: (created at, changes)."""
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=PAST_DAYS)
    created = datetime.combine(first_day - timedelta(days=1), time(12), tzinfo=zone)
    early = rng.random() < 0.5
    changes: list[tuple[datetime, str, str]] = []
    for offset in range(PAST_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5 and rng.random() < 0.8:  # most agents are off at the weekend
            continue
        start = datetime.combine(day, time(7 if early else 9), tzinfo=zone)
        moment = start + timedelta(minutes=rng.randint(0, 45))
        end = moment + timedelta(hours=8, minutes=rng.randint(-30, 30))
        lunch = moment + timedelta(hours=4, minutes=rng.randint(-30, 30))
        changes.append((moment, "available", "shift start"))
        had_lunch = False
        while moment < end:
            moment += timedelta(seconds=rng.randint(60, 900))
            if not had_lunch and moment >= lunch:
                changes.append((moment, "away", "lunch"))
                moment += timedelta(minutes=rng.randint(30, 50))
                changes.append((moment, "available", "back from lunch"))
                had_lunch = True
                continue
            roll = rng.random()
            if roll < 0.8:  # a call: it rings, then is answered (or missed)
                changes.append((moment, "ringing", ""))
                moment += timedelta(seconds=rng.randint(4, 25))
                if rng.random() < 0.9:
                    changes.append((moment, "busy", "inbound call"))
                    moment += timedelta(seconds=rng.randint(90, 900))
                changes.append((moment, "available", ""))
            elif roll < 0.88:
                changes.append((moment, "away", rng.choice(SHORT_BREAKS)))
                moment += timedelta(minutes=rng.randint(3, 10))
                changes.append((moment, "available", ""))
            elif roll < 0.91:
                changes.append((moment, "away", rng.choice(LONG_AWAY)))
                moment += timedelta(minutes=rng.randint(20, 60))
                changes.append((moment, "available", ""))
        changes.append((moment, "offline", "end of shift"))
    return created, [change for change in changes if change[0] <= now]


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
        now = timezone.now()
        for index, (customer_name, slug, tel_prefix, sip_domain, zone) in enumerate(CUSTOMERS):
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
            customer_update(actor=SYSTEM, customer=admin.customer, time_zone=zone)
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
                created, changes = working_week(rng, ZoneInfo(zone), now)
                agent_record_past_statuses(actor=SYSTEM, agent=agent, created_at=created, changes=changes)
            access_key_create(actor=admin, customer_id=customer_id, name="Demo integration")
        self.stdout.write(
            f"Loaded {len(CUSTOMERS)} customers, {Agent.objects.count()} agents, {Tag.objects.count()} tags."
        )
