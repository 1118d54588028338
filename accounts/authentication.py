"""API token authentication without a database query on every request.

DRF's TokenAuthentication reads the token and its user from the database on each request: a
query that was the biggest part of a warm API answer. `CachedTokenAuthentication` keeps each
token's user in the process for API_TOKEN_CACHE_SECONDS (5 by default; 0 asks every time), so
a revoked token, a deactivated user or a new Plex token reaches every process within that
long. In the process that made the change (the admin deleting a token, a sign-in saving the
user) it applies at once: the signals below drop what was kept.

Kept by a hash of the token, never the token itself, in this process's memory only (nothing
in Redis). Only tokens that authenticated are kept: a wrong token costs its query every time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from plex.connections import current

if TYPE_CHECKING:
    from accounts.models import User

MAX_TOKENS = 1000  # a family server has a handful of users, each with one token


class TokenMemo:
    """Users by a hash of their API token, each for `seconds`; thread-safe."""

    clock: Callable[[], float] = time.monotonic  # tests move it instead of sleeping

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._entries: TTLCache[bytes, tuple[User, Token]] = TTLCache(
            MAX_TOKENS, ttl=seconds, timer=lambda: type(self).clock()
        )

    def get(self, key: str) -> tuple[User, Token] | None:
        with self._lock:
            return self._entries.get(_digest(key))

    def put(self, key: str, user: User, token: Token) -> None:
        with self._lock:
            self._entries[_digest(key)] = (user, token)

    def forget_token(self, key: str) -> None:
        with self._lock:
            self._entries.pop(_digest(key), None)

    def forget_user(self, user_id: Any) -> None:
        with self._lock:
            for digest, (user, _) in list(self._entries.items()):
                if user.pk == user_id:
                    del self._entries[digest]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def token_memo() -> TokenMemo | None:
    """This process's memo (made on first use from the settings of that moment, forgotten by
    Connections.reset()), or None when API_TOKEN_CACHE_SECONDS is 0."""
    connections = current()
    if settings.API_TOKEN_CACHE_SECONDS <= 0:
        return None
    memo: TokenMemo | None = connections.token_memo
    if memo is None:
        memo = connections.token_memo = TokenMemo(settings.API_TOKEN_CACHE_SECONDS)
    return memo


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication (`Authorization: Token <key>`, the same errors), with each
    token's user kept for API_TOKEN_CACHE_SECONDS. The user object is shared by the requests
    of those seconds, so a change one of them makes to it (Plex refused its token) is seen by
    the next."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        memo = token_memo()
        found = memo.get(key) if memo is not None else None
        if found is not None:
            return found
        user, token = super().authenticate_credentials(key)
        if memo is not None:
            memo.put(key, user, token)
        return user, token


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="token-memo-user-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="token-memo-user-gone")
def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A saved user (deactivated, a new Plex token) is read again on its next request."""
    memo = current().token_memo
    if memo is not None:
        memo.forget_user(instance.pk)


@receiver(post_delete, sender=Token, dispatch_uid="token-memo-token-gone")
def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    memo = current().token_memo
    if memo is not None:
        memo.forget_token(instance.key)
