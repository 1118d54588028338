"""`python -m plex_emulator --friends N`: N more shared users, tokens `<friend-token>-1` ...
`-N`, each an account of its own (bench/api_load.py's mixed run has 100 of them)."""

from __future__ import annotations

import os

import requests

from harness.stack import start_emulator, stop

TIMEOUT = 10


def test_friends_option_adds_shared_users_with_derived_tokens() -> None:
    proc, url = start_emulator(
        dict(os.environ), owner_token="cli-owner", friend_token="cli-friend", movies=5, friends=2
    )
    try:

        def sections(token: str) -> requests.Response:
            return requests.get(
                f"{url}/library/sections",
                headers={"X-Plex-Token": token, "Accept": "application/json"},
                timeout=TIMEOUT,
            )

        owner = sections("cli-owner")
        assert owner.status_code == 200
        shared = {d["key"] for d in owner.json()["MediaContainer"]["Directory"]} - {"2"}
        for token in ("cli-friend-1", "cli-friend-2"):
            answer = sections(token)
            assert answer.status_code == 200, token
            # A shared user: the friend's sections, not the owner's unshared one.
            assert {d["key"] for d in answer.json()["MediaContainer"]["Directory"]} == shared
        assert sections("cli-friend-3").status_code == 401

        # Each is an account of its own (the emulator's play control knows it by name).
        movie = _a_movie(url)
        for account, status in (("friend-1", 200), ("friend-2", 200), ("friend-3", 404)):
            played = requests.post(
                f"{url}/__emulator__/play",
                json={"account": account, "ratingKey": movie, "viewOffset": 1000},
                timeout=TIMEOUT,
            )
            assert played.status_code == status, (account, played.text)
    finally:
        stop([proc])


def _a_movie(url: str) -> str:
    answer = requests.get(
        f"{url}/library/sections/1/all",
        headers={"X-Plex-Token": "cli-owner", "Accept": "application/json"},
        timeout=TIMEOUT,
    )
    return str(answer.json()["MediaContainer"]["Metadata"][0]["ratingKey"])
