"""Security headers Django 5.2 does not set itself: a Content Security Policy and a
Permissions Policy.

The site's own pages allow only the site itself: no inline script or style, no CDN. The
sign-in form may hand the browser over to Plex's sign-in page (form-action). The Django admin
and the API docs (Swagger UI) set inline styles, so there styles are relaxed, not scripts.
(X-Content-Type-Options, Referrer-Policy and cookie flags come from SecurityMiddleware and
settings; this drops its Cross-Origin-Opener-Policy where browsers ignore it.)
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port

RELAXED_STYLE_PREFIXES = ("/admin/", "/api/docs/")
# Powerful browser features MediaNest never uses, refused to its pages and anything they embed.
# Only names Chromium knows: an unknown one is a console error on every page.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(path: str) -> str:
    style = "'self' 'unsafe-inline'" if path.startswith(RELAXED_STYLE_PREFIXES) else "'self'"
    form_action = " ".join(filter(None, ["'self'", _origin(settings.PLEX_AUTH_URL)]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style}",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            f"form-action {form_action}",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy(request.path))
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if not request.is_secure() and not is_loopback(request.META.get("HTTP_HOST", "")):
            # Plain http on a LAN name is not a trustworthy origin: browsers ignore
            # Cross-Origin-Opener-Policy there and log an error on every page saying so.
            response.headers.pop("Cross-Origin-Opener-Policy", None)
        return response


def is_loopback(host: str) -> bool:
    """Whether a Host header (or an origin's host[:port]) names this machine, which browsers
    trust over plain http. Takes the raw header: get_host() raises for a host that is not
    allowed, and this also runs for the page that says so."""
    domain = split_domain_port(host)[0]
    return domain in settings.LOOPBACK_HOSTS or domain.endswith(".localhost")
