from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

TOKEN = "tok-ABC-123"


def run(*args: str, **kwargs: object) -> str:
    out = StringIO()
    call_command("plex_user", *args, stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_a_user_who_signs_in_with_plex_only() -> None:
    output = run("ann", plex_token=TOKEN)

    user = User.objects.get(username="ann")
    assert user.plex_token == TOKEN
    assert not user.is_staff
    assert not user.has_usable_password()
    assert "Created user ann" in output
    assert TOKEN not in output


@pytest.mark.django_db
def test_it_updates_the_token_and_keeps_the_password() -> None:
    run("ann", plex_token=TOKEN, password="s3cret-pass")
    output = run("ann", plex_token="tok-NEW")

    user = User.objects.get(username="ann")
    assert user.plex_token == "tok-NEW"
    assert user.check_password("s3cret-pass")
    assert "Updated user ann" in output
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_staff_can_log_in_to_the_admin(client) -> None:
    run("boss", plex_token=TOKEN, staff=True, password="s3cret-pass")

    assert client.login(username="boss", password="s3cret-pass")
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "   ", "two words"])
def test_it_refuses_a_malformed_token(token: str) -> None:
    with pytest.raises(CommandError, match="--plex-token"):
        run("ann", plex_token=token)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_its_last_line_is_an_api_token_that_opens_the_api(client) -> None:
    output = run("ann", plex_token=TOKEN)

    last_line = output.strip().splitlines()[-1]
    assert last_line.startswith("API token: ")
    key = last_line.removeprefix("API token: ")
    assert client.get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert client.get("/api/v1/", HTTP_AUTHORIZATION="Token wrong").status_code in {401, 403}
    # Running it again keeps the same API token: scripts keep working.
    assert run("ann", plex_token="tok-NEW").strip().splitlines()[-1] == last_line
