"""Public ids (UUIDv7) for teams, labels, canned responses, conversations, messages and
attachments: what leaves the server in place of the integer ids, which stay the primary keys.
Existing rows get ids of the time they were created, so that the ids sort as the rows do."""

from django.db import migrations

from config.migration_operations import public_id_added


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0004_reply_claims"),
    ]

    operations = [
        *public_id_added("team", time_field="created_at"),
        *public_id_added("label", time_field="created_at"),
        *public_id_added("cannedresponse", time_field="created_at"),
        *public_id_added("conversation", time_field="created_at"),
        *public_id_added("message", time_field="created_at"),
        *public_id_added("attachment", time_field="created_at"),
    ]
