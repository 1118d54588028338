"""An encrypted text field for secrets such as Plex tokens."""

from __future__ import annotations

import logging
import weakref
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.signals import setting_changed
from django.dispatch import receiver
from encrypted_fields.fields import EncryptedTextField

logger = logging.getLogger(__name__)

_KEY_SETTINGS = {"SECRET_KEY", "SECRET_KEY_FALLBACKS", "SALT_KEY"}
# Weak: Django renders models afresh for every migration state; those fields go, and a weak
# set forgets them with them.
_instances: weakref.WeakSet[SecretField] = weakref.WeakSet()


class SecretField(EncryptedTextField):
    """Fernet-encrypted text; the column holds only ciphertext.

    Keys derive from SECRET_KEY and SECRET_KEY_FALLBACKS, so rotating SECRET_KEY while keeping
    the old one in the fallbacks keeps every stored value readable.

    Two changes to django-fernet-encrypted-fields: a value that no key decrypts reads as None
    (the library would hand back the ciphertext, which we would then send to Plex as a token),
    and the derived keys are dropped when a key setting changes (the library caches them for
    the life of the process, which would make rotation invisible to tests and shells).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _instances.add(self)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        try:
            return self.f.decrypt(value.encode()).decode()
        except InvalidToken:
            # Never log the value: it is a secret under a key we do not have.
            logger.warning(
                "A stored %s.%s could not be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS",
                self.model.__name__,
                self.name,
            )
            return None

    def forget_keys(self) -> None:
        self.__dict__.pop("keys", None)
        self.__dict__.pop("f", None)


@receiver(setting_changed)
def _forget_keys(setting: str, **kwargs: Any) -> None:
    if setting in _KEY_SETTINGS:
        for field in list(_instances):
            field.forget_keys()
