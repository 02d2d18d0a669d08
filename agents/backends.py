"""Sign-in with an agent's username (any case) and password; deleted agents cannot sign in."""

from django.contrib.auth.backends import BaseBackend

from agents.models import Agent


class AgentBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        try:
            agent = Agent.objects.get_by_natural_key(username)
        except Agent.DoesNotExist:
            # Hash anyway so an unknown username takes as long as a wrong password.
            Agent().set_password(password)
            return None
        if agent.check_password(password) and agent.is_active:
            return agent
        return None

    def get_user(self, user_id):
        return Agent.objects.live().filter(pk=user_id).first()
