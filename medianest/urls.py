from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from medianest.health import healthz, healthz_live
from medianest.ratelimit import rate_limited
from plex.api.views import api_root

urlpatterns = [
    # Password guesses at the admin are limited per client address; the rest is Django's.
    path("admin/login/", rate_limited("admin-login")(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz-live"),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/plex/", include("plex.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", include("plex.pages.urls")),
]

# A refused host name gets a page naming the setting to change (medianest/errors.py).
handler400 = "medianest.errors.bad_request"
handler404 = "medianest.errors.not_found"
