from django.core.management.base import BaseCommand, CommandError

from agents.services import customer_create_with_admin
from voipbin_admin.errors import DomainError


class Command(BaseCommand):
    help = "Create a customer with its first admin agent (permission 32) and print the ids."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The customer's name.")
        parser.add_argument("--username", required=True, help="The first admin's username.")
        parser.add_argument("--password", required=True, help="The first admin's password.")

    def handle(self, *args, name, username, password, **options):
        try:
            admin = customer_create_with_admin(name=name, username=username, password=password)
        except DomainError as exc:
            raise CommandError(f"{exc.reason}: {exc.message}") from exc
        self.stdout.write(f"customer_id={admin.customer_id}")
        self.stdout.write(f"agent_id={admin.id}")
        self.stdout.write(f"username={admin.username}")
