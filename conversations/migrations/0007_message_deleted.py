"""When a message's sender deleted it for everyone. A nullable column without a default: adding
it rewrites nothing on PostgreSQL, however many messages there are."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0006_event_log_public_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="deleted at"),
        ),
    ]
