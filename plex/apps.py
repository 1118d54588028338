from django.apps import AppConfig


class PlexConfig(AppConfig):
    name = "plex"
    verbose_name = "Plex"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Redact Plex tokens from every log record from start-up on, not only once the first
        # client registers its token.
        from plex.client import redaction

        redaction.install()
