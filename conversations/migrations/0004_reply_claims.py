from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently

# Claiming a reply writes only its send_lease_until; with room left on its page, PostgreSQL makes
# that a HOT update (no entry in any of the table's indexes). Only new pages get the room.
FILLFACTOR = 90


def _fillfactor(value: int):  # noqa: ANN202
    def apply(apps, schema_editor):  # noqa: ANN001, ANN202
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(apps.get_model("conversations", "Message")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})")
    return apply


class Migration(migrations.Migration):
    # Indexes built and dropped CONCURRENTLY on PostgreSQL: writes to the messages go on meanwhile.
    atomic = False

    dependencies = [
        ("conversations", "0003_reply_sending_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="send_lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # A QUEUED reply is not waiting (no version ever queued one): the waiting replies are the PENDING ones.
        RemoveIndexConcurrently(model_name="message", name="msg_outbound_waiting"),
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(condition=models.Q(("direction", "OUTBOUND"), ("provider_message_id__isnull", True),
                                                  ("status", "PENDING")),
                               fields=["channel", "id"], name="msg_outbound_waiting"),
        ),
        migrations.RunPython(_fillfactor(FILLFACTOR), _fillfactor(100)),
    ]
