from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from plex.client import PlexError
from plex.discovery import PROBE_TIMEOUT_MAX, ServerChoice, SetupFailed, adopt, owned_servers
from plex.models import ServiceConfig
from plex.owner import OwnerTokenRefused, check_owner_token
from plex.services import check_connection

STDIN = "-"  # --owner-token - (or --token -) reads the token from stdin


class Command(BaseCommand):
    help = (
        "Create or update the Plex server MediaNest browses, then test the connection and print "
        "the server's name and version. --from-plex-tv --token TOKEN lists the servers the "
        "owner's Plex account owns, tests their published connections and sets up the one "
        "chosen (--server) at its best connection. --owner-token keeps the server owner's token, "
        "for the live updates of manage.py plex_events."
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
            "--from-plex-tv",
            action="store_true",
            help="Set up a server the account of --token owns, from its list on plex.tv.",
        )
        parser.add_argument(
            "--token",
            metavar="TOKEN",
            help="With --from-plex-tv: the owner's Plex account token ('-' reads it from stdin).",
        )
        parser.add_argument(
            "--server",
            metavar="NAME",
            help="With --from-plex-tv: which owned server (its name or machine identifier), "
            "when the account owns more than one.",
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
        from_plex_tv: bool = False,
        token: str | None = None,
        server: str | None = None,
        **options: Any,
    ) -> None:
        if from_plex_tv or token is not None:
            if not from_plex_tv or url is not None or owner_token is not None:
                raise CommandError("--token goes with --from-plex-tv, and neither with --url.")
            self._from_plex_tv(self._secret(token, options), server, verify_tls, timeout)
            return
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

    def _secret(self, token: str | None, options: dict[str, Any]) -> str:
        if token == STDIN:
            token = (options.get("stdin") or sys.stdin).readline()
        token = (token or "").strip()
        if not token:
            raise CommandError("Give the owner's Plex token: --token TOKEN or --token -.")
        return token

    def _from_plex_tv(
        self, token: str, wanted: str | None, verify_tls: bool, timeout: float | None
    ) -> None:
        try:
            servers = owned_servers(token, timeout=timeout or PROBE_TIMEOUT_MAX)
        except SetupFailed as exc:
            raise CommandError(str(exc)) from None
        if not servers:
            raise CommandError("This Plex account owns no Plex Media Server.")
        for choice in servers:
            self._print_server(choice)
        if wanted is not None:
            servers = [s for s in servers if wanted in (s.name, s.machine_identifier)]
            if not servers:
                raise CommandError(f"The account owns no server called {wanted!r}.")
        if len(servers) > 1:
            raise CommandError("The account owns several servers: choose one with --server NAME.")
        try:
            config = adopt(
                token, servers[0].machine_identifier, verify_tls=verify_tls, timeout=timeout
            )
        except SetupFailed as exc:
            raise CommandError(f"Not saved: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Set up {config.server_name} (Plex Media Server {config.version}) at "
                f"{config.url}, with its owner token for live updates"
            )
        )

    def _print_server(self, choice: ServerChoice) -> None:
        self.stdout.write(f"{choice.name} ({choice.machine_identifier}), {choice.version}")
        for check in choice.checks:
            self.stdout.write(f"  {check.uri} [{check.kind}]: {check.state}, {check.detail}")

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
