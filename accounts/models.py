from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from accounts.fields import SecretField


class PlexUserManager(UserManager["User"]):
    def with_plex_token(self) -> models.QuerySet[User]:
        # Empty tokens are stored as NULL by the field, so NULL is the only "no token".
        return self.exclude(plex_token__isnull=True)


class User(AbstractUser):
    """A MediaNest user: a friend or family member of the Plex server's owner, or staff."""

    # The token this user's requests to the Plex server carry. Encrypted at rest; never shown.
    plex_token: str | None = SecretField(blank=True, null=True, editable=False)
    # Set when Plex answered 401 for plex_token; the user must sign in with Plex again.
    plex_token_invalid = models.BooleanField(default=False)
    plex_id = models.BigIntegerField(null=True, blank=True, unique=True)
    plex_username = models.CharField(max_length=150, blank=True)
    plex_avatar = models.URLField(max_length=500, blank=True)

    objects: ClassVar[PlexUserManager] = PlexUserManager()

    @property
    def has_plex_token(self) -> bool:
        return bool(self.plex_token)

    def set_plex_token(self, token: str) -> None:
        """Store a new token (the caller saves) and clear any earlier rejection."""
        self.plex_token = token
        self.plex_token_invalid = False

    def mark_plex_token_invalid(self) -> None:
        """Plex answered 401 for this user's token: remember it, for this user alone."""
        if not self.plex_token_invalid:
            self.plex_token_invalid = True
            type(self).objects.filter(pk=self.pk).update(plex_token_invalid=True)


class Installation(models.Model):
    """This MediaNest installation as plex.tv knows it: one row, made on first use."""

    # Plex lists every sign-in under the client identifier it came from; a new id per
    # restart would pile up "new device" entries in the users' Plex accounts.
    client_identifier = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_identifier

    @classmethod
    def plex_client_identifier(cls) -> str:
        """PLEX_CLIENT_IDENTIFIER when set; else the one generated once and kept here."""
        from django.conf import settings

        if settings.PLEX_CLIENT_IDENTIFIER:
            return settings.PLEX_CLIENT_IDENTIFIER
        installation = cls.objects.order_by("pk").first()
        if installation is None:
            installation, _ = cls.objects.get_or_create(
                pk=1, defaults={"client_identifier": str(uuid.uuid4())}
            )
        return installation.client_identifier
