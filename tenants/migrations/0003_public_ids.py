"""Public ids (UUIDv7) for tenants and their event log: what leaves the server in place of the
integer ids, which stay the primary keys. Existing rows get ids of the time they were created,
so that the ids sort as the rows do."""

from django.db import migrations

from config.migration_operations import public_id_added


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_tenant_event"),
    ]

    operations = [
        *public_id_added("tenant", time_field="created_at"),
        *public_id_added("tenantevent", time_field="created_at"),
    ]
