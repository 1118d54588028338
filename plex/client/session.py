"""The HTTP session for one Plex server: keep-alive, a bounded pool and GET-only retries."""

from __future__ import annotations

import os

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


def make_session(*, verify_tls: bool = True) -> requests.Session:
    """A session for one Plex server, shared by every client (every user) of that server."""
    session = requests.Session()
    # Environment lookups (proxies, .netrc) run on every request and a proxy meant for the
    # internet would surprise on a LAN; a custom CA bundle is the one setting worth keeping.
    session.trust_env = False
    session.verify = (os.environ.get("REQUESTS_CA_BUNDLE") or True) if verify_tls else False
    adapter = HTTPAdapter(
        pool_connections=1,
        pool_maxsize=POOL_MAXSIZE,
        pool_block=True,
        max_retries=make_retry(),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
