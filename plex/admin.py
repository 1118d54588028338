from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from plex.client import PlexError
from plex.connections import breaker_for
from plex.models import ServiceConfig
from plex.services import check_connection


@admin.register(ServiceConfig)
class ServiceConfigAdmin(admin.ModelAdmin):
    list_display = ("__str__", "url", "enabled", "version", "circuit", "checked_at", "last_error")
    readonly_fields = (
        "circuit",
        "server_name",
        "machine_identifier",
        "version",
        "last_error",
        "checked_at",
    )
    fieldsets = (
        (None, {"fields": ("url", "verify_tls", "timeout", "enabled")}),
        ("Last check", {"fields": readonly_fields}),
    )
    actions = ["test_connection"]

    @admin.display(description="circuit")
    def circuit(self, config: ServiceConfig) -> str:
        """The breaker's state for this server, shared by every app process through Redis."""
        if not config.url:
            return "-"
        breaker = breaker_for(config.address)
        state = breaker.current_state
        if state == "open":
            return f"open: Plex calls paused for {breaker.remaining_open_seconds():.0f} s"
        if state == "half-open":
            return "half-open: trying Plex again"
        return "closed: Plex calls go through"

    @admin.action(description="Test connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[ServiceConfig]) -> None:
        # The acting admin's own Plex token reads the server's name; without one, /identity
        # still proves the server answers and tells its version.
        token = getattr(request.user, "plex_token", None)
        for config in queryset:
            try:
                info = check_connection(config, token)
            except PlexError as exc:
                self.message_user(request, f"Plex server {config.url}: {exc}", messages.ERROR)
                continue
            name = getattr(info, "name", "") or "Plex Media Server"
            self.message_user(
                request,
                f"Plex server {config.url}: connected to {name}, version {info.version}",
                messages.SUCCESS,
            )
