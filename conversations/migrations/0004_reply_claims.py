from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


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
        migrations.AlterField(
            model_name="message",
            name="status",
            field=models.CharField(choices=[("PENDING", "Pending"), ("QUEUED", "Sending"), ("SENT", "Sent"),
                                            ("DELIVERED", "Delivered"), ("READ", "Read"), ("FAILED", "Failed")],
                                   default="PENDING", max_length=10),
        ),
        # A claimed reply (QUEUED) no longer waits: the waiting replies are the PENDING ones.
        RemoveIndexConcurrently(model_name="message", name="msg_outbound_waiting"),
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(condition=models.Q(("direction", "OUTBOUND"), ("provider_message_id__isnull", True),
                                                  ("status", "PENDING")),
                               fields=["channel", "id"], name="msg_outbound_waiting"),
        ),
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(condition=models.Q(("status", "QUEUED")), fields=["send_lease_until"],
                               name="msg_sending"),
        ),
    ]
