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


def warm_up() -> None:
    """What every process would otherwise do on its first requests, done once at import: the
    URLconf (which imports every view, DRF and the API schema's modules) and the pages'
    templates, compiled into the cached loader. Under gunicorn's preload_app this runs in the
    master, so each worker forked from it, and each one that replaces a dead or recycled
    worker, answers at once (bench/cold_start.py, "worker replaced"). Opens no connection."""
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view
    templates = Path(settings.BASE_DIR) / "templates"
    for path in sorted(templates.glob("**/*.html")):
        try:
            get_template(str(path.relative_to(templates)))
        except TemplateDoesNotExist:  # an app's template of the same name wins elsewhere
            continue
