"""The admin's first step: set the Plex server up by signing in with the owner's Plex account.

GET  /admin/plex/serviceconfig/setup/           sign in with Plex, or the owned servers listed
POST .../setup/  action=signin                   a PIN at plex.tv; Plex's page returns here
GET  .../setup/?state=...                        the PIN's return: its token, sealed in the session
POST .../setup/  action=pick machine=ID          set that server up (plex/discovery.adopt)
POST .../setup/  action=forget                   another Plex account

The account's plex.tv token lives in the session only encrypted (as the database keeps
tokens), and only until a server is picked: it is then kept, encrypted, on the server's row.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts import plex_signin
from accounts.models import User
from plex.client import PlexError
from plex.discovery import SetupFailed, adopt, owned_servers

SETUP_FLOW_KEY = "plex_setup_pin"


@never_cache
def setup_view(request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> HttpResponse:
    here = reverse("admin:plex_serviceconfig_setup")
    token = plex_signin.unseal(request.session.get(plex_signin.SETUP_SEALED_KEY))
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "signin":
            try:
                url = plex_signin.start(
                    request, request.build_absolute_uri(here), here, key=SETUP_FLOW_KEY
                )
            except plex_signin.SignInFailed as failure:
                messages.error(request, failure.message)
                return redirect(here)
            return HttpResponseRedirect(url)
        if action == "forget":
            request.session.pop(plex_signin.SETUP_SEALED_KEY, None)
            return redirect(here)
        if action == "pick" and token:
            return _pick(request, token, request.POST.get("machine", ""))
        return redirect(here)

    if "state" in request.GET:
        try:
            found = plex_signin.approved_token(
                request, request.GET.get("state", ""), key=SETUP_FLOW_KEY
            )
        except plex_signin.SignInFailed as failure:
            messages.error(request, failure.message)
            return redirect(here)
        if isinstance(found, plex_signin.Waiting):
            return _render(request, model_admin, waiting=True, reason=found.reason)
        plex_signin.forget(request, SETUP_FLOW_KEY)
        request.session[plex_signin.SETUP_SEALED_KEY] = plex_signin.seal(found)
        return redirect(here)  # the state leaves the address bar

    if not token:
        return _render(request, model_admin)
    try:
        servers = owned_servers(token)
    except SetupFailed as failure:
        request.session.pop(plex_signin.SETUP_SEALED_KEY, None)
        messages.error(request, str(failure))
        return redirect(here)
    return _render(request, model_admin, servers=servers, signed_in=True)


def _pick(request: HttpRequest, token: str, machine: str) -> HttpResponse:
    here = reverse("admin:plex_serviceconfig_setup")
    try:
        config = adopt(token, machine)
    except SetupFailed as failure:
        messages.error(request, str(failure))
        return redirect(here)
    request.session.pop(plex_signin.SETUP_SEALED_KEY, None)
    user = request.user
    if config.owner_token and isinstance(user, User) and user.plex_id is not None:
        # The owner browses too: their token for the server is the owner token, when the
        # signed-in admin is that Plex account (asked of plex.tv, not assumed).
        try:
            account = plex_signin.plextv().account(token)
        except PlexError:
            account = None
        if account is not None and account.id == user.plex_id:
            user.set_plex_token(config.owner_token)
            user.save(update_fields=["plex_token", "plex_token_invalid"])
    messages.success(
        request, f"MediaNest now browses {config.server_name}. {config.connection_note}"
    )
    return redirect(reverse("admin:plex_serviceconfig_change", args=[config.pk]))


def _render(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], **context: Any
) -> TemplateResponse:
    return TemplateResponse(
        request,
        "admin/plex/serviceconfig/setup.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": "Set up Plex from plex.tv",
            **context,
        },
    )
