"""When an alert incident's condition last held (integrations.monitoring.alerts): it is resolved only
once that is ALERT_RECOVERY_MINUTES ago, so a value hovering at its threshold keeps one incident.
Nullable: incidents open before it count from their start."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0005_activity_templates'),
    ]

    operations = [
        migrations.AddField(
            model_name='alertincident',
            name='held_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
