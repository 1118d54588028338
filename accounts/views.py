"""Sign in with Plex and sign out: thin views over accounts.plex_signin."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import plex_signin
from medianest.ratelimit import rate_limited
from plex.models import ServiceConfig

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _signin_page(
    request: HttpRequest, error: str = "", status: int = 200, **extra: object
) -> HttpResponse:
    context = {
        "next": request.GET.get("next") or request.POST.get("next", ""),
        "error": error,
        "first_run": ServiceConfig.objects.active() is None,
    }
    return render(request, "accounts/signin.html", {**context, **extra}, status=status)


@never_cache
@require_GET
def signin(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    return _signin_page(request)


@never_cache
@require_POST
@rate_limited("plex-signin")  # each attempt creates a plex.tv PIN and a session
def start_plex_signin(request: HttpRequest) -> HttpResponse:
    forward_url = request.build_absolute_uri(reverse("accounts:plex-return"))
    next_url = _safe_next(request, request.POST.get("next"))
    try:
        plex_url = plex_signin.start(request, forward_url, next_url)
    except plex_signin.SignInFailed as failure:
        return _signin_page(request, failure.message, failure.status)
    # Plex's page lives on another site: a plain redirect, which HttpResponseRedirect allows.
    return HttpResponseRedirect(plex_url)


@never_cache
@require_GET
def plex_return(request: HttpRequest) -> HttpResponse:
    try:
        outcome = plex_signin.check(request, request.GET.get("state", ""))
    except plex_signin.NoAccess as failure:
        plex_signin.forget(request)
        return render(request, "accounts/no_access.html", {"account": failure.account}, status=403)
    except plex_signin.SignInFailed as failure:
        return _signin_page(request, failure.message, failure.status)
    if isinstance(outcome, plex_signin.Waiting):
        return render(request, "accounts/waiting.html", {"reason": outcome.reason})
    flow = plex_signin.forget(request) or {}
    login(request, outcome, backend=BACKEND)  # a new session key: no fixation
    return redirect(_safe_next(request, flow.get("next")))


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:signin")
