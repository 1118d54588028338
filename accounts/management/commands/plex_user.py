from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import User


class Command(BaseCommand):
    help = (
        "Create or update a user with a Plex token (stored encrypted); prints the user's API "
        "token on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--plex-token", required=True, help="The user's token for the server.")
        parser.add_argument(
            "--staff", action="store_true", help="Make the user an administrator (Django admin)."
        )
        parser.add_argument(
            "--password",
            help="Password for the admin's login form (users normally sign in with Plex).",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        plex_token: str,
        staff: bool,
        password: str | None,
        **options: Any,
    ) -> None:
        username = username.strip()
        token = plex_token.strip()
        if not username:
            raise CommandError("USERNAME must not be empty")
        if not token or any(ch.isspace() for ch in token):
            raise CommandError("--plex-token must be a non-empty token without spaces")
        with transaction.atomic():
            user, created = User.objects.select_for_update().get_or_create(username=username)
            user.set_plex_token(token)
            if staff:
                # A self-hosted app has one kind of administrator: all of the admin.
                user.is_staff = user.is_superuser = True
            if password:
                user.set_password(password)
            elif created:
                user.set_unusable_password()
            user.save()
        verb = "Created" if created else "Updated"
        role = " (staff)" if user.is_staff else ""
        self.stdout.write(
            self.style.SUCCESS(f"{verb} user {user.username}{role} with a Plex token")
        )
        # Last line, alone, so scripts can take it: the user's MediaNest API token (not Plex's).
        api_token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"API token: {api_token.key}")
