from __future__ import annotations

from django.urls import path

from plex.pages import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("library/<str:key>/", views.library, name="library"),
    path("library/<str:key>/collections/", views.collections, name="collections"),
    path("collection/<str:rating_key>/", views.collection, name="collection"),
    path("item/<str:rating_key>/", views.item, name="item"),
    path("search/", views.search, name="search"),
]
