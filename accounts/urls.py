from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.signin, name="signin"),
    path("signin/plex/", views.start_plex_signin, name="plex-start"),
    path("signin/plex/return/", views.plex_return, name="plex-return"),
    path("signout/", views.signout, name="signout"),
]
