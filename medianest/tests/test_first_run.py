"""A self-hoster's first run: MediaNest opened by a name it was not told about, or over plain
http with Secure cookies, says what to set instead of Django's bare 400 or 403 page."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from medianest.tests.test_settings import setting_values

SIGNIN_START = "/accounts/signin/plex/"


@pytest.mark.django_db
def test_an_unknown_host_gets_a_page_naming_the_setting(client: Client, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.get("/", HTTP_HOST="nas.local:8000")

    assert response.status_code == 400
    text = response.content.decode()
    assert "MediaNest is not set up for this address" in text
    assert "MEDIANEST_URL=http://nas.local:8000" in text
    assert response["Content-Security-Policy"]  # still the site's own page
    # Nothing else of the configuration: not the names it does answer to.
    for allowed in ("localhost", "127.0.0.1", "testserver"):
        assert allowed not in text
    lines = [r.getMessage() for r in caplog.records if r.name == "medianest.errors"]
    assert lines == [
        "Refused a request for host 'nas.local:8000': it is not in MEDIANEST_URL (or "
        "ALLOWED_HOSTS); to serve it, set MEDIANEST_URL=http://nas.local:8000"
    ]


@pytest.mark.django_db
def test_a_hostile_host_header_is_escaped_and_gets_no_advice(client: Client, caplog) -> None:
    hostile = '<script>alert("x")</script>.example'
    with caplog.at_level(logging.WARNING):
        response = client.get("/accounts/signin/", HTTP_HOST=hostile)

    assert response.status_code == 400
    text = response.content.decode()
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert" in text
    assert "MEDIANEST_URL=" not in text  # not a host name: nothing to set
    assert all("\n" not in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_a_huge_host_header_is_shortened(client: Client) -> None:
    response = client.get("/", HTTP_HOST="a" * 5000 + ".example")

    assert response.status_code == 400
    assert "a" * 101 not in response.content.decode()


def _post_without_cookie(origin: str, host: str = "nas.local:8000") -> Client:
    client = Client(enforce_csrf_checks=True)
    return client.post(SIGNIN_START, HTTP_HOST=host, HTTP_ORIGIN=origin)


@pytest.mark.django_db
def test_secure_cookies_over_plain_http_explain_both_ways_out(settings, caplog) -> None:
    settings.ALLOWED_HOSTS = ["nas.local"]
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = True

    with caplog.at_level(logging.WARNING):
        response = _post_without_cookie("http://nas.local:8000")

    assert response.status_code == 403
    text = response.content.decode()
    assert "Signing in needs HTTPS, or one setting for plain http" in text
    assert "SECURE_COOKIES=0" in text
    assert "MEDIANEST_URL=https://" in text  # the recommended way: HTTPS
    assert any("SECURE_COOKIES=0" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("origin", "host", "secure_cookies"),
    [
        ("https://nas.local", "nas.local", True),  # over HTTPS: not the http problem
        ("http://nas.local:8000", "nas.local:8000", False),  # cookies are not Secure
        ("http://localhost:8000", "localhost:8000", True),  # browsers keep Secure on localhost
    ],
)
def test_other_csrf_failures_get_a_plain_page_in_the_sites_look(
    settings, origin: str, host: str, secure_cookies: bool
) -> None:
    settings.ALLOWED_HOSTS = ["nas.local", "localhost"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://nas.local"]
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = secure_cookies

    response = _post_without_cookie(origin, host)

    assert response.status_code == 403
    text = response.content.decode()
    assert "That form has expired" in text
    assert "SECURE_COOKIES" not in text
    assert 'class="site-header"' in text


def test_one_url_sets_hosts_origins_and_cookies() -> None:
    lan = setting_values(MEDIANEST_URL="http://NAS.local:8000/", DEBUG="0", SECRET_KEY="x" * 60)
    assert lan["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]", "nas.local"]
    assert lan["CSRF_TRUSTED_ORIGINS"] == ["http://nas.local:8000"]
    assert lan["SESSION_COOKIE_SECURE"] is lan["CSRF_COOKIE_SECURE"] is False
    assert lan["SECURE_PROXY_SSL_HEADER"] is None

    public = setting_values(
        MEDIANEST_URL="https://media.example.com:443,http://192.168.1.5:8000",
        DEBUG="0",
        SECRET_KEY="x" * 60,
    )
    assert public["ALLOWED_HOSTS"][3:] == ["media.example.com", "192.168.1.5"]
    assert public["CSRF_TRUSTED_ORIGINS"] == [
        "https://media.example.com",
        "http://192.168.1.5:8000",
    ]
    # One plain http address among them: Secure cookies would lock it out.
    assert public["SESSION_COOKIE_SECURE"] is False
    assert public["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]

    behind_proxy = setting_values(
        MEDIANEST_URL="https://media.example.com", DEBUG="0", SECRET_KEY="x" * 60
    )
    assert behind_proxy["SESSION_COOKIE_SECURE"] is behind_proxy["CSRF_COOKIE_SECURE"] is True
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]

    overridden = setting_values(
        MEDIANEST_URL="http://nas.local:8000",
        SECURE_COOKIES="1",
        ALLOWED_HOSTS="media.lan",
        DEBUG="0",
        SECRET_KEY="x" * 60,
    )
    assert overridden["SESSION_COOKIE_SECURE"] is True
    assert overridden["ALLOWED_HOSTS"][3:] == ["nas.local", "media.lan"]
