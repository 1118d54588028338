from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as AuthUserChangeForm
from django.http import HttpRequest

from accounts.models import User


class UserChangeForm(forms.ModelForm):
    # Write-only: the current token is never rendered, not even masked.
    new_plex_token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="Replace Plex token",
        help_text="Leave empty to keep the current token.",
    )

    # Plex avatars are https URLs (and https is what Django 6 assumes for a bare host).
    plex_avatar = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Plex avatar"
    )

    class Meta:
        model = User
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown


class UserAdminChangeForm(UserChangeForm, AuthUserChangeForm):
    """Django's user change form (password link, permissions) with the Plex fields."""


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserAdminChangeForm
    list_display = ("username", "plex_username", "is_staff", "token_status", "last_login")
    readonly_fields = ("token_status", "plex_id")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (
            "Plex",
            {
                "fields": (
                    "plex_username",
                    "plex_id",
                    "plex_avatar",
                    "token_status",
                    "new_plex_token",
                )
            },
        ),
    )

    @admin.display(description="Plex token")
    def token_status(self, user: User) -> str:
        if not user.has_plex_token:
            return "not set"
        return "rejected by Plex" if user.plex_token_invalid else "set"

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool
    ) -> None:
        new_token = form.cleaned_data.get("new_plex_token")
        if new_token:
            obj.set_plex_token(new_token)
        super().save_model(request, obj, form, change)
