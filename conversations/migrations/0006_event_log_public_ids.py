"""The tenants' event log (tenants.TenantEvent) as clients get it back on resume: the ids in the
payloads of the events recorded before public ids existed become public ids (a row deleted
since becomes null), and the internal ones (tenant_id, membership_id) leave the payloads.
Backwards, the integer ids come back. In batches of events, through the ORM. It lives here, the
last of the core's apps, because it reads the public ids of all of them."""

import uuid

from django.db import migrations

BATCH = 2000

# Payload key → the model whose id it holds.
_MODELS = {
    "conversation_id": ("conversations", "Conversation"),
    "channel_id": ("channels_app", "Channel"),
    "message_id": ("conversations", "Message"),
    "last_read_message_id": ("conversations", "Message"),
    "contact_id": ("contacts", "Contact"),
    "user_id": ("accounts", "User"),
    "actor_id": ("accounts", "User"),
    "assignee_id": ("accounts", "User"),
    "previous_assignee_id": ("accounts", "User"),
    "team_id": ("conversations", "Team"),
}
_INTERNAL = ("tenant_id", "membership_id")
_MEMBERSHIP_EVENTS = ("membership.created", "membership.role_changed")


def _batches(apps, schema_editor):
    events = apps.get_model("tenants", "TenantEvent")._base_manager.using(schema_editor.connection.alias)
    last = 0
    while True:
        batch = list(events.filter(pk__gt=last).order_by("pk").only("pk", "tenant_id", "name", "payload")[:BATCH])
        if not batch:
            return
        yield events, batch
        last = batch[-1].pk


def _translate(apps, schema_editor, wanted, lookup_field, result_field):
    """For each model, {value of `lookup_field`: value of `result_field`} of the values wanted."""
    found = {}
    for label, values in wanted.items():
        rows = apps.get_model(*label)._base_manager.using(schema_editor.connection.alias)
        values = sorted(values)
        found[label] = {}
        for start in range(0, len(values), 500):  # within any database's limit of parameters
            found[label].update(rows.filter(**{f"{lookup_field}__in": values[start:start + 500]})
                                .values_list(lookup_field, result_field))
    return found


def to_public_ids(apps, schema_editor):
    for events, batch in _batches(apps, schema_editor):
        wanted = {}
        for row in batch:
            for key, label in _MODELS.items():
                value = (row.payload or {}).get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    wanted.setdefault(label, set()).add(value)
        found = _translate(apps, schema_editor, wanted, "pk", "public_id")
        changed = []
        for row in batch:
            payload = dict(row.payload or {})
            before = dict(payload)
            for key in _INTERNAL:
                payload.pop(key, None)
            for key, label in _MODELS.items():
                value = payload.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    public = found.get(label, {}).get(value)
                    payload[key] = str(public) if public is not None else None
            if payload != before:
                row.payload = payload
                changed.append(row)
        events.bulk_update(changed, ["payload"])


def to_integer_ids(apps, schema_editor):
    memberships = apps.get_model("accounts", "Membership")._base_manager.using(schema_editor.connection.alias)
    for events, batch in _batches(apps, schema_editor):
        wanted = {}
        for row in batch:
            for key, label in _MODELS.items():
                value = _uuid((row.payload or {}).get(key))
                if value is not None:
                    wanted.setdefault(label, set()).add(value)
        found = _translate(apps, schema_editor, wanted, "public_id", "pk")
        for row in batch:
            payload = dict(row.payload or {})
            for key, label in _MODELS.items():
                value = _uuid(payload.get(key))
                if value is not None:
                    payload[key] = found.get(label, {}).get(value)
            if row.name in _MEMBERSHIP_EVENTS and payload.get("user_id") is not None:
                payload["membership_id"] = memberships.filter(
                    tenant_id=row.tenant_id, user_id=payload["user_id"]).values_list("pk", flat=True).first()
            row.payload = {"tenant_id": row.tenant_id, **payload}
        events.bulk_update(batch, ["payload"])


def _uuid(value):
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_public_ids"),
        ("accounts", "0002_public_ids"),
        ("channels_app", "0004_public_ids"),
        ("contacts", "0002_public_ids"),
        ("conversations", "0005_public_ids"),
    ]

    operations = [
        migrations.RunPython(to_public_ids, to_integer_ids),
    ]
