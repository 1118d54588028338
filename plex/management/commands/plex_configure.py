from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from plex.client import PlexError
from plex.models import ServiceConfig
from plex.services import check_connection


class Command(BaseCommand):
    help = (
        "Create or update the Plex server MediaNest browses, then test the connection and print "
        "the server's name and version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="Server URL, e.g. http://10.0.0.5:32400")
        parser.add_argument(
            "--no-verify-tls",
            dest="verify_tls",
            action="store_false",
            help="Do not verify the server's TLS certificate (https by LAN IP).",
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="Request timeout in seconds (default 3)."
        )

    def handle(
        self, *args: Any, url: str, verify_tls: bool, timeout: float | None, **options: Any
    ) -> None:
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
