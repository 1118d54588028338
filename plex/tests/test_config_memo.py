"""The active server's configuration is read once per process, not once per request, and an
edit reaches every process within about a second."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plex import services
from plex.models import ServiceConfig
from plex.services import active_config, config_changed


@pytest.mark.django_db
def test_the_configuration_costs_no_query_once_read(config: ServiceConfig) -> None:
    assert active_config() == config

    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert active_config() == config

    assert len(queries) == 0


@pytest.mark.django_db
def test_an_edit_elsewhere_is_seen_after_the_recheck(
    config: ServiceConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert active_config().timeout == config.timeout
    # Another process saved a change: the row and the version counter moved, this process's
    # copy did not (update() sends no signal here, as a save in another process would not).
    ServiceConfig.objects.filter(pk=config.pk).update(timeout=7.5)
    config_changed_elsewhere = services.default_cache.incr(services.CONFIG_VERSION_KEY)
    assert config_changed_elsewhere

    monkeypatch.setattr(services, "CONFIG_RECHECK", 0.0)

    assert active_config().timeout == 7.5


@pytest.mark.django_db
def test_a_save_here_is_seen_at_once(config: ServiceConfig) -> None:
    active_config()

    config.enabled = False
    config.save()

    assert active_config() is None
    config_changed()  # harmless twice
    assert active_config() is None
