"""The index of a member's own conversations by status, newest activity first: the inbox's "mine"
tab and the API's `assignee=me` read a page as the first rows of it. Without it PostgreSQL read
every conversation of the member (conv_tenant_assignee, then the channels' index) and sorted them:
2.99 s for an agent's "mine / resolved" at 1 million conversations (docs/benchmarks.md, "Scale").
Made CONCURRENTLY: writes to the conversations go on while it is built."""

from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("conversations", "0011_reports")]

    operations = [
        AddIndexConcurrently(
            model_name="conversation",
            index=models.Index(fields=["tenant", "assignee", "status", "-last_activity_at", "-id"],
                               name="conv_assignee_status_activity"),
        ),
    ]
