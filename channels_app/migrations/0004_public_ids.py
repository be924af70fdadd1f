"""Public ids (UUIDv7) for channels and their templates: what leaves the server in place of the
integer ids, which stay the primary keys. Existing rows get ids of the time they were created,
so that the ids sort as the rows do."""

from django.db import migrations

from config.migration_operations import public_id_added


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_channel_kinds_from_registry"),
    ]

    operations = [
        *public_id_added("channel", time_field="created_at"),
        # A template has no time of creation (synced_at moves with every sync).
        *public_id_added("messagetemplate", time_field=None),
    ]
