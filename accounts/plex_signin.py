"""Sign in with Plex: the PIN flow of docs/plex-api.md, as steps the views call.

1. `start`: create a strong PIN at plex.tv; remember it and a random `state` in the session.
2. The browser approves the PIN on Plex's page, which forwards back with our `state`.
3. `check`: the PIN's token, once Plex has it (polled no faster than once a second).
4. `finish`: the account, and its access token for *our* server from its resources; no such
   resource means this account has no access to this server. When the resource is `owned`,
   the account is the server's owner and its token is kept as the owner token as well.

Before any server is set up (a fresh install), the one account that may sign in is one that
owns a Plex server: the first such account becomes MediaNest's administrator (later, only a
staff user's own Plex account), and is sent to pick its server (plex/discovery.py, the admin's
setup page), its plex.tv token carried there encrypted in the session. The same PIN steps, under
another session key, serve that setup page when a staff user signed in with a password.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from accounts.models import User
from plex.client import PlexAuthError, PlexError, PlexNotFound
from plex.client.plextv import PlexAccount, PlexTvClient, auth_url
from plex.discovery import plex_tv
from plex.models import ServiceConfig
from plex.services import check_connection

SESSION_KEY = "plex_signin"
SETUP_SEALED_KEY = "plex_setup_account"  # the owner's plex.tv token, sealed, for setup
MIN_CHECK_INTERVAL = 1.0  # plex.tv answers 429 to faster polling

# Wall-clock seconds for the PIN's expiry and the polling pace, read at call time so tests can
# swap it (as PlexCache.clock) and move time by hand instead of sleeping. Wall clock, not
# monotonic: the values are kept in the session, which outlives this process.
clock: Callable[[], float] = time.time


class SignInFailed(Exception):
    """The sign-in cannot go on; `message` is for the person, `status` for the response."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NoAccess(SignInFailed):
    def __init__(self, account: PlexAccount) -> None:
        super().__init__(
            f"The Plex account {account.username} has no access to this server.", status=403
        )
        self.account = account


@dataclass
class Waiting:
    """Plex has not approved the PIN yet: ask again shortly."""

    reason: str = ""


def plextv() -> PlexTvClient:
    # A session of its own (no cookie passes between sign-ins) over the process's one pool to
    # plex.tv: a pool per step would be opened and never closed.
    return plex_tv()


def seal(token: str) -> str:
    """A token encrypted as the database keeps it, to carry in the session."""
    sealed: str = _sealer().get_prep_value(token)
    return sealed


def unseal(sealed: Any) -> str | None:
    if not isinstance(sealed, str) or not sealed:
        return None
    token: str | None = _sealer().from_db_value(sealed, None, None)
    return token


def _sealer() -> Any:
    return ServiceConfig._meta.get_field("plex_tv_token")


def start(request: HttpRequest, forward_url: str, next_url: str, *, key: str = SESSION_KEY) -> str:
    """Create a PIN and return the URL of Plex's sign-in page for it."""
    client = plextv()
    try:
        pin = client.create_pin()
    except PlexError:
        raise SignInFailed(
            "Plex's sign-in service is not answering. Try again in a moment.", status=503
        ) from None
    state = secrets.token_urlsafe(24)
    request.session[key] = {
        "pin": pin.id,
        "code": pin.code,
        "state": state,
        "next": next_url,
        "expires": clock() + max(pin.expires_in, 60),
        "checked": 0.0,
    }
    separator = "&" if "?" in forward_url else "?"
    return auth_url(
        settings.PLEX_AUTH_URL,
        client_identifier=client.client_identifier,
        code=pin.code,
        forward_url=f"{forward_url}{separator}state={state}",
        product=settings.PLEX_PRODUCT,
    )


def check(request: HttpRequest, state: str) -> User | Waiting:
    """The signed-in user once Plex approved the PIN, or Waiting."""
    token = approved_token(request, state)
    if isinstance(token, Waiting):
        return token
    client = plextv()
    if ServiceConfig.objects.active() is None:
        user = _first_run(client, token)
        # On to the setup page, with the token that lists the account's servers.
        request.session[SETUP_SEALED_KEY] = seal(token)
        request.session[SESSION_KEY]["next"] = reverse("admin:plex_serviceconfig_setup")
        request.session.modified = True
        return user
    return finish(client, token)


def approved_token(request: HttpRequest, state: str, *, key: str = SESSION_KEY) -> str | Waiting:
    """The account's plex.tv token once Plex approved the PIN of the flow under `key`."""
    flow: dict[str, Any] | None = request.session.get(key)
    if not flow or not state or not constant_time_compare(state, flow["state"]):
        raise SignInFailed(
            "This sign-in did not start in this browser, or it was already used. Start again."
        )
    now = clock()
    if now > flow["expires"]:
        forget(request, key)
        raise SignInFailed("The Plex sign-in expired before it was approved. Start again.")
    if now - flow["checked"] < MIN_CHECK_INTERVAL:
        return Waiting()
    flow["checked"] = now
    request.session.modified = True
    client = plextv()
    try:
        pin = client.check_pin(flow["pin"])
    except PlexNotFound:
        forget(request, key)
        raise SignInFailed(
            "The Plex sign-in expired before it was approved. Start again."
        ) from None
    except PlexError:
        return Waiting("Plex is slow to answer; still trying.")
    if not pin.auth_token:
        return Waiting()
    return pin.auth_token


def _first_run(client: PlexTvClient, account_token: str) -> User:
    """No server is set up: only a Plex account that owns a server may sign in, to set one
    up, and only the first (it becomes the administrator) or a staff user's own."""
    try:
        account = client.account(account_token)
        owns = any(r.is_server and r.owned for r in client.resources(account_token))
    except PlexAuthError:
        raise SignInFailed("Plex did not accept this sign-in. Start again.") from None
    except PlexError:
        raise SignInFailed("Plex is not answering. Try again shortly.", status=503) from None
    user = User.objects.filter(plex_id=account.id).first()
    first = not User.objects.filter(is_staff=True).exists()
    if not owns or not (first or (user is not None and user.is_staff)):
        raise SignInFailed(
            "MediaNest is not set up yet: the Plex server's owner signs in first to set it up.",
            status=503,
        )
    user = _user_for(account, None)
    if first:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def finish(client: PlexTvClient, account_token: str) -> User:
    config = ServiceConfig.objects.active()
    if config is None:
        raise SignInFailed("No Plex server is set up yet. Try again shortly.", status=503)
    try:
        if not config.machine_identifier:
            check_connection(config)  # /identity tells the machine identifier, no token needed
        account = client.account(account_token)
        resource = client.server_resource(account_token, config.machine_identifier)
    except PlexAuthError:
        # plex.tv refused the token it had just handed out: nothing to wait for.
        raise SignInFailed("Plex did not accept this sign-in. Start again.") from None
    except PlexError:
        raise SignInFailed(
            "Plex is not answering, so MediaNest cannot check your access. Try again shortly.",
            status=503,
        ) from None
    if resource is None:
        raise NoAccess(account)
    if resource.owned:
        _keep_owner_token(config, resource.access_token)
    return _user_for(account, resource.access_token)


def forget(request: HttpRequest, key: str = SESSION_KEY) -> dict[str, Any] | None:
    return request.session.pop(key, None)


def _user_for(account: PlexAccount, server_token: str | None) -> User:
    """The MediaNest user of this Plex account, created on first sign-in, refreshed after."""
    user = User.objects.filter(plex_id=account.id).first()
    if user is None:
        user = User(username=_free_username(account.username or f"plex-{account.id}"))
        user.plex_id = account.id
        user.set_unusable_password()  # Plex is how they sign in
    user.plex_username = account.username
    user.plex_avatar = account.thumb if account.thumb.startswith(("https://", "http://")) else ""
    if account.email and not user.email:
        user.email = account.email
    if server_token is not None:
        user.set_plex_token(server_token)
    user.save()
    return user


def _keep_owner_token(config: ServiceConfig, token: str) -> None:
    """The server's owner signed in: their token for it also reads what Plex tells its owner
    alone (the event stream of manage.py plex_events), so it becomes the owner token. Who may
    sign in is unchanged; this only spares the operator setting it by hand."""
    if config.owner_token != token:
        config.owner_token = token
        config.save(update_fields=["owner_token"])


def _free_username(wanted: str) -> str:
    base = wanted[:140]
    candidate, number = base, 1
    while User.objects.filter(username=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate
