"""What happens when a server's configuration changes: every process reads it again."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from plex.models import ServiceConfig
from plex.services import config_changed


@receiver(post_save, sender=ServiceConfig)
@receiver(post_delete, sender=ServiceConfig)
def _config_saved(sender: type[ServiceConfig], **kwargs: Any) -> None:
    config_changed()
