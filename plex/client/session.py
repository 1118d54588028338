"""HTTP sessions for Plex: keep-alive through a bounded pool, GET-only retries, no cookies.

What is shared between users is the adapter (the connection pool), never a session: a session
also holds a cookie jar, and a cookie Plex set on one user's answer must not ride on another
user's request. MediaNest keeps no cookie from Plex at all.
"""

from __future__ import annotations

import os
from http.cookiejar import CookiePolicy

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# At most this many connections per server. With pool_block, an 11th concurrent caller waits
# for a free connection instead of opening (and later discarding) one more.
POOL_MAXSIZE = 10

# The seed's policy: 3 attempts in all, growing delay with jitter, capped.
RETRY_TOTAL = 2
RETRY_BACKOFF_FACTOR = 0.2  # 0.2 s, 0.4 s ...
RETRY_BACKOFF_MAX = 1.0
RETRY_BACKOFF_JITTER = 0.1
RETRY_STATUSES = frozenset({502, 503, 504})


def make_retry() -> Retry:
    return Retry(
        total=RETRY_TOTAL,
        connect=RETRY_TOTAL,
        read=RETRY_TOTAL,
        status=RETRY_TOTAL,
        other=0,
        # POST/PUT/DELETE could act twice; Plex browsing only reads.
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=RETRY_BACKOFF_FACTOR,
        backoff_max=RETRY_BACKOFF_MAX,
        backoff_jitter=RETRY_BACKOFF_JITTER,
        # A Retry-After of minutes from a struggling server would hold a browser request;
        # the circuit breaker is what waits, not the request.
        respect_retry_after_header=False,
        # Give the last 5xx response back so the client maps it (and its body is not parsed).
        raise_on_status=False,
        raise_on_redirect=False,
    )


class NoCookies(CookiePolicy):
    """A cookie policy that accepts and returns nothing: Plex authenticates by token, and a
    cookie it sets (or a proxy in front of it sets) must never be sent with a request."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: object, request: object) -> bool:
        return False

    def return_ok(self, cookie: object, request: object) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: object) -> bool:
        return False

    def path_return_ok(self, path: str, request: object) -> bool:
        return False


def make_adapter(*, retries: bool = True) -> HTTPAdapter:
    """A connection pool for one Plex server, to share between sessions. Without `retries`,
    each request is one attempt (the circuit breaker's trial call)."""
    return HTTPAdapter(
        pool_connections=1,
        pool_maxsize=POOL_MAXSIZE,
        pool_block=True,
        max_retries=make_retry() if retries else Retry(0, read=False, redirect=False),
    )


def make_session(
    *, verify_tls: bool = True, adapter: HTTPAdapter | None = None
) -> requests.Session:
    """A session of its own (headers, cookie jar) over `adapter`, a pool that may be shared
    with other sessions of the same server; a new pool when none is given."""
    session = requests.Session()
    # Environment lookups (proxies, .netrc) run on every request and a proxy meant for the
    # internet would surprise on a LAN; a custom CA bundle is the one setting worth keeping.
    session.trust_env = False
    session.verify = (os.environ.get("REQUESTS_CA_BUNDLE") or True) if verify_tls else False
    session.cookies.set_policy(NoCookies())
    adapter = adapter or make_adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
