"""Re-encrypt every encrypted field under the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first (`FIELD_ENCRYPTION_KEYS=new,old`), deploy, run this command,
then drop the old key. Rows are read and written as raw ciphertext (the secrets are never
decoded into Python objects), in primary-key batches, each batch in its own transaction with
its rows locked, so a concurrent edit is never overwritten with a stale value.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from config.crypto import EncryptedJSONField, reencrypt_text


@dataclass
class RotationCount:
    reencrypted: int = 0
    current: int = 0
    unreadable: list[Any] = dataclass_field(default_factory=list)


def _encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedJSONField)
    ]


def _rows_manager(model: type[models.Model]) -> models.Manager[Any]:
    # Tenant data: the scoped default manager refuses to run without a current tenant, and
    # rotation must cover every tenant, so use the explicit unscoped manager.
    return getattr(model, "all_objects", model._base_manager)


def field_rotate(*, model: type[models.Model], field: EncryptedJSONField, batch_size: int) -> RotationCount:
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    manager = _rows_manager(model)
    count = RotationCount()
    last_pk: Any = None
    while True:
        with transaction.atomic():
            rows = manager.select_for_update().annotate(_ciphertext=Cast(field.attname, models.TextField()))
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.order_by("pk").values_list("pk", "_ciphertext")[:batch_size])
            for pk, ciphertext in batch:
                if not ciphertext:
                    continue
                try:
                    primary.decrypt(ciphertext.encode())
                    count.current += 1
                    continue
                except InvalidToken:
                    pass
                try:
                    rotated = reencrypt_text(ciphertext)
                except InvalidToken:
                    count.unreadable.append(pk)
                    continue
                manager.filter(pk=pk).update(**{field.attname: models.Value(rotated, output_field=models.TextField())})
                count.reencrypted += 1
        if len(batch) < batch_size:
            return count
        last_pk = batch[-1][0]


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field (channel credentials, ...) under the first FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        total = 0
        unreadable: list[str] = []
        for model, field in _encrypted_fields():
            count = field_rotate(model=model, field=field, batch_size=batch_size)
            label = f"{model._meta.label}.{field.name}"
            self.stdout.write(
                f"{label}: re-encrypted {count.reencrypted}, already under the first key {count.current}"
                + (f", unreadable {len(count.unreadable)}" if count.unreadable else "")
            )
            total += count.reencrypted
            unreadable += [f"{label} pk={pk}" for pk in count.unreadable]
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} value(s) under the first key."))
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} value(s) cannot be decrypted with any configured key "
                f"(was a key removed too early?): {', '.join(unreadable)}"
            )
