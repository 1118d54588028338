from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from plex.client import PlexError
from plex.models import ServiceConfig
from plex.owner import OwnerTokenRefused, check_owner_token
from plex.services import check_connection

STDIN = "-"  # --owner-token - reads the token from stdin


class Command(BaseCommand):
    help = (
        "Create or update the Plex server MediaNest browses, then test the connection and print "
        "the server's name and version. --owner-token keeps the server owner's token, for the "
        "live updates of manage.py plex_events."
    )
    # call_command(..., stdin=...) in tests, as createsuperuser does.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            help="Server URL, e.g. http://10.0.0.5:32400 (optional with --owner-token when a "
            "server is configured already).",
        )
        parser.add_argument(
            "--no-verify-tls",
            dest="verify_tls",
            action="store_false",
            help="Do not verify the server's TLS certificate (https by LAN IP).",
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="Request timeout in seconds (default 3)."
        )
        parser.add_argument(
            "--owner-token",
            metavar="TOKEN",
            help="The server owner's Plex token, checked with the server, then kept encrypted. "
            "'-' reads it from the first line of stdin (it stays out of the shell's history).",
        )

    def handle(
        self,
        *args: Any,
        url: str | None,
        verify_tls: bool,
        timeout: float | None,
        owner_token: str | None = None,
        **options: Any,
    ) -> None:
        if owner_token == STDIN:
            owner_token = (options.get("stdin") or sys.stdin).readline()
        if owner_token is not None:
            owner_token = owner_token.strip()
            if not owner_token:
                raise CommandError("The owner token is empty: nothing saved.")
        if url is None:
            if owner_token is None:
                raise CommandError("Give --url, --owner-token, or both.")
            config = ServiceConfig.objects.active()
            if config is None:
                raise CommandError("No Plex server is configured yet: give --url as well.")
            self._keep_owner_token(config, owner_token)
            return
        config = self._configure(url, verify_tls, timeout)
        if owner_token is not None:
            self._keep_owner_token(config, owner_token)

    def _keep_owner_token(self, config: ServiceConfig, token: str) -> None:
        try:
            info = check_owner_token(config, token)
        except OwnerTokenRefused as exc:
            raise CommandError(f"Owner token not saved. {exc}") from None
        config.owner_token = token
        config.save(update_fields=["owner_token"])
        self.stdout.write(self.style.SUCCESS(f"Saved the owner token of {info.name}"))

    def _configure(self, url: str, verify_tls: bool, timeout: float | None) -> ServiceConfig:
        with transaction.atomic():
            config = ServiceConfig.objects.select_for_update().filter(enabled=True).first()
            config = config or ServiceConfig()
            config.url = url.strip()
            config.verify_tls = verify_tls
            if timeout is not None:
                config.timeout = timeout
            config.enabled = True
            try:
                config.full_clean()
            except ValidationError as exc:
                problems = "; ".join(
                    f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
                )
                raise CommandError(f"Not saved: {problems}") from None
            config.save()
        self.stdout.write(f"Saved Plex server {config.url}")

        # A staff member's token reads the server's name; without one, /identity still answers.
        staff = User.objects.with_plex_token().filter(is_staff=True).order_by("pk").first()
        try:
            info = check_connection(config, staff.plex_token if staff else None)
        except PlexError as exc:
            raise CommandError(f"Saved, but the connection test failed: {exc}") from None
        name = getattr(info, "name", "") or "(name shown once a staff user has a Plex token)"
        self.stdout.write(
            self.style.SUCCESS(f"Connected to {name}, Plex Media Server {info.version}")
        )
        return config
