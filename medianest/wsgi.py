"""WSGI entry point (gunicorn medianest.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medianest.settings")
application = get_wsgi_application()

from medianest.startup import check_static_files, warm_up  # noqa: E402 - needs the settings

check_static_files()
warm_up()
