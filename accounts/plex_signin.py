"""Sign in with Plex: the PIN flow of docs/plex-api.md, as steps the views call.

1. `start`: create a strong PIN at plex.tv; remember it and a random `state` in the session.
2. The browser approves the PIN on Plex's page, which forwards back with our `state`.
3. `check`: the PIN's token, once Plex has it (polled no faster than once a second).
4. `finish`: the account, and its access token for *our* server from its resources; no such
   resource means this account has no access to this server. When the resource is `owned`,
   the account is the server's owner and its token is kept as the owner token as well.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from accounts.models import Installation, User
from plex.client import PlexAuthError, PlexError, PlexNotFound, make_session
from plex.client.plextv import PlexAccount, PlexTvClient, auth_url
from plex.connections import current
from plex.models import ServiceConfig
from plex.services import check_connection

SESSION_KEY = "plex_signin"
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
    return PlexTvClient(
        settings.PLEX_TV_URL,
        client_identifier=Installation.plex_client_identifier(),
        product=settings.PLEX_PRODUCT,
        session=make_session(adapter=current().plextv_adapter),
    )


def _server() -> ServiceConfig:
    config = ServiceConfig.objects.active()
    if config is None:
        raise SignInFailed(
            "No Plex server is set up yet. An administrator must add one first.", status=503
        )
    return config


def start(request: HttpRequest, forward_url: str, next_url: str) -> str:
    """Create a PIN and return the URL of Plex's sign-in page for it."""
    _server()
    client = plextv()
    try:
        pin = client.create_pin()
    except PlexError:
        raise SignInFailed(
            "Plex's sign-in service is not answering. Try again in a moment.", status=503
        ) from None
    state = secrets.token_urlsafe(24)
    request.session[SESSION_KEY] = {
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
    flow: dict[str, Any] | None = request.session.get(SESSION_KEY)
    if not flow or not state or not constant_time_compare(state, flow["state"]):
        raise SignInFailed(
            "This sign-in did not start in this browser, or it was already used. Start again."
        )
    now = clock()
    if now > flow["expires"]:
        forget(request)
        raise SignInFailed("The Plex sign-in expired before it was approved. Start again.")
    if now - flow["checked"] < MIN_CHECK_INTERVAL:
        return Waiting()
    flow["checked"] = now
    request.session.modified = True
    client = plextv()
    try:
        pin = client.check_pin(flow["pin"])
    except PlexNotFound:
        forget(request)
        raise SignInFailed(
            "The Plex sign-in expired before it was approved. Start again."
        ) from None
    except PlexError:
        return Waiting("Plex is slow to answer; still trying.")
    if not pin.auth_token:
        return Waiting()
    return finish(client, pin.auth_token)


def finish(client: PlexTvClient, account_token: str) -> User:
    config = _server()
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


def forget(request: HttpRequest) -> dict[str, Any] | None:
    return request.session.pop(SESSION_KEY, None)


def _user_for(account: PlexAccount, server_token: str) -> User:
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
