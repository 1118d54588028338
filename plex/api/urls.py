from django.urls import path

import plex.converters  # noqa: F401 - registers <plexkey:...>
from plex.api import views

app_name = "plex-api"

urlpatterns = [
    path("server", views.server, name="server"),
    path("libraries", views.libraries, name="libraries"),
    path("libraries/<plexkey:key>/items", views.library_items, name="library-items"),
    path("libraries/<plexkey:key>/filters", views.library_filters, name="library-filters"),
    path("libraries/<plexkey:key>/collections", views.library_collections, name="collections"),
    path("collections/<plexkey:rating_key>/items", views.collection_items, name="collection-items"),
    path("items/<plexkey:rating_key>", views.item, name="item"),
    path("items/<plexkey:rating_key>/children", views.item_children, name="item-children"),
    path("items/<plexkey:rating_key>/watched", views.item_watched, name="item-watched"),
    path("continue-watching", views.continue_watching, name="continue-watching"),
    path("search", views.search, name="search"),
    path("recently-added", views.recently_added, name="recently-added"),
    path("image", views.image, name="image"),
]
