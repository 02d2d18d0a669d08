from django.apps import AppConfig


class VoipbinAdminConfig(AppConfig):
    name = "voipbin_admin"
    verbose_name = "VoIPbin Agent Admin"

    def ready(self):
        from voipbin_admin import checks  # noqa: F401  (registers the deploy checks)
