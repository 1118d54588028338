"""Checks a serving process makes before it takes a request: settings that would let it start
and then fail on every page are refused at start, with the command that fixes them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.exceptions import ImproperlyConfigured


def check_static_files() -> None:
    """With DEBUG off, pages name their CSS by its hashed name from collectstatic's manifest:
    without the manifest every page is a 500, while /healthz (no static files) says 200."""
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    if not manifest.is_file():
        raise ImproperlyConfigured(
            f"Static files are not collected ({manifest} is missing), so every page would fail "
            "with DEBUG off. Run `python manage.py collectstatic --noinput` first (the Docker "
            "image does it when it is built)."
        )
