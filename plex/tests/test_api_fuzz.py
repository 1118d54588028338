"""Fuzz the API from its own OpenAPI schema: no generated request may make it fail (5xx).

Runs schemathesis' strategies through hypothesis directly: its pytest plugin does not work
with pytest 9 ('Function' object has no attribute '_nodeid')."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from accounts.models import User
from plex.models import ServiceConfig
from plex.services import check_connection

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """The WSGI app is called directly: like Django's test client, keep it from closing the
    test's database connection (and its transaction) at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(db, emulator, keep_test_connection: None) -> str:
    config = ServiceConfig.objects.create(url=emulator.url)
    check_connection(config, emulator.friend_token)
    user = User.objects.create(username="fuzzer", plex_token=emulator.friend_token)
    return Token.objects.create(user=user).key


def test_no_generated_request_makes_the_api_fail(api_token: str) -> None:
    from medianest.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    operations = [
        result.ok() for result in schema.include(path_regex="^/api/v1/").get_all_operations()
    ]
    assert len(operations) >= 10  # every endpoint of the API is in the schema
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Token {api_token}"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query}: "
                    f"{response.status_code} {response.text[:200]}"
                )

        call()

    assert not failures, "\n".join(failures)
