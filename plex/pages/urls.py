from __future__ import annotations

from django.urls import path

import plex.converters  # noqa: F401 - registers <plexkey:...>
from plex.pages import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("library/<plexkey:key>/", views.library, name="library"),
    path("library/<plexkey:key>/collections/", views.collections, name="collections"),
    path("collection/<plexkey:rating_key>/", views.collection, name="collection"),
    path("item/<plexkey:rating_key>/", views.item, name="item"),
    path("item/<plexkey:rating_key>/watched", views.mark_watched, name="mark-watched"),
    path("search/", views.search, name="search"),
]
