"""Public ids (UUIDv7) for contacts: what leaves the server in place of the integer ids, which stay
the primary keys. Existing rows get ids of the time they were created, so that the ids sort as
the rows do."""

from django.db import migrations

from config.migration_operations import public_id_added


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
    ]

    operations = [
        *public_id_added("contact", time_field="created_at"),
    ]
