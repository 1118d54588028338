"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medianest.settings")
application = get_asgi_application()

from medianest.startup import check_static_files  # noqa: E402 - needs the settings above

check_static_files()
