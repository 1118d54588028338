from django.apps import AppConfig


class PlexConfig(AppConfig):
    name = "plex"
    verbose_name = "Plex"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from plex.client import redaction
        from plex.connections import Connections

        # Everything this process keeps between requests (pools, breakers, clients, the
        # bulkhead, the cache's guard): one object, reset by tests with one call.
        self.connections = Connections()
        # Redact Plex tokens from every log record from start-up on, not only once the first
        # client registers its token.
        redaction.install()
        # A saved configuration is read again by every process (services.active_config).
        from plex import signals  # noqa: F401
