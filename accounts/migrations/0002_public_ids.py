"""Public ids (UUIDv7) for users: what leaves the server in place of the integer ids, which stay
the primary keys. Existing rows get ids of the time they were created, so that the ids sort as
the rows do."""

from django.db import migrations

from config.migration_operations import public_id_added


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        *public_id_added("user", time_field="date_joined"),
    ]
