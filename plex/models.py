from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models

from accounts.fields import SecretField
from plex.client.plextv import is_plex_direct
from plex.connections import ServerAddress


class ServiceConfigQuerySet(models.QuerySet["ServiceConfig"]):
    def active(self) -> ServiceConfig | None:
        """The Plex server MediaNest browses, or None when none is configured and enabled."""
        return self.filter(enabled=True).order_by("pk").first()


class ServiceConfig(models.Model):
    """The Plex Media Server MediaNest talks to, and what was learned when it was last checked."""

    url = models.CharField(
        "server URL",
        max_length=300,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="For example http://192.168.1.10:32400 or https://plex.example.com",
    )
    verify_tls = models.BooleanField(
        "verify TLS certificate",
        default=True,
        help_text=(
            "Turn off only for a server reached by LAN IP over https: its certificate names "
            "*.plex.direct, not the IP."
        ),
    )
    timeout = models.FloatField(
        "request timeout (seconds)",
        default=3.0,
        validators=[MinValueValidator(0.5), MaxValueValidator(60)],
    )
    enabled = models.BooleanField(default=True)
    # The server owner's token, for what Plex tells its owner alone: the notification stream
    # the event listener (manage.py plex_events) reads. Encrypted at rest; never shown, and
    # set only through plex_configure, the admin's write-only field or the owner's sign-in.
    owner_token: str | None = SecretField(blank=True, null=True, editable=False)
    # The owner's plex.tv account token, kept when the server was set up from plex.tv: it
    # reads the server's published connections again when the one in use stops answering
    # (plex/discovery.py). Encrypted at rest; never shown.
    plex_tv_token: str | None = SecretField(blank=True, null=True, editable=False)
    # What plex.tv published for this server ([{uri, local, relay, protocol}]), and what the
    # last test of each found: MediaNest moves `url` among these by itself. Empty for a
    # server whose URL was typed: there is nowhere else to go.
    connections = models.JSONField(default=list, blank=True, editable=False)
    connection_checks = models.JSONField(default=list, blank=True, editable=False)
    connection_note = models.CharField(max_length=500, blank=True, editable=False)

    # Learned on the last check.
    server_name = models.CharField(max_length=200, blank=True, editable=False)
    machine_identifier = models.CharField(max_length=100, blank=True, editable=False)
    version = models.CharField(max_length=100, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ServiceConfigQuerySet.as_manager()

    class Meta:
        verbose_name = "Plex server"
        constraints = [
            # Exactly one server is browsed; keep others disabled as spares.
            models.UniqueConstraint(
                fields=["enabled"],
                condition=models.Q(enabled=True),
                name="one_enabled_plex_server",
                violation_error_message="Another Plex server is already enabled; disable it first.",
            )
        ]

    def __str__(self) -> str:
        return self.server_name or self.url

    @property
    def has_owner_token(self) -> bool:
        return bool(self.owner_token)

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def address(self) -> ServerAddress:
        """How a client reaches this server. A plex.direct name always has its certificate
        checked: the name exists so that the check passes (docs/plex-api.md)."""
        verify = self.verify_tls or is_plex_direct(self.base_url)
        return ServerAddress(self.base_url, verify, self.timeout)

    @property
    def heals(self) -> bool:
        """Whether MediaNest may move this server to another published connection."""
        return bool(self.machine_identifier and (self.connections or self.plex_tv_token))

    @property
    def public_name(self) -> str:
        """How users see this server named: "Plex (Olive's server)", never its address."""
        return f"Plex ({self.server_name})" if self.server_name else "Plex"
