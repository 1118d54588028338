"""Read settings from the environment.

Each helper returns the default when the variable is unset or empty, and stops start-up with
ImproperlyConfigured naming the variable when its value cannot be used.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def envbool(name: str, default: bool) -> bool:
    raw = envstr(name).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = envstr(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


def envfloat(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = envstr(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None
    if not value > minimum:
        raise ImproperlyConfigured(f"{name} must be greater than {minimum:g}; got {raw!r}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = envstr(name)
    if not raw:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def envurl(name: str, schemes: set[str]) -> str:
    """An optional URL whose scheme must be one of `schemes`; "" when unset."""
    raw = envstr(name)
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        allowed = ", ".join(sorted(schemes))
        # The value may hold a password: name the variable, not the value.
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of: {allowed}")
    return raw


def envsiteurls(name: str) -> list[str]:
    """Comma-separated root URLs of a site (`http://nas.local:8000,https://media.example.com`)
    as origins (`scheme://host[:port]`, lower case, no trailing slash); [] when unset.

    The site is served at the root of each: a path, query, fragment or user name is refused,
    since none of them could be honoured."""
    origins: list[str] = []
    for raw in envlist(name, []):
        parts = urlsplit(raw)
        try:
            port = parts.port  # ValueError for a port that is not a number or out of range
        except ValueError:
            port = -1
        if (
            parts.scheme.lower() not in {"http", "https"}
            or not parts.hostname
            or port == -1
            or parts.username is not None
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
        ):
            raise ImproperlyConfigured(
                f"{name} must be the address people open MediaNest at, such as "
                f"http://nas.local:8000 or https://media.example.com (several: separate them "
                f"with commas); got {raw!r}"
            )
        scheme = parts.scheme.lower()
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        # As a browser writes an Origin: no default port.
        default_port = 443 if scheme == "https" else 80
        origins.append(
            f"{scheme}://{host}" + (f":{port}" if port not in {None, default_port} else "")
        )
    return origins


def origin_host(origin: str) -> str:
    """The host name of an origin as ALLOWED_HOSTS spells it: `nas.local`, `[::1]`."""
    hostname = urlsplit(origin).hostname or ""
    return f"[{hostname}]" if ":" in hostname else hostname
