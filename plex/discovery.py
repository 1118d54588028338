"""Which address of the Plex server MediaNest uses: the connections the server publishes on
plex.tv, tested, ranked, and changed without a restart when the one in use stops answering
(docs/plex-api.md, "Published connections").

- `owned_servers(account_token)`: the servers a Plex account owns, each connection tested (the
  setup page and `plex_configure --from-plex-tv`).
- `adopt(account_token, machine_identifier)`: configure that server at its best connection,
  keeping its connections and the owner's tokens (encrypted) for later.
- `heal(config)`: the connection in use failed; test the published ones again (re-read from
  plex.tv first, when the owner's plex.tv token is kept) and move to the best that answers *as
  this server*. One process at a time, at most once per PLEX_HEAL_INTERVAL.

A connection is tested with `GET /identity`, which Plex answers without a token: no token is
sent to an address before it has answered as the server that token is for (an address can be
taken by another server, or by anything else). It passes when it answers with the server's
machine identifier. Ranking among those that pass (`rank`): local addresses, then remote ones,
a plain address before a plex.direct HTTPS name (whose certificate is always checked), and
the relay last (slow and capped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache as default_cache
from django.db import transaction

from plex.client import PlexAuthError, PlexClient, PlexError, make_session
from plex.client.plextv import Connection, PlexTvClient, Resource
from plex.client.session import make_adapter
from plex.connections import current, server_name
from plex.models import ServiceConfig

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_MAX = 3.0  # seconds a connection has to answer /identity when tested
# Healing, once one connection answered: how long a better ranked one may still answer. The
# server is unreachable meanwhile; a better address can be taken at the next heal.
HEAL_SETTLE = 0.5
HEAL_KEY = "plex:v1:heal:{server}"
IDENTITY_KEY = "plex:v1:identity-checked:{server}"


class SetupFailed(Exception):
    """The server cannot be set up from plex.tv; the message is for the person doing it."""


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """A published connection and what testing it found."""

    uri: str
    local: bool
    relay: bool
    state: str  # "ok", "no answer", "another server"
    detail: str = ""  # for the admin: why not, or how fast
    version: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def connection(self) -> Connection:
        return Connection(uri=self.uri, local=self.local, relay=self.relay)

    @property
    def kind(self) -> str:
        return describe(self.connection)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ConnectionCheck | None:
        connection = Connection.from_dict(data)
        if connection is None:
            return None
        return cls(
            uri=connection.uri,
            local=connection.local,
            relay=connection.relay,
            state=str(data.get("state") or "no answer"),
            detail=str(data.get("detail") or ""),
            version=str(data.get("version") or ""),
        )


@dataclass(frozen=True, slots=True)
class ServerChoice:
    """A server the account owns, as the setup page lists it."""

    name: str
    machine_identifier: str
    version: str
    checks: list[ConnectionCheck] = field(default_factory=list)
    online: bool = True  # plex.tv heard from it lately (`presence`)

    @property
    def best(self) -> ConnectionCheck | None:
        return next((check for check in self.checks if check.ok), None)


def rank(connection: Connection) -> tuple[bool, bool, bool]:
    """Sort key, best first: the relay last (slow and capped); before it local addresses, then
    remote ones; among those a plain address before a plex.direct HTTPS name. Real servers
    publish their LAN address mostly as plex.direct: it still goes before any remote one."""
    return (connection.relay, not connection.local, connection.plex_direct)


def describe(connection: Connection) -> str:
    if connection.relay:
        return "relay"
    kind = "local" if connection.local else "remote"
    return f"{kind}, plex.direct HTTPS" if connection.plex_direct else kind


def plex_tv() -> PlexTvClient:
    """A plex.tv client of its own (no cookie passes between uses) over the process's pool."""
    from accounts.models import Installation

    return PlexTvClient(
        settings.PLEX_TV_URL,
        client_identifier=Installation.plex_client_identifier(),
        product=settings.PLEX_PRODUCT,
        session=make_session(adapter=current().plextv_adapter),
    )


# -- testing connections --------------------------------------------------------------------


def probe(
    connection: Connection, machine_identifier: str, *, verify_tls: bool, timeout: float
) -> ConnectionCheck:
    """GET /identity at one connection, once, without a token."""
    # A client of its own, no retries and no breaker of the server's: a test must neither wait
    # on retries nor count against the connection in use.
    adapter = make_adapter(retries=False)
    client = PlexClient(
        connection.uri,
        "",
        timeout=timeout,
        verify_tls=verify_tls or connection.plex_direct,
        adapter=adapter,
        trial_adapter=adapter,
        deadline=timeout,
    )
    started = time.monotonic()
    try:
        identity = client.identity()
    except PlexError as exc:
        return _check(connection, "no answer", str(exc))
    finally:
        adapter.close()
    took = time.monotonic() - started
    if machine_identifier and identity.machine_identifier != machine_identifier:
        return _check(connection, "another server", "another machine identifier")
    return _check(connection, "ok", f"answered in {took * 1000:.0f} ms", identity.version)


def _check(connection: Connection, state: str, detail: str, version: str = "") -> ConnectionCheck:
    return ConnectionCheck(
        uri=connection.uri,
        local=connection.local,
        relay=connection.relay,
        state=state,
        detail=detail,
        version=version,
    )


def probe_all(
    connections: Iterable[Connection],
    machine_identifier: str,
    *,
    verify_tls: bool = True,
    timeout: float = PROBE_TIMEOUT_MAX,
    settle: float | None = None,
) -> list[ConnectionCheck]:
    """Every connection tested at once (a dead one costs one timeout, not one each), best
    ranked first. With `settle`, stop waiting that many seconds after the first connection
    passes: the better ranked ones still silent then count as "no answer" (healing wants an
    address now; setup, which shows every answer, waits for all)."""
    ordered = sorted(dict.fromkeys(connections), key=rank)
    if not ordered:
        return []
    timeout = min(timeout, PROBE_TIMEOUT_MAX)
    # One thread each (at most MAX_CONNECTIONS): every test costs one timeout at most, together.
    pool = ThreadPoolExecutor(max_workers=len(ordered), thread_name_prefix="plex-probe")
    futures = [
        pool.submit(probe, c, machine_identifier, verify_tls=verify_tls, timeout=timeout)
        for c in ordered
    ]
    try:
        if settle is None:
            wait(futures)
        elif any(done.result().ok for done in as_completed(futures)):  # stops at the first
            wait(futures, timeout=settle)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a silent one ends at its own timeout
    return [
        future.result()
        if future.done()
        else _check(connection, "no answer", f"no answer within {settle} s of another")
        for connection, future in zip(ordered, futures, strict=True)
    ]


# -- setting up from plex.tv -----------------------------------------------------------------


def owned_servers(account_token: str, *, timeout: float = PROBE_TIMEOUT_MAX) -> list[ServerChoice]:
    """The servers this Plex account owns, each connection tested."""
    servers = [resource for resource in _resources(account_token) if _owned_server(resource)]
    with ThreadPoolExecutor(max_workers=max(1, min(len(servers), 4))) as pool:
        checks = list(
            pool.map(
                lambda r: probe_all(r.connections, r.client_identifier, timeout=timeout), servers
            )
        )
    return [
        ServerChoice(
            name=resource.name,
            machine_identifier=resource.client_identifier,
            version=resource.product_version,
            checks=found,
            online=resource.presence,
        )
        for resource, found in zip(servers, checks, strict=True)
    ]


def adopt(
    account_token: str,
    machine_identifier: str,
    *,
    verify_tls: bool = True,
    timeout: float | None = None,
) -> ServiceConfig:
    """Configure the server with this machine identifier, which the account must own, at its
    best connection; keep its connections, the owner's token for it and the account's plex.tv
    token (both encrypted). SetupFailed says why not."""
    resource = next(
        (
            r
            for r in _resources(account_token)
            if _owned_server(r) and r.client_identifier == machine_identifier
        ),
        None,
    )
    if resource is None:
        raise SetupFailed("This Plex account does not own that server (any more).")
    checks = probe_all(
        resource.connections,
        machine_identifier,
        verify_tls=verify_tls,
        timeout=timeout or PROBE_TIMEOUT_MAX,
    )
    best = next((check for check in checks if check.ok), None)
    if best is None:
        raise SetupFailed(
            f"None of {resource.name}'s {len(checks)} published connections answers as it. "
            "Is the server running? You can still type its address."
        )
    with transaction.atomic():
        config = ServiceConfig.objects.select_for_update().filter(enabled=True).first()
        if config is None or config.machine_identifier not in ("", machine_identifier):
            if config is not None:  # another server was browsed: keep it as a spare
                config.enabled = False
                config.save(update_fields=["enabled"])
            config = ServiceConfig()
        config.url = best.uri
        config.verify_tls = verify_tls
        if timeout is not None:
            config.timeout = timeout
        config.enabled = True
        config.server_name = resource.name
        config.machine_identifier = machine_identifier
        config.version = best.version or resource.product_version
        config.owner_token = resource.access_token
        config.plex_tv_token = account_token
        config.connections = [c.as_dict() for c in resource.connections]
        config.connection_checks = [check.as_dict() for check in checks]
        config.connection_note = f"Chosen at setup: {_why(best, checks)}"
        config.full_clean()
        config.save()
    return config


def _resources(account_token: str) -> list[Resource]:
    try:
        return plex_tv().resources(account_token)
    except PlexAuthError:
        raise SetupFailed("plex.tv did not accept this Plex sign-in. Sign in again.") from None
    except PlexError:
        raise SetupFailed("plex.tv is not answering. Try again in a moment.") from None


def _owned_server(resource: Resource) -> bool:
    return resource.is_server and resource.owned and bool(resource.client_identifier)


def _why(best: ConnectionCheck, checks: Sequence[ConnectionCheck]) -> str:
    """Why `best` is the one in use, in words for the admin."""
    skipped = [
        f"{server_name(check.uri)} ({check.kind}): {check.state}"
        for check in checks[: checks.index(best)]
    ]
    because = f" Better ranked ones failed: {'; '.join(skipped)}." if skipped else ""
    return f"{server_name(best.uri)} ({best.kind}) {best.detail}.{because}"


# -- healing ---------------------------------------------------------------------------------


def _claim(key: str, seconds: float) -> bool:
    """True for one caller in the deployment per `seconds` (per process without the cache)."""
    claimed, ok = current().guard.call(lambda: default_cache.add(key, 1, timeout=seconds))
    if ok:
        return bool(claimed)
    memo = current().heal_memo
    now = time.monotonic()
    if memo.get(key, 0.0) > now:
        return False
    memo[key] = now + seconds
    return True


def heal(config: ServiceConfig) -> ServiceConfig | None:
    """The connection in use failed: test the server's published connections again and move to
    the best that answers as this server. Returns the saved configuration when `url` changed;
    None when it did not, or when another process (or a recent attempt) is on it."""
    if not config.heals:
        return None
    if not _claim(HEAL_KEY.format(server=config.machine_identifier), settings.PLEX_HEAL_INTERVAL):
        return None
    connections = [c for c in map(Connection.from_dict, config.connections) if c is not None]
    if config.plex_tv_token:
        # The server may have moved (a new address, a new port): plex.tv knows where.
        try:
            resource = plex_tv().server_resource(config.plex_tv_token, config.machine_identifier)
        except PlexError as exc:
            logger.warning("plex.tv did not list the server's connections: %s", exc)
        else:
            if resource is not None and resource.connections:
                connections = list(resource.connections)
    checks = probe_all(
        connections,
        config.machine_identifier,
        verify_tls=config.verify_tls,
        timeout=config.timeout,
        settle=HEAL_SETTLE,
    )
    best = next((check for check in checks if check.ok), None)
    previous = config.base_url
    config.connections = [c.as_dict() for c in connections]
    config.connection_checks = [check.as_dict() for check in checks]
    fields = ["connections", "connection_checks", "connection_note"]
    if best is None:
        config.connection_note = (
            f"{server_name(previous)} stopped answering and no other published connection "
            "answers as this server; MediaNest keeps trying."
        )
    elif best.uri != previous:
        config.url = best.uri
        config.connection_note = f"Moved from {server_name(previous)}: {_why(best, checks)}"
        fields.append("url")
        logger.warning("Plex server moved to another connection: %s", config.connection_note)
    config.save(update_fields=fields)
    return config if "url" in fields else None


def identity_holds(config: ServiceConfig) -> bool:
    """Whether the connection in use still answers as the configured server; asked at most
    once a minute for the deployment (True the rest of the time)."""
    if not config.heals or not _claim(IDENTITY_KEY.format(server=config.machine_identifier), 60):
        return True
    check = probe(
        Connection(uri=config.base_url, local=False, relay=False),
        config.machine_identifier,
        verify_tls=config.verify_tls,
        timeout=min(config.timeout, PROBE_TIMEOUT_MAX),
    )
    return check.state != "another server"
