from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.models import Agent, Permission
from agents.permissions import SYSTEM
from agents.services import agent_set_permission


class Command(BaseCommand):
    help = "Give a live agent the project super admin bit (1), which opens the Django admin site."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        with transaction.atomic():
            try:
                agent = Agent.objects.get_by_natural_key(username)
            except Agent.DoesNotExist:
                raise CommandError(f"No live agent with username {username!r}.") from None
            agent = agent_set_permission(
                actor=SYSTEM, agent=agent, permission=agent.permission | Permission.PROJECT_SUPER_ADMIN
            )
        self.stdout.write(f"{agent.username} is now a project super admin (permission {agent.permission}).")
