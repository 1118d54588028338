"""Odd input never makes a 500: digits that are not ASCII ("²", "①", "٣", a fullwidth 1), in query
parameters and path segments of the pages and the API, get a 400 that says what is wrong or
a 404, never an answer for another spelling of a number."""

from __future__ import annotations

import pytest
from django.test import Client

from plex_emulator import Emulator

NOT_ASCII_DIGITS = ["²", "①", "٣", "\uff11", "1²", "٣٠"]  # \uff11: a fullwidth 1
API = "/api/v1/plex/"


@pytest.fixture
def thumb(emulator: Emulator) -> str:
    return emulator.library.sections["1"].items[0]["thumb"]


@pytest.fixture
def collection(emulator: Emulator) -> str:
    return emulator.library.sections["1"].collections[0]["ratingKey"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_page_numbers_in_other_digits_are_a_400_naming_the_page(
    owner_client: Client, collection: str, value: str
) -> None:
    for url in (f"/library/1/?page={value}", f"/collection/{collection}/?page={value}"):
        response = owner_client.get(url)
        assert response.status_code == 400, (url, response.status_code)
        assert "is not a page number" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("parameter", ["offset", "limit"])
def test_api_numbers_in_other_digits_are_a_400_naming_the_parameter(
    owner_client: Client, value: str, parameter: str
) -> None:
    response = owner_client.get(f"{API}libraries/1/items", {parameter: value})

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{parameter}: ")


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_image_sizes_and_paths_in_other_digits_are_a_400(
    owner_client: Client, thumb: str, value: str
) -> None:
    bad_width = owner_client.get(f"{API}image", {"path": thumb, "width": value})
    bad_path = owner_client.get(f"{API}image", {"path": thumb.replace("1", value, 1)})

    assert (bad_width.status_code, bad_width.json()["detail"][:6]) == (400, "width:")
    assert (bad_path.status_code, bad_path.json()["detail"][:5]) == (400, "path:")


@pytest.mark.django_db
@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_keys_in_other_digits_are_not_found(owner_client: Client, value: str) -> None:
    for url in (
        f"{API}items/{value}",
        f"{API}items/{value}/children",
        f"{API}libraries/{value}/items",
        f"{API}collections/{value}/items",
        f"/item/{value}/",
        f"/library/{value}/",
        f"/collection/{value}/",
    ):
        response = owner_client.get(url)
        assert response.status_code == 404, (url, response.status_code)


@pytest.mark.django_db
def test_a_number_spelled_in_other_digits_is_not_that_number(owner_client: Client) -> None:
    # int("٣") is 3: accepted, "?limit=٣" would be a second spelling of "?limit=3".
    response = owner_client.get(f"{API}libraries/1/items", {"limit": "٣"})

    assert response.status_code == 400
