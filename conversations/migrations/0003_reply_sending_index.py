from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY on PostgreSQL: writes to the messages go on while it is built.
    atomic = False

    dependencies = [
        ("conversations", "0002_reply_sending"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(condition=models.Q(("direction", "OUTBOUND"), ("provider_message_id__isnull", True),
                                                  ("status__in", ["PENDING", "QUEUED"])),
                               fields=["channel", "id"], name="msg_outbound_waiting"),
        ),
    ]
