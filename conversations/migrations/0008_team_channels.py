"""The channels a team works: a many-to-many of its own (a new table; no existing row changes)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0004_public_ids'),
        ('conversations', '0007_message_deleted'),
    ]

    operations = [
        migrations.AddField(
            model_name='team',
            name='channels',
            field=models.ManyToManyField(blank=True, related_name='teams', to='channels_app.channel', verbose_name='channels'),
        ),
    ]
