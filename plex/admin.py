from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join

from plex.admin_setup import setup_view
from plex.client import PlexError
from plex.connections import breaker_for
from plex.discovery import ConnectionCheck
from plex.models import ServiceConfig
from plex.owner import OwnerTokenRefused, check_owner_token
from plex.services import check_connection, freshness_for


class ServiceConfigForm(forms.ModelForm):
    # Write-only: the current owner token is never rendered, not even masked.
    new_owner_token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="Set owner token",
        help_text=(
            "The server owner's Plex token, for live updates (manage.py plex_events); checked "
            "with the server before it is kept. Leave empty to keep the current one."
        ),
    )
    clear_owner_token = forms.BooleanField(required=False, label="Clear owner token")

    class Meta:
        model = ServiceConfig
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        token = cleaned.get("new_owner_token")
        if token and cleaned.get("clear_owner_token"):
            raise forms.ValidationError("Set a new owner token or clear it, not both.")
        if token and not self.errors:
            # Checked at the address this form saves (self.instance is only updated after
            # clean()); the machine identifier is the one last seen there.
            server = ServiceConfig(
                url=cleaned["url"],
                verify_tls=cleaned["verify_tls"],
                timeout=cleaned["timeout"],
                machine_identifier=self.instance.machine_identifier,
            )
            try:
                check_owner_token(server, token)
            except OwnerTokenRefused as exc:
                self.add_error("new_owner_token", str(exc))
        return cleaned

    def save(self, commit: bool = True) -> ServiceConfig:
        config: ServiceConfig = super().save(commit=False)
        if self.cleaned_data.get("clear_owner_token"):
            config.owner_token = None
        elif token := self.cleaned_data.get("new_owner_token"):
            config.owner_token = token
        if commit:
            config.save()
        return config


@admin.register(ServiceConfig)
class ServiceConfigAdmin(admin.ModelAdmin):
    form = ServiceConfigForm
    # The first step: "Set up from plex.tv" above the list (typing a URL stays possible).
    change_list_template = "admin/plex/serviceconfig/change_list.html"
    list_display = ("__str__", "url", "enabled", "version", "circuit", "checked_at", "last_error")
    readonly_fields = (
        "connection_in_use",
        "published_connections",
        "circuit",
        "server_name",
        "machine_identifier",
        "version",
        "last_error",
        "checked_at",
        "owner_token_status",
        "live_updates",
    )
    fieldsets = (
        (None, {"fields": ("url", "verify_tls", "timeout", "enabled")}),
        ("Connection", {"fields": readonly_fields[:2]}),
        ("Last check", {"fields": readonly_fields[2:8]}),
        (
            "Live updates",
            {
                "fields": (
                    "live_updates",
                    "owner_token_status",
                    "new_owner_token",
                    "clear_owner_token",
                )
            },
        ),
    )
    actions = ["test_connection"]

    def get_urls(self) -> list[URLPattern]:
        def setup(request: HttpRequest) -> HttpResponse:
            if not self.has_change_permission(request):
                raise PermissionDenied
            return setup_view(request, self)

        view = self.admin_site.admin_view(setup)
        return [path("setup/", view, name="plex_serviceconfig_setup"), *super().get_urls()]

    @admin.display(description="in use")
    def connection_in_use(self, config: ServiceConfig) -> str:
        """Which address MediaNest uses now, and why (plex/discovery.py)."""
        if not config.connections:
            return "the URL above (typed in; MediaNest does not move it by itself)"
        return config.connection_note or "the URL above"

    @admin.display(description="published on plex.tv")
    def published_connections(self, config: ServiceConfig) -> str:
        checks = [c for c in map(ConnectionCheck.from_dict, config.connection_checks) if c]
        if not checks:
            return "-"
        rows = format_html_join(
            "",
            "<li><code>{}</code> ({}): {}{}</li>",
            (
                (
                    check.uri,
                    check.kind,
                    check.state,
                    f", {check.detail}" if check.detail else "",
                )
                for check in checks
            ),
        )
        return format_html("<ul>{}</ul>", rows)

    @admin.display(description="owner token")
    def owner_token_status(self, config: ServiceConfig) -> str:
        return "set" if config.has_owner_token else "not set"

    @admin.display(description="live updates")
    def live_updates(self, config: ServiceConfig) -> str:
        """What the event listener last said, through the cache every process shares."""
        if not config.pk:
            return "-"
        status = freshness_for(config).status()
        if status.state == "live":
            if status.last_event_age is None:
                return "live, no event yet"
            return f"live, last event {status.last_event_age:.0f} s ago"
        if status.state == "reconnecting":
            return "reconnecting"
        if not config.has_owner_token:
            return "off: set the owner token, then run manage.py plex_events"
        return "off: run manage.py plex_events"

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
