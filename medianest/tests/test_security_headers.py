"""Every page says what the browser may load: the site itself only, and Plex's sign-in page as
the one place a form may lead."""

from __future__ import annotations

import pytest


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.django_db
def test_pages_allow_only_the_site_itself(client, settings) -> None:
    settings.PLEX_AUTH_URL = "https://app.plex.tv/auth"

    response = client.get("/accounts/signin/")

    rules = policy(response)
    assert rules["default-src"] == "'self'"
    assert rules["script-src"] == "'self'"
    assert rules["style-src"] == "'self'"
    assert rules["frame-ancestors"] == "'none'"
    # The sign-in form hands the browser to Plex's page, and nowhere else.
    assert rules["form-action"] == "'self' https://app.plex.tv"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_admin_keeps_scripts_strict_while_allowing_its_inline_styles(admin_client) -> None:
    rules = policy(admin_client.get("/admin/"))
    assert rules["script-src"] == "'self'"
    assert "'unsafe-inline'" in rules["style-src"]


@pytest.mark.django_db
def test_the_api_docs_load_under_the_policy(client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "<script>" not in response.text  # the start-up script is a file (split view)
    assert policy(response)["script-src"] == "'self'"
