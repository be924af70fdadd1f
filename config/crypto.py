"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with the keys of
FIELD_ENCRYPTION_KEYS. The first key encrypts; every key decrypts, so a key is rotated by
putting the new one first and running `manage.py rotate_encryption_keys`."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.db.models.expressions import Combinable


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in settings.FIELD_ENCRYPTION_KEYS])


def _reset_keys(*, setting: str, **kwargs: Any) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_reset_keys)


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def reencrypt_text(token: str) -> str:
    return _fernet().rotate(token.encode()).decode()


def mask(value: Any) -> str:
    text = str(value)
    return "••••" + text[-4:] if len(text) > 8 else "••••"


class Secrets(dict[str, Any]):
    """A dict of secrets whose repr never shows them (logs, tracebacks, debug pages)."""

    def __repr__(self) -> str:
        return "Secrets(" + ", ".join(f"{key}={mask(value)}" for key, value in self.items()) + ")"

    __str__ = __repr__

    def masked(self) -> dict[str, str]:
        return {key: mask(value) for key, value in self.items()}


class SecretUnreadable(Exception):
    """Stored ciphertext that no configured key opens (a key was removed too early)."""


class EncryptedJSONField(models.TextField):
    """A JSON object stored encrypted; reads back as `Secrets`."""

    # For django-stubs' plugin (annotations only): a model's attribute takes a dict and reads back
    # as Secrets, not TextField's str.
    _pyi_private_set_type: dict[str, Any] | Combinable
    _pyi_private_get_type: Secrets

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secrets | None:
        if value is None:
            return None
        try:
            return Secrets(json.loads(decrypt_text(value)))
        except InvalidToken as exc:
            raise SecretUnreadable(f"{self.model.__name__}.{self.name} cannot be decrypted with the configured keys") from exc

    def to_python(self, value: Any) -> Secrets | None:
        if value is None or isinstance(value, Secrets):
            return value
        if isinstance(value, dict):
            return Secrets(value)
        return Secrets(json.loads(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_text(json.dumps(dict(value), sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) keeps the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj)) or ""
