"""The index of a channel's conversations by status, newest activity first: the lists and capped
counts of an agent (who sees the channels they work) and the channel filter of the inbox and the
API. Without it PostgreSQL read the channel's every conversation through its foreign-key index to
keep those of one status (docs/benchmarks.md, "Scale"). Made CONCURRENTLY: writes to the
conversations go on while it is built."""

from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("conversations", "0012_conversation_assignee_status_activity_index")]

    operations = [
        AddIndexConcurrently(
            model_name="conversation",
            index=models.Index(fields=["channel", "status", "-last_activity_at", "-id"],
                               name="conv_channel_status_activity"),
        ),
    ]
